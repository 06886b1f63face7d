"""Rendered manifests as check-manifests.py reads them: a field by its dotted path,
an object by kind and name; and the breaks its --self-test makes in them (each
one must be found, or the checker has stopped checking what it claims to)."""


def get(obj, path):
    """The field at `path` ("spec.template.spec"), or None where any part is missing."""
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def find(docs, kind, name=None):
    return next((d for d in docs if d["kind"] == kind and (name is None or get(d, "metadata.name") == name)), None)


def container_of(docs, deployment):
    d = find(docs, "Deployment", deployment)
    return d and get(d, "spec.template.spec.containers")[0]


def env_var(docs, deployment, name):
    c = container_of(docs, deployment)
    return c and next((v for v in c.get("env", []) if v["name"] == name), None)


def breaking(target, change):
    """A break: `target` finds the object in a file's documents, `change` breaks it; false when it is absent."""
    def apply(docs):
        obj = target(docs)
        if obj is None:
            return False
        change(obj)
        return True
    return apply


def rename_field(spec, old, new):
    spec[new] = spec.pop(old)


# What each break does, and the break.
BREAKS = [
    ("a ServiceMonitor scrapes a port no Service has",
     breaking(lambda ds: find(ds, "ServiceMonitor", "ingest"), lambda o: o["spec"]["endpoints"][0].update(port="bogus"))),
    ("a secretKeyRef names a key the Secret lacks",
     breaking(lambda ds: env_var(ds, "ingest", "DATABASE_URL"), lambda o: o["valueFrom"]["secretKeyRef"].update(key="bogus"))),
    ("a Secret no one creates",
     breaking(lambda ds: env_var(ds, "alerts", "DATABASE_URL"),
              lambda o: o["valueFrom"]["secretKeyRef"].update(name="pipeline-databse"))),
    ("a variable used before it is defined",
     breaking(lambda ds: container_of(ds, "ingest"),
              lambda o: o["env"].insert(0, {"name": "EARLY", "value": "$(AMQP_USER)"}))),
    ("ingest connects to the broker as the administrator",
     breaking(lambda ds: env_var(ds, "ingest", "AMQP_PASSWORD"),
              lambda o: o["valueFrom"]["secretKeyRef"].update(name="rabbitmq-default-user"))),
    ("alerts connects to the database as the owner",
     breaking(lambda ds: env_var(ds, "alerts", "DATABASE_URL"),
              lambda o: o["valueFrom"]["secretKeyRef"].update(name="pipeline-database"))),
    ("the analyzer gets the device token secret",
     breaking(lambda ds: container_of(ds, "analyzer"),
              lambda o: o.setdefault("env", []).append(
                  {"name": "DEVICE_TOKEN_SECRET", "valueFrom": {"secretKeyRef": {"name": "pipeline-device-token", "key": "secret"}}}))),
    ("a service's broker user may configure (and so delete) queues",
     breaking(lambda ds: find(ds, "Permission", "pipeline-ingest"),
              lambda o: o["spec"]["permissions"].update(configure=".*"))),
    ("a probe on a port the container does not have",
     breaking(lambda ds: container_of(ds, "analyzer"), lambda o: o["readinessProbe"]["httpGet"].update(port="bogus"))),
    ("a Service targetPort no pod has",
     breaking(lambda ds: find(ds, "Service", "alerts"), lambda o: o["spec"]["ports"][0].update(targetPort="bogus"))),
    ("a volumeMount of no volume",
     breaking(lambda ds: container_of(ds, "ingest"), lambda o: o["volumeMounts"][0].update(name="bogus"))),
    ("a PodDisruptionBudget whose matchExpressions match nothing",
     breaking(lambda ds: find(ds, "PodDisruptionBudget", "ingest"),
              lambda o: o["spec"].update(selector={"matchExpressions": [
                  {"key": "app.kubernetes.io/name", "operator": "In", "values": ["nothing"]}]}))),
    ("a Service selecting no pod",
     breaking(lambda ds: find(ds, "Service", "analyzer"),
              lambda o: o["spec"].update(selector={"app.kubernetes.io/name": "analyser"}))),
    ("a NetworkPolicy letting in pods that do not exist",
     breaking(lambda ds: find(ds, "NetworkPolicy", "rabbitmq"),
              lambda o: o["spec"]["ingress"][0]["from"][0].update(
                  podSelector={"matchLabels": {"iot-pipeline/broker-clinet": "true"}}))),
    ("a misspelt CrdbCluster field",
     breaking(lambda ds: find(ds, "CrdbCluster"), lambda o: rename_field(o["spec"], "dataStore", "dataStor"))),
    ("an even number of RabbitMQ nodes",
     breaking(lambda ds: find(ds, "RabbitmqCluster"), lambda o: o["spec"].update(replicas=2))),
    ("a KEDA trigger value that is not a string",
     breaking(lambda ds: find(ds, "ScaledObject"), lambda o: o["spec"]["triggers"][0]["metadata"].update(value=2000))),
    ("a LoadBalancer Service exposes the admin port",
     breaking(lambda ds: next((d for d in ds if d["kind"] == "Service" and get(d, "spec.type") == "LoadBalancer"), None),
              lambda o: o["spec"]["ports"].append({"name": "admin", "port": 9101, "targetPort": "admin"}))),
    ("the Ingress routes to an admin listener",
     breaking(lambda ds: find(ds, "Ingress", "alerts"),
              lambda o: o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].update(
                  name="alerts-admin", port={"name": "admin"}))),
    ("/kill enabled in the shared ConfigMap",
     breaking(lambda ds: next((d for d in ds if d["kind"] == "ConfigMap"
                               and get(d, "metadata.name").startswith("pipeline-config")), None),
              lambda o: o.setdefault("data", {}).update(KILL_ENABLED="on"))),
    ("a custom resource without a check",
     breaking(lambda ds: ds, lambda o: o.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}))),
]

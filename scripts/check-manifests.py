#!/usr/bin/env python3
"""Checks of rendered manifests that kubernetes-validate cannot make.

kubernetes-validate knows the built-in kinds only and skips custom resources, so
here every custom resource is checked against what its CRD requires (the fields
of the operator versions manifests/README.md names), and the references between
objects are followed: ConfigMaps, Secrets and their keys, selectors and port
names, probes, volume mounts, `$(VAR)` references, scale targets; nothing that
faces the outside (a LoadBalancer or NodePort Service, an Ingress) reaches an
admin listener, `/metrics` or `/kill`, which is enabled per Deployment only; and
each service holds only its own credentials: no service container gets the
database owner's URL or the broker administrator (only `migrate` does), only
ingest the device token secret, and no broker user of the pipeline may configure.

Usage: check-manifests.py [--self-test] RENDERED.yaml... (output of kubectl kustomize).
--self-test first breaks each file in known ways and fails unless every break is found.
"""
import copy
import re
import sys

import yaml

# Secrets the user creates at deploy time (manifests/README.md, "Secrets") and
# the ones the operators make, with their keys. Any other name or key is an error.
SECRETS = {
    "pipeline-database": {"url", "ca.crt"},
    "pipeline-database-analyzer": {"url"},
    "pipeline-database-alerts": {"url"},
    "pipeline-database-ingest": {"url"},
    "pipeline-device-token": {"secret"},
    "ingest-tls": {"tls.crt", "tls.key"},
    "alerts-tls": {"tls.crt", "tls.key"},
    "rabbitmq-default-user": {"username", "password", "connection_string", "host", "port", "default_user.conf",
                              "provider", "type"},
}
# What the operators create for the custom resources (their sources, at the versions
# manifests/README.md names): pods with their labels and container ports, Services.
OPERATOR_PODS = [
    ({"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "rabbitmq",
      "app.kubernetes.io/part-of": "rabbitmq"}, {"amqp", "amqps", "management", "prometheus", "epmd"}),
    ({"app.kubernetes.io/name": "cockroachdb", "app.kubernetes.io/instance": "cockroachdb",
      "app.kubernetes.io/component": "database"}, {"grpc", "http", "sql"}),
]
OPERATOR_SERVICES = [
    ({"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "rabbitmq",
      "app.kubernetes.io/part-of": "rabbitmq"}, {"amqp", "amqps", "management", "prometheus"}),
]
# The Secrets cert-manager (a Certificate's secretName) and the messaging topology
# operator (a User's `<name>-user-credentials`) make, with their keys.
CERTIFICATE_KEYS = {"tls.crt", "tls.key", "ca.crt"}
USER_CREDENTIAL_KEYS = {"username", "password"}
# The containers that hold the owners' credentials, and the one that checks device tokens.
OWNER_CONTAINERS = {"migrate"}
SERVICES = {"ingest", "analyzer", "alerts"}
# The services' admin listeners (analyzer, ingest, alerts): /metrics, /readyz with its checks, /kill.
ADMIN_PORTS = {9100, 9101, 9102}
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


def get(obj, path):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def containers(workload):
    spec = get(workload, "spec.template.spec") or {}
    return spec.get("initContainers", []) + spec.get("containers", [])


def selects(selector, labels):
    """A label selector (matchLabels/matchExpressions, or a plain map as in a Service) against labels."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        value, op = labels.get(expr["key"]), expr["operator"]
        if (op == "In" and value not in expr.get("values", [])) or (op == "NotIn" and value in expr.get("values", [])) \
                or (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


class Checker:
    def __init__(self, name, docs):
        self.name, self.docs, self.errors = name, docs, []

    def error(self, doc, message):
        self.errors.append(f"{self.name}: {doc['kind']}/{get(doc, 'metadata.name')}: {message}")

    def require(self, doc, path, kind=None):
        value = get(doc, path)
        if value is None:
            self.error(doc, f"{path} is required")
        elif kind is not None and not isinstance(value, kind):
            self.error(doc, f"{path} must be a {kind.__name__}, not {value!r}")
        return value

    def only(self, doc, path, allowed):
        for key in (get(doc, path) or {}):
            if key not in allowed:
                self.error(doc, f"{path}.{key} is not a field of this kind")

    # ---- custom resources (fields from the CRDs' openAPIV3Schema)

    def RabbitmqCluster(self, doc):  # rabbitmq.com/v1beta1, cluster-operator v2.22
        self.only(doc, "spec", {"replicas", "image", "imagePullSecrets", "service", "persistence", "resources",
                                "affinity", "tolerations", "rabbitmq", "tls", "override", "skipPostDeploySteps",
                                "terminationGracePeriodSeconds", "delayStartSeconds", "secretBackend",
                                "autoEnableAllFeatureFlags"})
        self.only(doc, "spec.rabbitmq", {"additionalPlugins", "additionalConfig", "advancedConfig", "envConfig",
                                         "erlangInetConfig"})
        replicas = self.require(doc, "spec.replicas", int)
        if isinstance(replicas, int) and replicas % 2 == 0:
            self.error(doc, "an even number of nodes adds no fault tolerance to a quorum queue")
        self.require(doc, "spec.image", str)
        for plugin in get(doc, "spec.rabbitmq.additionalPlugins") or []:
            if not re.fullmatch(r"\w+", str(plugin)):
                self.error(doc, f"plugin name {plugin!r} does not match ^\\w+$")
        config = get(doc, "spec.rabbitmq.additionalConfig")
        if config is not None and not isinstance(config, str):
            self.error(doc, "spec.rabbitmq.additionalConfig must be a string (a rabbitmq.conf snippet)")
        storage = get(doc, "spec.persistence.storage")
        if storage is not None and not QUANTITY.match(str(storage)):
            self.error(doc, f"spec.persistence.storage {storage!r} is not a quantity")

    def CrdbCluster(self, doc):  # crdb.cockroachlabs.com/v1alpha1, cockroach-operator v2.18
        self.only(doc, "spec", {"nodes", "dataStore", "tlsEnabled", "cockroachDBVersion", "image", "resources",
                                "additionalArgs", "additionalLabels", "additionalAnnotations", "affinity",
                                "tolerations", "nodeSelector", "topologySpreadConstraints", "grpcPort", "httpPort",
                                "sqlPort", "cache", "maxSQLMemory", "terminationGracePeriodSecs", "maxUnavailable",
                                "minAvailable", "automountServiceAccountToken", "podEnvVariables",
                                "priorityClassName", "logConfigMap", "clientTLSSecret", "nodeTLSSecret", "ingress"})
        nodes = self.require(doc, "spec.nodes", int)
        if isinstance(nodes, int) and nodes < 3:
            self.error(doc, "spec.nodes must be at least 3")
        self.require(doc, "spec.dataStore", dict)
        # The operator's webhook: exactly one of the two.
        if (get(doc, "spec.cockroachDBVersion") is None) == (get(doc, "spec.image.name") is None):
            self.error(doc, "set exactly one of spec.cockroachDBVersion and spec.image.name")
        pvc = get(doc, "spec.dataStore.pvc.spec")
        if pvc is not None:
            if get(pvc, "volumeMode") not in (None, "Filesystem"):
                self.error(doc, "dataStore.pvc.spec.volumeMode must be Filesystem")
            if not QUANTITY.match(str(get(pvc, "resources.requests.storage"))):
                self.error(doc, "dataStore.pvc.spec.resources.requests.storage must be a quantity")

    def Issuer(self, doc):  # cert-manager.io/v1
        kinds = [k for k in ("selfSigned", "ca", "acme", "vault", "venafi") if k in (doc.get("spec") or {})]
        if len(kinds) != 1:
            self.error(doc, "an Issuer needs exactly one of selfSigned, ca, acme, vault, venafi")
        if "ca" in kinds:
            self.require(doc, "spec.ca.secretName", str)

    def Certificate(self, doc):  # cert-manager.io/v1
        self.require(doc, "spec.secretName", str)
        self.require(doc, "spec.issuerRef.name", str)
        if not get(doc, "spec.dnsNames") and not get(doc, "spec.commonName"):
            self.error(doc, "a Certificate needs dnsNames or commonName")
        issuers = {get(d, "metadata.name") for d in self.docs if d["kind"] == "Issuer"}
        if get(doc, "spec.issuerRef.kind") in (None, "Issuer") and get(doc, "spec.issuerRef.name") not in issuers:
            self.error(doc, f"issuer {get(doc, 'spec.issuerRef.name')!r} is not an Issuer of the manifests")

    def User(self, doc):  # rabbitmq.com/v1beta1, messaging-topology-operator v1.x
        self.only(doc, "spec", {"rabbitmqClusterReference", "tags", "importCredentialsSecret"})
        self.require(doc, "spec.rabbitmqClusterReference.name", str)
        if get(doc, "spec.tags"):
            self.error(doc, "a service's broker user needs no tags (management, administrator)")

    def Permission(self, doc):  # rabbitmq.com/v1beta1
        self.only(doc, "spec", {"vhost", "user", "userReference", "permissions", "rabbitmqClusterReference"})
        self.require(doc, "spec.vhost", str)
        self.require(doc, "spec.rabbitmqClusterReference.name", str)
        users = {get(d, "metadata.name") for d in self.docs if d["kind"] == "User"}
        if get(doc, "spec.userReference.name") not in users:
            self.error(doc, f"userReference {get(doc, 'spec.userReference.name')!r} is not a User of the manifests")
        for what in ("configure", "write", "read"):
            pattern = get(doc, f"spec.permissions.{what}")
            if not isinstance(pattern, str):
                self.error(doc, f"spec.permissions.{what} must be a regular expression")
                continue
            try:
                re.compile(pattern)
            except re.error as e:
                self.error(doc, f"spec.permissions.{what} {pattern!r}: {e}")
            if pattern in (".*", "") or (what == "configure" and pattern != "^$"):
                self.error(doc, f"spec.permissions.{what} {pattern!r} grants more than a service needs"
                           + (" (the topology is declared by `pipeline migrate --with-broker`)" if what == "configure" else ""))

    def ServiceMonitor(self, doc):  # monitoring.coreos.com/v1, prometheus-operator >= 0.76
        self.require(doc, "spec.selector", dict)
        for endpoint in self.require(doc, "spec.endpoints", list) or []:
            if "port" not in endpoint and "targetPort" not in endpoint:
                self.error(doc, "an endpoint needs port (a Service port name) or targetPort")
            if endpoint.get("scheme", "http").lower() not in ("http", "https"):
                self.error(doc, f"scheme {endpoint['scheme']!r} is not http or https")

    def PodMonitor(self, doc):
        self.require(doc, "spec.selector", dict)
        for endpoint in get(doc, "spec.podMetricsEndpoints") or []:
            if "port" not in endpoint and "portNumber" not in endpoint:
                self.error(doc, "a podMetricsEndpoint needs port (a container port name) or portNumber")

    def ScaledObject(self, doc):  # keda.sh/v1alpha1, KEDA 2.x
        self.require(doc, "spec.scaleTargetRef.name", str)
        for trigger in self.require(doc, "spec.triggers", list) or []:
            if not isinstance(trigger.get("type"), str):
                self.error(doc, "a trigger needs type")
            metadata = trigger.get("metadata")
            if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
                self.error(doc, "a trigger needs metadata, a map of strings")
            if trigger.get("type") == "rabbitmq" and "queueName" not in (metadata or {}):
                self.error(doc, "the rabbitmq scaler needs metadata.queueName")
            if "authenticationRef" in trigger and not trigger["authenticationRef"].get("name"):
                self.error(doc, "authenticationRef needs name")

    def TriggerAuthentication(self, doc):
        for ref in get(doc, "spec.secretTargetRef") or []:
            for key in ("parameter", "name", "key"):
                if not ref.get(key):
                    self.error(doc, f"secretTargetRef entries need {key}")

    # ---- references between objects

    def references(self):
        config_maps = {get(d, "metadata.name") for d in self.docs if d["kind"] == "ConfigMap"}
        workloads = [d for d in self.docs if d["kind"] in ("Deployment", "Job")]
        # (labels, container port names) of every pod the manifests make, and of the operators'.
        pods = [(get(d, "spec.template.metadata.labels") or {},
                 {p.get("name") for c in containers(d) for p in c.get("ports", [])}) for d in workloads]
        pods += OPERATOR_PODS
        services = [(get(d, "metadata.labels") or {}, {p.get("name") for p in get(d, "spec.ports") or []})
                    for d in self.docs if d["kind"] == "Service"] + OPERATOR_SERVICES
        deployments = {get(d, "metadata.name") for d in self.docs if d["kind"] == "Deployment"}
        secrets = dict(SECRETS)
        for d in self.docs:
            if d["kind"] == "Certificate" and get(d, "spec.secretName"):
                secrets[get(d, "spec.secretName")] = CERTIFICATE_KEYS
            if d["kind"] == "User":
                secrets[f"{get(d, 'metadata.name')}-user-credentials"] = USER_CREDENTIAL_KEYS

        def secret(doc, name, keys=()):
            if name not in secrets:
                self.error(doc, f"Secret {name!r} is neither created at deploy time nor by an operator")
            for key in keys:
                if name in secrets and key not in secrets[name]:
                    self.error(doc, f"Secret {name!r} has no key {key!r}")

        for doc in self.docs:
            kind = doc["kind"]
            if kind in ("Deployment", "Job"):
                spec = get(doc, "spec.template.spec")
                volumes = {v["name"]: v for v in spec.get("volumes", [])}
                for v in volumes.values():
                    if "secret" in v:
                        secret(doc, v["secret"].get("secretName"), [i["key"] for i in v["secret"].get("items", [])])
                    if "configMap" in v and v["configMap"].get("name") not in config_maps:
                        self.error(doc, f"ConfigMap {v['configMap'].get('name')!r} is not in the manifests")
                for c in containers(doc):
                    self.container(doc, c, volumes, config_maps, secret)
            if kind == "Ingress":
                for tls in get(doc, "spec.tls") or []:
                    secret(doc, tls.get("secretName"))
            if kind == "TriggerAuthentication":
                for ref in get(doc, "spec.secretTargetRef") or []:
                    secret(doc, ref.get("name"), [ref.get("key")])
            if kind in ("Service", "PodDisruptionBudget", "PodMonitor"):
                selector = get(doc, "spec.selector") or {}
                matched = [ports for labels, ports in pods if selects(selector, labels)]
                if not matched:
                    self.error(doc, f"its selector {selector} matches no pod")
                wanted = ([p.get("targetPort") for p in get(doc, "spec.ports") or []] if kind == "Service"
                          else [e.get("port") for e in get(doc, "spec.podMetricsEndpoints") or []])
                for port in wanted:
                    if isinstance(port, str) and matched and not all(port in ports for ports in matched):
                        self.error(doc, f"port {port!r} is not a container port of the pods it selects")
            if kind == "ServiceMonitor":
                selector = get(doc, "spec.selector") or {}
                matched = [ports for labels, ports in services if selects(selector, labels)]
                if not matched:
                    self.error(doc, f"its selector {selector} matches no Service")
                for endpoint in get(doc, "spec.endpoints") or []:
                    if matched and not any(endpoint.get("port") in ports for ports in matched):
                        self.error(doc, f"port {endpoint.get('port')!r} is not a port of the Services it selects")
            if kind == "NetworkPolicy":
                selectors = [get(doc, "spec.podSelector") or {}]
                for rule in get(doc, "spec.ingress") or []:
                    selectors += [peer["podSelector"] for peer in rule.get("from", []) if "podSelector" in peer
                                  and "namespaceSelector" not in peer]
                for selector in selectors:
                    if selector and not any(selects(selector, labels) for labels, _ in pods):
                        self.error(doc, f"the pod selector {selector} matches no pod")
                for expr in (get(doc, "spec.podSelector") or {}).get("matchExpressions", []):
                    for value in expr.get("values", []):
                        if expr["operator"] == "In" and not any(labels.get(expr["key"]) == value for labels, _ in pods):
                            self.error(doc, f"{expr['key']}={value} matches no pod")
            target = get(doc, "spec.scaleTargetRef.name")
            if kind in ("HorizontalPodAutoscaler", "ScaledObject") and target not in deployments:
                self.error(doc, f"scale target {target!r} is not a Deployment of the manifests")
        self.exposure()
        self.credentials()

    def credentials(self):
        """Each service container holds its own credentials only."""
        for doc in self.docs:
            if doc["kind"] != "Deployment" or get(doc, "metadata.name") not in SERVICES:
                continue
            spec = get(doc, "spec.template.spec")
            volumes = {v["name"]: get(v, "secret.secretName") for v in spec.get("volumes", [])}
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                if c.get("name") in OWNER_CONTAINERS:
                    continue
                used = [(get(v, "valueFrom.secretKeyRef.name"), get(v, "valueFrom.secretKeyRef.key")) for v in c.get("env", [])]
                used += [(volumes.get(m["name"]), None) for m in c.get("volumeMounts", [])]
                for name, key in used:
                    if name == "rabbitmq-default-user":
                        self.error(doc, f"container {c.get('name')} connects as the broker administrator")
                    if name == "pipeline-database" and key == "url":
                        self.error(doc, f"container {c.get('name')} connects as the database owner")
                    if name == "pipeline-device-token" and get(doc, "metadata.name") != "ingest":
                        self.error(doc, f"container {c.get('name')} gets the device token secret, which only ingest checks")

    def exposure(self):
        """What faces the outside serves no admin route; /kill is enabled per Deployment, not in a shared ConfigMap."""
        def admin(port):
            return "admin" in (port.get("name"), port.get("targetPort")) or bool(
                {port.get("port"), port.get("targetPort")} & ADMIN_PORTS)
        services = {get(d, "metadata.name"): d for d in self.docs if d["kind"] == "Service"}
        for doc in self.docs:
            if doc["kind"] == "Service" and get(doc, "spec.type") in ("LoadBalancer", "NodePort"):
                for port in get(doc, "spec.ports") or []:
                    if admin(port):
                        self.error(doc, f"a public Service exposes the admin port {port.get('name') or port.get('port')!r}")
            if doc["kind"] == "Ingress":
                for rule in get(doc, "spec.rules") or []:
                    for path in get(rule, "http.paths") or []:
                        if str(path.get("path", "")).rstrip("/") in ("/metrics", "/kill", "/readyz"):
                            self.error(doc, f"the Ingress routes {path['path']!r}, an admin route")
                        backend = get(path, "backend.service") or {}
                        target = services.get(backend.get("name"))
                        if target is None:
                            self.error(doc, f"the Ingress routes to {backend.get('name')!r}, no Service of the manifests")
                            continue
                        wanted = backend.get("port") or {}
                        for port in get(target, "spec.ports") or []:
                            if (port.get("name") == wanted.get("name") or port.get("port") == wanted.get("number")) \
                                    and admin(port):
                                self.error(doc, f"the Ingress routes to the admin port of Service {backend['name']!r}")
            if doc["kind"] == "ConfigMap" and "KILL_ENABLED" in (doc.get("data") or {}):
                self.error(doc, "KILL_ENABLED in a ConfigMap: enable /kill on one Deployment's env, where only it reads it")

    def container(self, doc, c, volumes, config_maps, secret):
        where = f"container {c.get('name')}"
        ports = {p.get("name") for p in c.get("ports", [])}
        for source in c.get("envFrom", []):
            if "configMapRef" in source and source["configMapRef"].get("name") not in config_maps:
                self.error(doc, f"{where}: ConfigMap {source['configMapRef'].get('name')!r} is not in the manifests")
            if "secretRef" in source:
                secret(doc, source["secretRef"].get("name"))
        defined = set()
        for var in c.get("env", []):
            ref = get(var, "valueFrom.secretKeyRef")
            if ref:
                secret(doc, ref.get("name"), [ref.get("key")])
            ref = get(var, "valueFrom.configMapKeyRef")
            if ref and ref.get("name") not in config_maps:
                self.error(doc, f"{where}: ConfigMap {ref.get('name')!r} is not in the manifests")
            # $(X) expands only variables defined earlier in the list; otherwise it stays literal.
            for name in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(var.get("value", ""))):
                if name not in defined:
                    self.error(doc, f"{where}: {var['name']} uses $({name}) before it is defined")
            defined.add(var["name"])
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            port = get(c, f"{probe}.httpGet.port")
            if isinstance(port, str) and port not in ports:
                self.error(doc, f"{where}: {probe} port {port!r} is not a port of the container")
        for mount in c.get("volumeMounts", []):
            if mount["name"] not in volumes:
                self.error(doc, f"{where}: volumeMount {mount['name']!r} names no volume of the pod")

    def run(self):
        for doc in self.docs:
            group = doc["apiVersion"].rsplit("/", 1)[0] if "/" in doc["apiVersion"] else ""
            if "." not in group or group.endswith(".k8s.io"):
                continue  # built-in: kubernetes-validate's business
            check = getattr(self, doc["kind"], None)
            if check is None:
                self.error(doc, f"a custom resource ({doc['apiVersion']}) this script has no check for")
            else:
                check(doc)
        self.references()
        return self.errors


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


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def self_test(paths):
    """Every break must be found in at least one file it applies to; the files as they are must pass."""
    problems = []
    for what, apply in BREAKS:
        applied = found = False
        for path in paths:
            docs = copy.deepcopy(load(path))
            if apply(docs):
                applied = True
                found = found or bool(Checker(path, docs).run())
        if not applied:
            problems.append(f"self-test: no file has what this break needs: {what}")
        elif not found:
            problems.append(f"self-test: not found: {what}")
    return problems


def main(args):
    test = "--self-test" in args
    paths = [a for a in args if a != "--self-test"]
    errors = self_test(paths) if test else []
    for path in paths:
        errors += Checker(path, load(path)).run()
    for e in errors:
        print(e, file=sys.stderr)
    if test and not errors:
        print(f"check-manifests: the self-test found all {len(BREAKS)} breaks", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

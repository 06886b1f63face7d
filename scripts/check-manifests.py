#!/usr/bin/env python3
"""Checks of rendered manifests that kubernetes-validate cannot make.

kubernetes-validate knows the built-in kinds only and skips custom resources, so
here every custom resource is checked against what its CRD requires (the fields
of the operator versions manifests/README.md names), and the references between
objects are followed: ConfigMaps and Secrets used by pods, selectors and scale
targets. Usage: check-manifests.py RENDERED.yaml... (output of kubectl kustomize).
"""
import re
import sys

import yaml

# Secrets the user creates at deploy time (manifests/README.md, "Secrets"), and
# the ones the operators make. Any other name referenced is an error.
DEPLOY_TIME_SECRETS = {"pipeline-database", "pipeline-device-token", "ingest-tls", "alerts-tls"}
OPERATOR_SECRETS = {"rabbitmq-default-user"}
# Pod labels of the operators' pods, for selectors that point at them.
OPERATOR_POD_LABELS = [
    {"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "rabbitmq"},
    {"app.kubernetes.io/name": "cockroachdb", "app.kubernetes.io/instance": "cockroachdb",
     "app.kubernetes.io/component": "database"},
]
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


def get(obj, path):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


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
        secrets = DEPLOY_TIME_SECRETS | OPERATOR_SECRETS
        pods = [get(d, "spec.template.metadata.labels") or {} for d in self.docs if d["kind"] == "Deployment"]
        pods += OPERATOR_POD_LABELS
        deployments = {get(d, "metadata.name") for d in self.docs if d["kind"] == "Deployment"}

        def walk(doc, value):
            if isinstance(value, dict):
                for key, child in value.items():
                    if key in ("configMapRef", "configMapKeyRef", "configMap") and isinstance(child, dict):
                        if child.get("name") not in config_maps:
                            self.error(doc, f"ConfigMap {child.get('name')!r} is not in the manifests")
                    if key in ("secretKeyRef", "secretRef") and child.get("name") not in secrets:
                        self.error(doc, f"Secret {child.get('name')!r} is neither created at deploy time nor by an operator")
                    if key == "secret" and isinstance(child, dict) and child.get("secretName") not in secrets:
                        self.error(doc, f"Secret {child.get('secretName')!r} is neither created at deploy time nor by an operator")
                    walk(doc, child)
            elif isinstance(value, list):
                for child in value:
                    walk(doc, child)

        def selects(selector):
            wanted = selector.get("matchLabels", {}) if "matchLabels" in selector or "matchExpressions" in selector else selector
            return any(all(labels.get(k) == v for k, v in wanted.items()) for labels in pods)

        for doc in self.docs:
            walk(doc, doc.get("spec"))
            kind = doc["kind"]
            for tls in get(doc, "spec.tls") or [] if kind == "Ingress" else []:
                if tls.get("secretName") not in secrets:
                    self.error(doc, f"Secret {tls.get('secretName')!r} is neither created at deploy time nor by an operator")
            if kind == "TriggerAuthentication":
                for ref in get(doc, "spec.secretTargetRef") or []:
                    if ref.get("name") not in secrets:
                        self.error(doc, f"Secret {ref.get('name')!r} is neither created at deploy time nor by an operator")
            selector = {"Service": get(doc, "spec.selector"), "PodDisruptionBudget": get(doc, "spec.selector"),
                        "ServiceMonitor": get(doc, "spec.selector"), "PodMonitor": get(doc, "spec.selector"),
                        "Deployment": get(doc, "spec.selector")}.get(kind)
            if selector and not selects(selector):
                self.error(doc, f"its selector {selector} matches no pod")
            if kind == "NetworkPolicy":
                ps = get(doc, "spec.podSelector") or {}
                for expr in ps.get("matchExpressions", []):
                    for value in expr.get("values", []):
                        if not selects({expr["key"]: value}):
                            self.error(doc, f"{expr['key']}={value} matches no pod")
                if ps.get("matchLabels") and not selects(ps):
                    self.error(doc, f"its podSelector {ps} matches no pod")
            target = get(doc, "spec.scaleTargetRef.name")
            if kind in ("HorizontalPodAutoscaler", "ScaledObject") and target not in deployments:
                self.error(doc, f"scale target {target!r} is not a Deployment of the manifests")

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


def main(paths):
    errors = []
    for path in paths:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        errors += Checker(path, docs).run()
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

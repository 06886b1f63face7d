"""The custom resources check-manifests.py knows, each checked against the fields
its CRD's openAPIV3Schema has at the operator version manifests/README.md names.
A method per kind; the checker (`Checker`) supplies error, require and only."""
import re

from manifest_docs import get

QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


class CustomResources:
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

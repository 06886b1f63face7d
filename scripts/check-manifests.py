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
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from manifest_crds import CustomResources  # noqa: E402  (beside this file)
from manifest_docs import BREAKS, get  # noqa: E402

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


class Checker(CustomResources):
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

#!/usr/bin/env python3
"""Our policy for the rendered Kubernetes objects.

    policy.py DIR          checks DIR/kustomization.yaml's resources; exits 1 naming each violation
    policy.py --self-test  shows that each rule fails on a manifest that breaks it

Rules: every container has CPU and memory requests and limits; containers of long-running
workloads (Deployment, DaemonSet, StatefulSet) have readiness and liveness probes; every container
runs as non-root, without privilege escalation, with all capabilities dropped and a read-only root
filesystem; images carry an explicit tag that is not `latest`; every namespace with workloads has a
default-deny NetworkPolicy for both directions; Services select the pods of a long-running
workload (never Job pods) and name ports those pods expose; volumes name existing PVCs and
ConfigMaps; every container that runs the `mcp-gateway` binary names its configuration file with
`MCP_GATEWAY_CONFIG` (a key of a ConfigMap mounted in it) and not with `--config`, so that a command
run in it with `kubectl exec` reads the same file; namespaced objects carry a namespace; the
Prometheus operator's custom resources are well formed (kubernetes-validate has no schema for them). The NVIDIA DaemonSets are the only
exceptions, each listed below with its reason; an exception that matches nothing is a violation.
"""
import copy
import pathlib
import re
import sys

import yaml

WORKLOAD_KINDS = {"Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob", "Pod"}
# Images built from this repository's one binary (nix/images.nix).
BINARY_IMAGES = {"mcp-gateway", "notion-mcp", "gcal-mcp"}
LONG_RUNNING = {"Deployment", "DaemonSet", "StatefulSet"}
CLUSTER_SCOPED = {"Namespace", "RuntimeClass", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                  "StorageClass", "PriorityClass", "CustomResourceDefinition", "IngressClass"}

# (namespace, kind, name) -> {rule: reason}
EXCEPTIONS = {
    ("kube-system", "DaemonSet", "nvidia-device-plugin"): {
        "non-root": "serves its socket in the kubelet's root-owned device-plugin folder",
        "host-path": "registers with the kubelet through /var/lib/kubelet/device-plugins",
    },
    ("kube-system", "DaemonSet", "dcgm-exporter"): {
        "non-root": "reads GPU counters through DCGM, which needs root and SYS_ADMIN",
        "capabilities": "DCGM needs SYS_ADMIN",
        "read-only-root": "DCGM writes its host engine state under /var",
        "host-path": "reads the kubelet's pod-resources socket to label metrics with pods",
    },
}


def ident(obj):
    meta = obj.get("metadata", {})
    return (meta.get("namespace"), obj.get("kind"), meta.get("name"))


def pod_template(obj):
    kind = obj.get("kind")
    spec = obj.get("spec", {})
    if kind == "Pod":
        return obj.get("metadata", {}), spec
    if kind == "CronJob":
        tpl = spec.get("jobTemplate", {}).get("spec", {}).get("template", {})
    else:
        tpl = spec.get("template", {})
    return tpl.get("metadata", {}), tpl.get("spec", {})


class Checker:
    def __init__(self, objects):
        self.objects = objects
        self.violations = []
        self.used_exceptions = set()

    def exempt(self, obj, rule):
        rules = EXCEPTIONS.get(ident(obj), {})
        if rule in rules:
            self.used_exceptions.add((ident(obj), rule))
            return True
        return False

    def fail(self, obj, message):
        ns, kind, name = ident(obj)
        self.violations.append(f"{kind} {ns or '-'}/{name}: {message}")

    def run(self):
        for obj in self.objects:
            kind = obj.get("kind")
            ns = obj.get("metadata", {}).get("namespace")
            if kind in CLUSTER_SCOPED and ns:
                self.fail(obj, "cluster-scoped object carries a namespace")
            if kind not in CLUSTER_SCOPED and not ns:
                self.fail(obj, "namespaced object has no namespace")
            if kind in WORKLOAD_KINDS:
                self.workload(obj)
            if kind == "Service":
                self.service(obj)
            if kind == "PrometheusRule":
                self.prometheus_rule(obj)
            if kind == "ServiceMonitor":
                self.service_monitor(obj)
        self.network_policies()
        for key, rules in EXCEPTIONS.items():
            for rule in rules:
                if (key, rule) not in self.used_exceptions:
                    self.violations.append(f"exception {key} {rule!r} matches nothing: remove it")
        return self.violations

    def workload(self, obj):
        kind = obj["kind"]
        _, pod = pod_template(obj)
        pod_sec = pod.get("securityContext", {})
        containers = pod.get("containers", []) + pod.get("initContainers", [])
        if not containers:
            self.fail(obj, "no containers")
        for c in containers:
            where = f"container {c.get('name')}"
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in res.get(part, {}):
                        self.fail(obj, f"{where} has no {r} {part[:-1]}")
            if kind in LONG_RUNNING and c in pod.get("containers", []):
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in c:
                        self.fail(obj, f"{where} has no {probe}")
            image = c.get("image", "")
            tag = re.fullmatch(r"(?:[^/]+/)*[^/:@]+(?::([\w][\w.-]{0,127}))?(?:@sha256:[0-9a-f]{64})?", image)
            if not tag:
                self.fail(obj, f"{where} has a malformed image {image!r}")
            elif "@sha256:" not in image and not tag.group(1):
                self.fail(obj, f"{where} image {image!r} has no tag")
            elif tag.group(1) == "latest":
                self.fail(obj, f"{where} image {image!r} uses the latest tag")
            sec = c.get("securityContext", {})
            non_root = sec.get("runAsNonRoot", pod_sec.get("runAsNonRoot"))
            if non_root is not True or sec.get("runAsUser", pod_sec.get("runAsUser")) == 0:
                if not self.exempt(obj, "non-root"):
                    self.fail(obj, f"{where} does not set runAsNonRoot")
            if sec.get("allowPrivilegeEscalation") is not False:
                self.fail(obj, f"{where} does not set allowPrivilegeEscalation: false")
            if sec.get("privileged"):
                self.fail(obj, f"{where} is privileged")
            caps = sec.get("capabilities", {})
            if "ALL" not in caps.get("drop", []):
                self.fail(obj, f"{where} does not drop all capabilities")
            if caps.get("add") and not self.exempt(obj, "capabilities"):
                self.fail(obj, f"{where} adds capabilities {caps['add']}")
            if sec.get("readOnlyRootFilesystem") is not True and not self.exempt(obj, "read-only-root"):
                self.fail(obj, f"{where} has a writable root filesystem")
            if runs_binary(c):
                self.config_env(obj, pod, c, where)
        ns = obj.get("metadata", {}).get("namespace")
        for v in pod.get("volumes", []):
            if "hostPath" in v and not self.exempt(obj, "host-path"):
                self.fail(obj, f"volume {v.get('name')} mounts a host path")
            claim = v.get("persistentVolumeClaim", {}).get("claimName")
            if claim and not self.find("PersistentVolumeClaim", ns, claim):
                self.fail(obj, f"volume {v.get('name')} names a missing PVC {claim}")
            cm = v.get("configMap", {}).get("name")
            if cm and not self.find("ConfigMap", ns, cm):
                self.fail(obj, f"volume {v.get('name')} names a missing ConfigMap {cm}")
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            self.fail(obj, "shares a host namespace")

    def config_env(self, obj, pod, container, where):
        ns = obj.get("metadata", {}).get("namespace")
        if "--config" in container.get("command", []) + container.get("args", []):
            self.fail(obj, f"{where} names its configuration with --config; set only MCP_GATEWAY_CONFIG")
        value = next((e.get("value") for e in container.get("env", []) if e.get("name") == "MCP_GATEWAY_CONFIG"), None)
        if not value:
            self.fail(obj, f"{where} runs mcp-gateway but does not set MCP_GATEWAY_CONFIG")
            return
        volumes = {v.get("name"): v for v in pod.get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            prefix = mount.get("mountPath", "").rstrip("/") + "/"
            cm = volumes.get(mount.get("name"), {}).get("configMap", {}).get("name")
            if cm and value.startswith(prefix):
                found = self.find("ConfigMap", ns, cm)
                if found is not None and value[len(prefix):] in found.get("data", {}):
                    return
        self.fail(obj, f"{where}: MCP_GATEWAY_CONFIG={value} is not a key of a ConfigMap mounted in it")

    def find(self, kind, ns, name):
        return next((o for o in self.objects if ident(o) == (ns, kind, name)), None)

    def service(self, obj):
        ns = obj["metadata"].get("namespace")
        selector = obj.get("spec", {}).get("selector") or {}
        if not selector:
            self.fail(obj, "has no selector")
            return
        matches = []
        for o in self.objects:
            if o.get("kind") in WORKLOAD_KINDS and o["metadata"].get("namespace") == ns:
                meta, pod = pod_template(o)
                labels = meta.get("labels", {})
                if all(labels.get(k) == v for k, v in selector.items()):
                    matches.append((o, pod))
        if not matches:
            self.fail(obj, f"selector {selector} matches no pods")
        for o, pod in matches:
            if o["kind"] not in LONG_RUNNING:
                self.fail(obj, f"selector {selector} also matches {o['kind']} {o['metadata']['name']}")
            names = {p.get("name") for c in pod.get("containers", []) for p in c.get("ports", [])}
            numbers = {p.get("containerPort") for c in pod.get("containers", []) for p in c.get("ports", [])}
            for port in obj["spec"].get("ports", []):
                target = port.get("targetPort", port.get("port"))
                if target not in names and target not in numbers:
                    self.fail(obj, f"port {port.get('name')} targets {target!r}, which {o['metadata']['name']} does not expose")

    def prometheus_rule(self, obj):
        groups = obj.get("spec", {}).get("groups", [])
        if not groups:
            self.fail(obj, "has no rule groups")
        for g in groups:
            if not g.get("name") or not g.get("rules"):
                self.fail(obj, f"group {g.get('name')!r} has no name or no rules")
            for r in g.get("rules", []):
                if not r.get("alert") or not r.get("expr"):
                    self.fail(obj, f"rule {r} needs alert and expr")
                if "for" in r and not re.fullmatch(r"\d+[smhdwy]", str(r["for"])):
                    self.fail(obj, f"rule {r.get('alert')} has a malformed for {r['for']!r}")
                if r.get("expr", "").count("(") != r.get("expr", "").count(")"):
                    self.fail(obj, f"rule {r.get('alert')} has unbalanced parentheses")
                if "severity" not in r.get("labels", {}):
                    self.fail(obj, f"rule {r.get('alert')} has no severity label")

    def service_monitor(self, obj):
        ns = obj["metadata"].get("namespace")
        spec = obj.get("spec", {})
        selector = spec.get("selector", {}).get("matchLabels", {})
        endpoints = spec.get("endpoints", [])
        if not selector or not endpoints:
            self.fail(obj, "needs selector.matchLabels and endpoints")
            return
        services = [o for o in self.objects if o.get("kind") == "Service" and o["metadata"].get("namespace") == ns
                    and all(o["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]
        if not services:
            self.fail(obj, f"selector {selector} matches no Service in {ns}")
        for e in endpoints:
            if not any(p.get("name") == e.get("port") for s in services for p in s["spec"].get("ports", [])):
                self.fail(obj, f"endpoint port {e.get('port')!r} is not a named port of the selected Services")

    def network_policies(self):
        namespaces = {o["metadata"].get("namespace") for o in self.objects if o.get("kind") in WORKLOAD_KINDS}
        namespaces.discard("kube-system")
        for ns in sorted(n for n in namespaces if n):
            deny = [o for o in self.objects if o.get("kind") == "NetworkPolicy" and o["metadata"].get("namespace") == ns
                    and o.get("spec", {}).get("podSelector") == {}
                    and set(o["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                    and not o["spec"].get("ingress") and not o["spec"].get("egress")]
            if not deny:
                self.violations.append(f"namespace {ns}: no default-deny NetworkPolicy for Ingress and Egress")


def runs_binary(container):
    image = container.get("image", "").split("@")[0]
    name = image.rsplit("/", 1)[-1].split(":")[0]
    command = container.get("command", [])
    return name in BINARY_IMAGES or bool(command and command[0].rsplit("/", 1)[-1] == "mcp-gateway")


def load(directory):
    directory = pathlib.Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects = []
    for name in kustomization["resources"]:
        objects.extend(d for d in yaml.safe_load_all((directory / name).read_text()) if d is not None)
    return objects


def check(objects):
    return Checker(objects).run()


def self_test(good_dir, bad_file):
    """Each mutation of the good manifests must produce the violation it is named for."""
    good = load(good_dir)
    assert not check(good), f"the good manifests must pass: {check(good)}"

    def deployment(objs, name):
        return next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == name)

    def container(objs, name):
        return pod_template(deployment(objs, name))[1]["containers"][0]

    mutations = {
        "no memory limit": (lambda o: container(o, "gateway")["resources"]["limits"].pop("memory"),
                            "container gateway has no memory limit"),
        "no readiness probe": (lambda o: container(o, "notion-mcp").pop("readinessProbe"),
                               "container notion-mcp has no readinessProbe"),
        "latest tag": (lambda o: container(o, "gcal-mcp").update(image="gcal-mcp:latest"), "uses the latest tag"),
        "untagged image": (lambda o: container(o, "gateway").update(image="docker.io/library/mcp-gateway"), "has no tag"),
        "root": (lambda o: (pod_template(deployment(o, "ollama"))[1]["securityContext"].update(runAsNonRoot=False),
                            container(o, "ollama")["securityContext"].pop("runAsNonRoot")),
                 "container ollama does not set runAsNonRoot"),
        "writable root": (lambda o: container(o, "gateway")["securityContext"].update(readOnlyRootFilesystem=False),
                          "writable root filesystem"),
        "no default deny": (lambda o: o.remove(next(x for x in o if x["kind"] == "NetworkPolicy"
                                                    and x["metadata"]["name"] == "default-deny")),
                            "no default-deny NetworkPolicy"),
        "service selects job": (lambda o: next(x for x in o if x["kind"] == "Job")["spec"]["template"]["metadata"]["labels"]
                                .update({"app.kubernetes.io/name": "ollama"}), "also matches Job"),
        "missing pvc": (lambda o: o.remove(next(x for x in o if x["kind"] == "PersistentVolumeClaim"
                                                and x["metadata"]["name"] == "token-db")), "missing PVC token-db"),
        "rule without severity": (lambda o: next(x for x in o if x["kind"] == "PrometheusRule")["spec"]["groups"][0]
                                  ["rules"][0]["labels"].pop("severity"), "has no severity label"),
        "no config env": (lambda o: container(o, "notion-mcp").update(env=[e for e in container(o, "notion-mcp")["env"]
                                                                           if e["name"] != "MCP_GATEWAY_CONFIG"]),
                          "container notion-mcp runs mcp-gateway but does not set MCP_GATEWAY_CONFIG"),
        "config env not mounted": (lambda o: next(e for e in pod_template(next(x for x in o if x["kind"] == "CronJob"))[1]
                                                  ["containers"][0]["env"] if e["name"] == "MCP_GATEWAY_CONFIG")
                                   .update(value="/etc/mcp-gateway/missing.toml"), "is not a key of a ConfigMap"),
        "config flag": (lambda o: container(o, "gateway")["args"].extend(["--config", "/etc/mcp-gateway/gateway.toml"]),
                        "names its configuration with --config"),
    }
    failed = []
    for name, (mutate, expected) in mutations.items():
        objs = copy.deepcopy(good)
        mutate(objs)
        violations = check(objs)
        if not any(expected in v for v in violations):
            failed.append(f"{name}: expected a violation containing {expected!r}, got {violations}")
    bad = [d for d in yaml.safe_load_all(pathlib.Path(bad_file).read_text()) if d is not None]
    bad_violations = check(bad)
    for expected in ("has no cpu limit", "has no livenessProbe", "uses the latest tag", "does not set runAsNonRoot",
                     "no default-deny NetworkPolicy"):
        if not any(expected in v for v in bad_violations):
            failed.append(f"{bad_file}: expected a violation containing {expected!r}, got {bad_violations}")
    if failed:
        print("policy self-test FAILED:\n  " + "\n  ".join(failed))
        return 1
    print(f"policy self-test: {len(mutations)} mutations and {bad_file} each rejected; the good manifests pass")
    return 0


def main(argv):
    here = pathlib.Path(__file__).parent
    if argv == ["--self-test"]:
        return self_test(here / "../../k8s-generated", here / "bad-manifest.yaml")
    if len(argv) != 1:
        print(__doc__)
        return 2
    objects = load(argv[0])
    violations = check(objects)
    for v in violations:
        print(f"POLICY {v}")
    print(f"policy: {len(objects)} objects, {len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The ``kubernetes`` section of a target file and the ``kubernetes`` actuator of a node.

::

    kubernetes:
      kubeconfig: ~/.kube/config          # default: $KUBECONFIG, else ~/.kube/config
      context: prod-eu-1                  # default: the kubeconfig's current context
      namespace: kafka                    # Strimzi's namespace (brokers, controllers)
      flink_namespace: flink              # default: namespace
      chaos_namespace: kafka              # where the Chaos Mesh resources go; default: namespace
      strimzi_cluster: my-cluster         # fills the default selectors
      flink_deployment: orders-job        # the FlinkDeployment the harness upgrades and rolls back
      zone_label: topology.kubernetes.io/zone
      chaos_timeout: 60                   # seconds for a Chaos Mesh resource to report AllInjected / AllRecovered
      selectors:                          # defaults (Strimzi and Flink operator labels):
        broker: strimzi.io/cluster=my-cluster,strimzi.io/broker-role=true
        controller: strimzi.io/cluster=my-cluster,strimzi.io/controller-role=true
        jobmanager: app=orders-job,component=jobmanager
        taskmanager: app=orders-job,component=taskmanager
      expected: {broker: 3, controller: 3}    # pods each selector must match (default: the file's nodes)
    nodes:
      - {name: kafka-a, role: broker, zone: a, actuator: {type: kubernetes, pod: my-cluster-broker-0}}
      - {name: jm, role: jobmanager, zone: a,
         actuator: {type: kubernetes, selector: "app=orders-job,component=jobmanager", container: flink-main-container}}
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..schema import ActuatorSpec, fail

ZONE_LABEL = "topology.kubernetes.io/zone"
DNS_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
POD_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
SELECTOR_ROLES = ("broker", "controller", "jobmanager", "taskmanager")
#: the target file's node roles, as the selector that finds their pods
ROLE_SELECTOR = {"broker": "broker", "broker+controller": "broker", "controller": "controller",
                 "jobmanager": "jobmanager", "taskmanager": "taskmanager"}


@dataclass(frozen=True)
class KubeSpec:
    namespace: str
    flink_namespace: str
    chaos_namespace: str
    selectors: dict[str, str]
    expected: dict[str, int]
    kubeconfig: str | None = None
    context: str | None = None
    strimzi_cluster: str | None = None
    flink_deployment: str | None = None
    zone_label: str = ZONE_LABEL
    chaos_timeout: int = 60
    zones: tuple[str, ...] = field(default_factory=tuple)

    def namespace_of(self, role: str) -> str:
        return self.flink_namespace if role in ("jobmanager", "taskmanager") else self.namespace


def parse_selector(value: str) -> dict[str, str]:
    """``k=v,k2=v2`` (equality only: Chaos Mesh's labelSelectors take a map) as a dict; ValueError if not."""
    out = {}
    for item in value.split(","):
        key, eq, val = item.strip().partition("=")
        key, val = key.strip(), val.strip().lstrip("=")
        if not eq or not LABEL_KEY.fullmatch(key) or not LABEL_VALUE.fullmatch(val):
            raise ValueError(item.strip())
        out[key] = val
    return out


def check_selector(value: str, path: str, src: str) -> str:
    try:
        parse_selector(value)
    except ValueError as bad:
        raise fail(src, path, f"has {str(bad)!r}, not a label key=value", "write key=value[,key=value...] (equality "
                   "only, e.g. strimzi.io/cluster=my-cluster,strimzi.io/broker-role=true)") from None
    return ",".join(i.strip() for i in value.split(","))


def _name(value: str, path: str, src: str, pattern=DNS_NAME, what="a Kubernetes name") -> str:
    if not pattern.fullmatch(value):
        raise fail(src, path, f"is {value!r}, not {what}", "use lower-case letters, digits and '-' (RFC 1123)")
    return value


def actuator_spec(data: dict, where: str, src: str) -> ActuatorSpec:
    allowed = {"type", "pod", "selector", "container"}
    wrong = sorted(set(data) - allowed)
    if wrong:
        raise fail(src, f"{where}.{wrong[0]}", "does not apply to a kubernetes actuator",
                   "remove it (a kubernetes actuator takes pod or selector, and optionally container)")
    if ("pod" in data) == ("selector" in data):
        raise fail(src, where, "needs exactly one of pod or selector",
                   "give the pod's name (pod: my-cluster-broker-0) or a label selector matching one pod")
    if "pod" in data:
        _name(data["pod"], f"{where}.pod", src, POD_NAME, "a pod name")
    selector = check_selector(data["selector"], f"{where}.selector", src) if "selector" in data else None
    if "container" in data:
        _name(data["container"], f"{where}.container", src, DNS_NAME, "a container name")
    return ActuatorSpec("kubernetes", container=data.get("container"), pod=data.get("pod"), selector=selector)


def kube_spec(data: dict | None, zones: tuple[str, ...], nodes, src: str) -> KubeSpec:
    if data is None:
        raise fail(src, "kubernetes", "is missing but a node has a kubernetes actuator",
                   "add a kubernetes section (namespace, strimzi_cluster, context, ...)")
    w = "kubernetes"
    ns = _name(data.get("namespace", "default"), f"{w}.namespace", src)
    fns = _name(data.get("flink_namespace", ns), f"{w}.flink_namespace", src)
    cns = _name(data.get("chaos_namespace", ns), f"{w}.chaos_namespace", src)
    cluster = data.get("strimzi_cluster")
    if cluster is not None:
        _name(cluster, f"{w}.strimzi_cluster", src)
    flink = data.get("flink_deployment")
    if flink is not None:
        _name(flink, f"{w}.flink_deployment", src)
    given = data.get("selectors", {})
    selectors: dict[str, str] = {}
    for role in SELECTOR_ROLES:
        if role in given:
            selectors[role] = check_selector(given[role], f"{w}.selectors.{role}", src)
        elif role in ("broker", "controller") and cluster:
            selectors[role] = f"strimzi.io/cluster={cluster},strimzi.io/{role}-role=true"
        elif role in ("jobmanager", "taskmanager") and flink:
            selectors[role] = f"app={flink},component={role}"
    roles_used = {ROLE_SELECTOR[n.role] for n in nodes if n.role in ROLE_SELECTOR}
    if "broker" not in selectors:
        raise fail(src, f"{w}.strimzi_cluster", "is missing and no selectors.broker is given",
                   "name the Strimzi cluster (strimzi_cluster: my-cluster) or give selectors.broker")
    for role in sorted(roles_used - set(selectors)):
        raise fail(src, f"{w}.selectors.{role}", f"is missing but the file has a {role} node",
                   f"give selectors.{role}" + (" or flink_deployment" if role in ("jobmanager", "taskmanager")
                                              else " or strimzi_cluster"))
    expected = {}
    for role in SELECTOR_ROLES:
        count = data.get("expected", {}).get(role)
        if count is None:       # default: the file's nodes of that role (no check when it lists none)
            count = sum(1 for n in nodes if ROLE_SELECTOR.get(n.role) == role) or None
        if count is None:
            continue
        if count < 0:
            raise fail(src, f"{w}.expected.{role}", f"is {count}", "give a count of 0 or more")
        if role in selectors:
            expected[role] = count
    for role in data.get("expected", {}):
        if role not in selectors:
            raise fail(src, f"{w}.expected.{role}", "has no selector to count with", f"give selectors.{role}")
    timeout = data.get("chaos_timeout", 60)
    if not 1 <= timeout <= 3600:
        raise fail(src, f"{w}.chaos_timeout", f"is {timeout}", "give seconds between 1 and 3600")
    label = data.get("zone_label", ZONE_LABEL)
    if not LABEL_KEY.fullmatch(label):
        raise fail(src, f"{w}.zone_label", f"is {label!r}, not a label key", f"write e.g. {ZONE_LABEL}")
    return KubeSpec(ns, fns, cns, selectors, expected, data.get("kubeconfig"), data.get("context"), cluster, flink,
                    label, timeout, zones)


def with_kube(nodes, kube: KubeSpec):
    """The nodes with the kubernetes section attached to each kubernetes actuator."""
    from dataclasses import replace
    return tuple(replace(n, actuator=replace(n.actuator, kube=kube)) if n.actuator.type == "kubernetes" else n
                 for n in nodes)

"""Preflight of a Kubernetes target, before any fault: the context answers, the Chaos Mesh
CRDs are installed, with ``strimzi_cluster`` Strimzi's Kafka CRD is served and that Kafka
resource exists in the target's namespace, each selector matches the expected number of pods, in the target's
zones, and each node of the file is its pod in its zone. Otherwise one ``PreflightError``
line (``kfchaos target preflight FILE`` exits 2 with it)."""
from __future__ import annotations

from ..actuators import ActuatorError
from ..discovery import DiscoveryError
from .client import api_client, reason
from .config import ROLE_SELECTOR
from .topology import node_zones, pods_by_zone


class PreflightError(DiscoveryError):
    """The cluster is not what the target file says; one line."""


def preflight(target, timeout: float = 10.0) -> list[str]:
    """Check the cluster; returns what it found (one line each) or raises PreflightError."""
    from kubernetes import client
    kube = target.kubernetes
    src = target.source
    try:
        api = api_client(kube, fresh=True)
    except ActuatorError as exc:
        raise PreflightError(f"{src}: {exc}") from None
    ctx = kube.context or "the current context"
    try:
        version = client.VersionApi(api).get_code(_request_timeout=timeout)
    except Exception as exc:
        raise PreflightError(f"{src}: kubernetes {ctx} at {api.configuration.host} does not answer ({reason(exc)}); "
                             "check kubernetes.kubeconfig/context and that the cluster is reachable") from None
    found = [f"kubernetes {ctx}: API server {version.git_version} at {api.configuration.host}"]
    from .actuator import chaos_mesh_missing
    from .chaos import ChaosMesh
    missing = chaos_mesh_missing(ChaosMesh(api, kube, "preflight"))
    if missing:
        raise PreflightError(f"{src}: {missing}")
    found.append(f"Chaos Mesh CRDs served in {kube.chaos_namespace}")
    if kube.strimzi_cluster:
        from .strimzi import GROUP, find_kafka
        ns = kube.namespace_of("broker")
        kafka = find_kafka(api, ns, kube.strimzi_cluster)
        if kafka.problem:
            raise PreflightError(f"{src}: {kafka.problem}")
        found.append(f"Strimzi Kafka {ns}/{kube.strimzi_cluster} ({GROUP}/{kafka.version})")
    core = client.CoreV1Api(api)
    try:
        zones_of = node_zones(core, kube.zone_label)
    except ActuatorError as exc:
        raise PreflightError(f"{src}: {exc}") from None
    pod_zone: dict[tuple[str, str], str | None] = {}
    for role, selector in kube.selectors.items():
        ns = kube.namespace_of(role)
        try:
            by_zone = pods_by_zone(core, ns, selector, kube.zone_label, zones_of)
        except Exception as exc:
            raise PreflightError(f"{src}: pods in {ns} cannot be listed ({reason(exc)})") from None
        count = sum(len(v) for v in by_zone.values())
        want = kube.expected.get(role)
        if want is not None and count != want:
            raise PreflightError(f"{src}: kubernetes.selectors.{role} ({selector}) matches {count} pods in {ns}, "
                                 f"expected {want}; fix the selector or kubernetes.expected.{role}")
        stray = sorted(str(z) for z in by_zone if z not in target.zones)
        if stray:
            pods = [p for z in by_zone if z not in target.zones for p in by_zone[z]]
            raise PreflightError(f"{src}: {role} pods {pods} run in zone(s) {', '.join(stray)} (node label "
                                 f"{kube.zone_label}), not in the target's zones {list(target.zones)}; fix `zones`")
        if role == "broker":
            empty = [z for z in target.zones if not by_zone.get(z)]
            if empty:
                raise PreflightError(f"{src}: no broker pod runs in zone(s) {', '.join(empty)} ({selector} in {ns}); "
                                     "a zone fault there would hit nothing: fix `zones` or the selector")
        for z, pods in by_zone.items():
            for p in pods:
                pod_zone[(ns, p)] = z
        found.append(f"{role}: {count} pods, " + ", ".join(f"{z}: {len(v)}" for z, v in sorted(by_zone.items(),
                                                                                              key=str)))
    from .actuator import KubernetesActuator
    for n in target.nodes:
        if n.actuator.type != "kubernetes":
            continue
        act = KubernetesActuator(n.name, n.actuator, n.role, n.bounded_disk)
        try:
            act.connect()
        except ActuatorError as exc:
            raise PreflightError(f"{src}: {exc}") from None
        ns = act.namespace
        z = pod_zone.get((ns, act.pod_name))
        if z is None:
            z = zones_of.get(act.node_name() or "")
        sel_role = ROLE_SELECTOR.get(n.role)
        if sel_role in kube.selectors and (ns, act.pod_name) not in pod_zone:
            raise PreflightError(f"{src}: node {n.name} is pod {ns}/{act.pod_name}, which kubernetes.selectors."
                                 f"{sel_role} does not match; fix the node's actuator or the selector")
        if n.zone is not None and z != n.zone:
            raise PreflightError(f"{src}: node {n.name} says zone {n.zone} but its pod {ns}/{act.pod_name} runs on "
                                 f"node {act.node_name()} in zone {z}; fix nodes.{n.name}.zone")
    if kube.flink_deployment:
        from .flinkop import FlinkOperator
        try:
            st = FlinkOperator(api, kube.flink_namespace, kube.flink_deployment).status()
        except ActuatorError as exc:
            raise PreflightError(f"{src}: {exc}") from None
        found.append(f"FlinkDeployment {kube.flink_namespace}/{kube.flink_deployment}: {st}")
    return found

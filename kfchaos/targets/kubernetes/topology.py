"""Zones of a Kubernetes target: which pods run in which zone (from their node's
``topology.kubernetes.io/zone`` label), Chaos Mesh selectors for zone faults, and which
pods a Chaos Mesh selector selects (the same rules Chaos Mesh applies: namespaces, label
selectors, node selectors, pod names), so a zone cut can be checked before it is made."""
from __future__ import annotations

from ..actuators import ActuatorError
from . import chaos
from .client import reason
from .config import KubeSpec, parse_selector


def node_zones(core, zone_label: str) -> dict[str, str | None]:
    """node name -> its zone label (None if it has none)."""
    try:
        nodes = core.list_node().items
    except Exception as exc:
        raise ActuatorError(f"kubernetes: nodes cannot be listed ({reason(exc)}); the harness reads zones from "
                            f"the nodes' {zone_label} label (ClusterRole: get, list nodes)") from None
    return {n.metadata.name: (n.metadata.labels or {}).get(zone_label) for n in nodes}


def pods_by_zone(core, namespace: str, selector: str, zone_label: str,
                 zones_of_nodes: dict[str, str | None] | None = None) -> dict[str | None, list[str]]:
    zones_of_nodes = zones_of_nodes if zones_of_nodes is not None else node_zones(core, zone_label)
    out: dict[str | None, list[str]] = {}
    for p in core.list_namespaced_pod(namespace, label_selector=selector).items:
        if p.metadata.deletion_timestamp:
            continue
        out.setdefault(zones_of_nodes.get(p.spec.node_name), []).append(p.metadata.name)
    return {z: sorted(v) for z, v in out.items()}


def selected_pods(core, selector: dict) -> list[tuple[str, str]]:
    """(namespace, name) of the pods a Chaos Mesh selector selects (mode: all)."""
    if "pods" in selector:
        found = []
        for ns, names in selector["pods"].items():
            for name in names:
                try:
                    core.read_namespaced_pod(name, ns)
                    found.append((ns, name))
                except Exception:
                    pass
        return sorted(found)
    labels = ",".join(f"{k}={v}" for k, v in (selector.get("labelSelectors") or {}).items())
    wanted_nodes = None
    if selector.get("nodeSelectors"):
        node_sel = ",".join(f"{k}={v}" for k, v in selector["nodeSelectors"].items())
        wanted_nodes = {n.metadata.name for n in core.list_node(label_selector=node_sel).items}
    found = []
    for ns in selector.get("namespaces") or []:
        for p in core.list_namespaced_pod(ns, label_selector=labels or None).items:
            if p.metadata.deletion_timestamp:
                continue
            if wanted_nodes is not None and p.spec.node_name not in wanted_nodes:
                continue
            found.append((ns, p.metadata.name))
    return sorted(found)


def groups(kube: KubeSpec) -> dict[str, tuple[str, dict[str, str]]]:
    """The pod groups zone faults act on: kafka (labels common to brokers and controllers) and
    flink (common to JobManager and TaskManagers), each as (namespace, labels)."""
    def common(*roles: str) -> dict[str, str]:
        maps = [parse_selector(kube.selectors[r]) for r in roles if r in kube.selectors]
        if not maps:
            return {}
        shared = {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])}
        return shared or maps[0]
    out = {"kafka": (kube.namespace, common("broker", "controller"))}
    flink = common("jobmanager", "taskmanager")
    if flink:
        out["flink"] = (kube.flink_namespace, flink)
    return out


def in_zone(kube: KubeSpec, group: str, zone: str) -> dict:
    ns, labels = groups(kube)[group]
    return chaos.zone_selector(ns, labels, zone, kube.zone_label)


def cut_between(kube: KubeSpec, zone: str, other: str, direction: str = "both") -> list[tuple[str, dict]]:
    """NetworkChaos partitions between every group's pods in ``zone`` and every group's pods in
    ``other``: one resource per group pair."""
    specs = []
    names = list(groups(kube))
    for i, g1 in enumerate(names):
        for g2 in names[i:]:
            specs.append(chaos.partition(in_zone(kube, g1, zone), in_zone(kube, g2, other), direction))
            if g1 != g2:
                specs.append(chaos.partition(in_zone(kube, g2, zone), in_zone(kube, g1, other), direction))
    return specs


def zone_cut(kube: KubeSpec, zone: str) -> list[tuple[str, dict]]:
    """``zone`` cut from each other zone, both directions."""
    return [s for other in kube.zones if other != zone for s in cut_between(kube, zone, other)]


def one_way_cut(kube: KubeSpec, from_zone: str, to_zone: str, group: str = "kafka") -> tuple[str, dict]:
    """Packets from ``from_zone``'s pods to ``to_zone``'s are dropped; the other way works."""
    return chaos.partition(in_zone(kube, group, from_zone), in_zone(kube, group, to_zone), "to")


def object_storage_outage(kube: KubeSpec, zone: str, hosts: list[str]) -> tuple[str, dict]:
    group = "flink" if "flink" in groups(kube) else "kafka"
    return chaos.partition(in_zone(kube, group, zone), None, "to", external=hosts)

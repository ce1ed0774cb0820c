"""The network faults of the fault library, made with Chaos Mesh on a Kubernetes target.

``ExternalPlatform.fault_class(name)`` hands these to the nemesis instead of the iptables
versions when the target has a ``kubernetes`` section: same names, targets and params
(``isolate-zone`` zone:<z>, ``one-way`` zone:<z>, ``partition`` params.groups,
``isolate-object-storage`` brokers|flink|zone:<z>). Proof of effect: every resource reports
``Selected`` and ``AllInjected`` (else the fault did not start, and every resource made so
far is removed; ``params.inject_timeout_s`` overrides ``kubernetes.chaos_timeout``); proof of
heal: ``AllRecovered``, then the resource is gone.
"""
from __future__ import annotations

from itertools import combinations
from typing import Any
from urllib.parse import urlparse

from kfchaos.faults.base import Fault, FaultError

from . import chaos, topology


class ChaosMeshFault(Fault):
    name = ""

    def specs(self) -> list[tuple[str, dict]]:
        raise NotImplementedError

    @property
    def mesh(self) -> chaos.ChaosMesh:
        mesh = getattr(self.platform, "chaos_mesh", None)
        if mesh is None:
            raise FaultError(f"{self.name}: this platform has no Chaos Mesh (not a Kubernetes target)")
        return mesh

    @property
    def kube(self):
        return self.platform.target.kubernetes

    def setup(self) -> None:
        self.made: list[chaos.ChaosResource] = []
        self.planned = self.specs()

    def start(self) -> dict[str, Any]:
        label = f"{self.name}-{(self.spec.target or '').replace(':', '-')}".strip("-")
        try:
            for spec in self.planned:
                self.made.append(self.mesh.start(label, spec, timeout=self.params.get("inject_timeout_s")))
        except chaos.FaultDidNotStart as exc:
            self.teardown()
            raise FaultError(str(exc)) from None
        return {"target": self.spec.target, "detail": f"{len(self.made)} Chaos Mesh resources injected",
                "proof": {"resources": [f"{r.kind}/{r.name}" for r in self.made],
                          "injected_after_s": [round(r.injected_after or 0, 2) for r in self.made]}}

    def stop(self) -> dict[str, Any]:
        problems = [p for p in (self.mesh.heal(r) for r in self.made) if p]
        healed = [f"{r.kind}/{r.name}" for r in self.made if r.recovered_after is not None]
        self.made = []
        if problems:
            raise FaultError(f"{self.name}: heal incomplete: {'; '.join(problems)}")
        return {"detail": "every resource reported AllRecovered and was deleted", "proof": {"recovered": healed}}

    def teardown(self) -> None:
        for r in list(self.made):
            self.mesh.heal(r)
        self.made = []


def _zone(spec, default: str) -> str:
    return (spec.target or default).removeprefix("zone:")


class IsolateZone(ChaosMeshFault):
    name = "isolate-zone"
    default_target = "zone:c"

    def specs(self):
        return topology.zone_cut(self.kube, _zone(self.spec, self.default_target))


class OneWay(ChaosMeshFault):
    """zone:<z> stops receiving from the other zones: their packets to z are dropped."""
    name = "one-way"
    default_target = "zone:c"

    def specs(self):
        z = _zone(self.spec, self.default_target)
        return [s for other in self.kube.zones if other != z for s in topology.cut_between(self.kube, other, z, "to")]


class Partition(ChaosMeshFault):
    name = "partition"

    def specs(self):
        groups = self.params.get("groups")
        if not groups:
            raise FaultError("partition: params.groups is required, e.g. [['a'], ['b', 'c']]")
        return [s for g1, g2 in combinations(groups, 2) for za in g1 for zb in g2
                for s in topology.cut_between(self.kube, za, zb)]


class IsolateObjectStorage(ChaosMeshFault):
    name = "isolate-object-storage"
    default_target = "brokers"

    def specs(self):
        s3 = self.platform.target.s3
        if s3 is None:
            raise FaultError("isolate-object-storage: the target has no s3.endpoint to cut")
        host = urlparse(s3.endpoint).hostname
        target = self.spec.target or self.default_target
        groups = topology.groups(self.kube)
        if target.startswith("zone:"):
            return [topology.object_storage_outage(self.kube, target[5:], [host])]
        group = {"brokers": "kafka", "flink": "flink"}.get(target)
        if group not in groups:
            raise FaultError(f"isolate-object-storage: target must be brokers, flink or zone:<z>, got {target!r}")
        ns, labels = groups[group]
        return [chaos.partition({"namespaces": [ns], "labelSelectors": labels}, None, "to", external=[host])]


class ZoneLoss(ChaosMeshFault):
    """zone:<z> loses ``probability`` of the Kafka packets the other zones send it."""
    name = "zone-loss"
    default_target = "zone:c"

    def specs(self):
        z, p = _zone(self.spec, self.default_target), float(self.params.get("probability", 0.3))
        if not 0 < p <= 1:
            raise FaultError(f"zone-loss: probability must be in (0, 1], got {p}")
        return [chaos.loss(topology.in_zone(self.kube, "kafka", o), round(p * 100, 2),
                           target=topology.in_zone(self.kube, "kafka", z)) for o in self.kube.zones if o != z]


class ZoneBandwidth(ChaosMeshFault):
    """zone:<z>'s Kafka pods' egress limited to ``rate`` (tc units: 1mbit, 100kbps, ...)."""
    name = "zone-bandwidth"
    default_target = "zone:c"

    def specs(self):
        z = _zone(self.spec, self.default_target)
        return [chaos.bandwidth(topology.in_zone(self.kube, "kafka", z), str(self.params.get("rate", "1mbit")))]


class ZoneLatency(ChaosMeshFault):
    """``delay_ms`` (± ``jitter_ms``) between two zones' Kafka pods, both ways (target a-b or zone:<z>)."""
    name = "zone-latency"
    default_target = "a-b"

    def specs(self):
        from kfchaos.faults.degrade import zone_pairs
        pairs = zone_pairs(self.platform, self.spec.target or self.default_target)
        d, j = int(self.params.get("delay_ms", 100)), int(self.params.get("jitter_ms", 0))
        return [chaos.delay(topology.in_zone(self.kube, "kafka", a), d, j, target=topology.in_zone(self.kube, "kafka", b))
                for a, b in pairs]


FAULTS: dict[str, type[Fault]] = {c.name: c for c in (IsolateZone, OneWay, Partition, IsolateObjectStorage, ZoneLoss,
                                                      ZoneBandwidth, ZoneLatency)}


def plan_lines(target, spec) -> list[str] | None:
    """The dry run of a Chaos Mesh fault: the resources it would create, then the heal (None: not one)."""
    cls = FAULTS.get(spec.fault)
    if cls is None or target.kubernetes is None:
        return None
    from types import SimpleNamespace
    from .client import kubectl_prefix
    fault = cls(SimpleNamespace(target=target, zones=target.zones), spec)
    try:
        specs = fault.specs()
    except FaultError as exc:
        return [f"# not made: {exc}"]
    k = f"{kubectl_prefix(target.kubernetes)} -n {target.kubernetes.chaos_namespace}"
    out = []
    for kind, body in specs:
        what = _describe(body)
        out.append(f"{k} create -f -   # {kind} {body['action']} {what}, labelled {chaos.RUN_LABEL}=<run>; wait for "
                   "Selected+AllInjected")
    out.append(f"{k} annotate {','.join(sorted({chaos.KINDS[kind] for kind, _ in specs}))} -l {chaos.RUN_LABEL}=<run> "
               f"{chaos.PAUSE_ANNOTATION}=true; wait for AllRecovered; then delete them   # heal")
    return out


def _describe(body: dict) -> str:
    def side(sel: dict) -> str:
        zone = next(iter((sel.get("nodeSelectors") or {}).values()), None)
        labels = ",".join(f"{k}={v}" for k, v in (sel.get("labelSelectors") or {}).items())
        pods = sel.get("pods")
        if pods:
            return ", ".join(f"{ns}/{n}" for ns, names in pods.items() for n in names)
        return f"[{labels}]" + (f" in zone {zone}" if zone else "")
    text = side(body["selector"])
    if body.get("target"):
        text += f" {'<->' if body.get('direction') == 'both' else '->'} {side(body['target']['selector'])}"
    if body.get("externalTargets"):
        text += f" -> {', '.join(body['externalTargets'])}"
    return text

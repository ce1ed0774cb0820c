"""Network partitions between zones, made with iptables inside the containers.

A zone's members are its broker, its Toxiproxy and (for the Flink zone) the Flink
processes. Cutting zone X from zone Y drops packets between every member of X and every
member of Y, in both directions, so the proxied inter-broker paths (which leave X
through X's Toxiproxy) are cut as well, and nothing else is.

- ``partition``: params.groups, e.g. [["a"], ["b", "c"]]; every pair of groups is cut.
  Clients (the host, through the Docker gateway) stay with the largest group: members
  of the other groups drop their traffic too, as clients in the majority zones would
  lose the cut-off zone (params.cut_clients, default true).
- ``isolate-zone``: target zone:<z>; the zone against all other zones.
- ``one-way``: target zone:<z>; z stops *receiving* from the other zones (INPUT only).
- ``isolate-object-storage``: target ``brokers``, ``flink`` or zone:<z>; those nodes
  lose MinIO, directly and through their zone's s3 proxy.
Proof: TCP probes across the cut time out (direct and through the proxy) and probes
inside a side still connect; heal proves the cut paths connect again.
"""
from __future__ import annotations

import uuid

from itertools import combinations
from typing import Any

from kfchaos.platform.config import S3_PORT

from .base import Fault, FaultError
from .netrules import Rules, probe_tcp
from .package import PALETTE, FaultPackage


class ZoneCut(Fault):
    name = "partition"
    inbound_only = False

    def groups(self) -> list[list[str]]:
        groups = self.params.get("groups")
        if not groups:
            raise FaultError("partition: params.groups is required, e.g. [['a'], ['b', 'c']]")
        return [list(g) for g in groups]

    def setup(self) -> None:
        zones = set(self.platform.zones)
        self.sides = self.groups()
        for g in self.sides:
            bad = set(g) - zones
            if bad:
                raise FaultError(f"{self.name}: unknown zone(s) {sorted(bad)}; zones are {sorted(zones)}")
        self.rules = Rules(tag=f"chaos-{self.platform.run_id}-{self.name}-{uuid.uuid4().hex[:8]}")
        self.net = self.platform.network_name

    def _members(self, zones: list[str]):
        return [n for z in zones for n in self.platform.zone_members(z) if n.running()]

    def _probes(self) -> list[dict]:
        out = []
        for a, b in combinations(self.sides, 2):
            za, zb = a[0], b[0]
            src, dst = self.platform.brokers[za], self.platform.brokers[zb]
            out.append(probe_tcp(src, dst.ip(self.net), 9092))
            # The proxied replication path: a's Toxiproxy to b's broker.
            out.append(probe_tcp(self.platform.toxiproxies[za], dst.ip(self.net),
                                 self.platform.cfg.replication_port(zb)))
        return out

    def _cut_clients(self) -> list[str]:
        if self.inbound_only or not self.params.get("cut_clients", True):
            return []
        majority = max(self.sides, key=len)
        gateway = self.platform.gateway_ip()
        return [(node, ["INPUT", "-s", gateway]) for side in self.sides if side is not majority
                for node in self._members(side)]

    def start(self) -> dict[str, Any]:
        plan: dict[object, list[list[str]]] = {}
        client_rules = self._cut_clients()
        for node, rule in client_rules:
            plan.setdefault(node, []).append(rule)
        for a, b in combinations(self.sides, 2):
            for side, other in ((a, b), (b, a)):
                if self.inbound_only and side != self.sides[0]:
                    continue
                peer_ips = [m.ip(self.net) for m in self._members(other)]
                for node in self._members(side):
                    for ip in peer_ips:
                        plan.setdefault(node, []).append(["INPUT", "-s", ip])
                        if not self.inbound_only:
                            plan.setdefault(node, []).append(["OUTPUT", "-d", ip])
        self.rules.add_batch(plan)
        clients_cut_from = [n.name for n, _ in client_rules]
        probes = self._probes()
        if self.inbound_only:
            # z drops inbound traffic: connections from the other zones into z time out.
            probes = [probe_tcp(self.platform.brokers[b[0]], self.platform.brokers[self.sides[0][0]].ip(self.net),
                                9092) for b in self.sides[1:]]
        leaked = [p for p in probes if p["connected"]]
        if leaked:
            raise FaultError(f"{self.name}: cut paths still connect: {leaked}")
        return {"target": self.sides, "detail": f"{len(self.rules.added)} iptables rules cut {self.sides}",
                "proof": {"probes": probes, "rules": len(self.rules.added), "clients_cut_from": clients_cut_from}}

    def stop(self) -> dict[str, Any]:
        problems = self.rules.remove_all()
        probes = self._probes()
        blocked = [p for p in probes if not p["connected"]]
        if problems or blocked:
            raise FaultError(f"{self.name}: heal incomplete: {problems or blocked}")
        return {"detail": "removed every rule", "proof": {"probes": probes}}

    def teardown(self) -> None:
        self.rules.remove_all()


class IsolateZone(ZoneCut):
    name = "isolate-zone"
    default_target = "zone:c"

    def groups(self) -> list[list[str]]:
        target = (self.spec.target or self.default_target).removeprefix("zone:")
        return [[target], [z for z in self.platform.zones if z != target]]


class OneWay(IsolateZone):
    name = "one-way"
    inbound_only = True


class IsolateObjectStorage(Fault):
    name = "isolate-object-storage"
    default_target = "brokers"

    def setup(self) -> None:
        target = self.spec.target or self.default_target
        p = self.platform
        if target == "brokers":
            self.nodes = list(p.brokers.values())
        elif target == "flink":
            self.nodes = [p.flink_jobmanager, *p.flink_taskmanagers]
        elif target.startswith("zone:"):
            self.nodes = p.zone_members(target[5:])
        else:
            raise FaultError(f"isolate-object-storage: target must be brokers, flink or zone:<z>, got {target!r}")
        self.rules = Rules(tag=f"chaos-{p.run_id}-s3-{uuid.uuid4().hex[:8]}")
        self.net = p.network_name

    def _probe(self, node) -> list[dict]:
        proxy = self.platform.toxiproxies[node.zone].ip(self.net) if node.zone else None
        out = [probe_tcp(node, self.platform.minio.ip(self.net), S3_PORT)]
        if proxy and node.role != "toxiproxy":
            out.append(probe_tcp(node, proxy, S3_PORT))
        return out

    def start(self) -> dict[str, Any]:
        minio_ip = self.platform.minio.ip(self.net)
        for n in self.nodes:
            self.rules.drop_between(n, minio_ip)
            if n.zone and n.role != "toxiproxy":
                proxy = self.platform.toxiproxies[n.zone].ip(self.net)
                self.rules.add(n, "OUTPUT", "-d", proxy, "-p", "tcp", "--dport", str(S3_PORT))
        probes = [p for n in self.nodes if n.role != "toxiproxy" for p in self._probe(n)]
        if any(p["connected"] for p in probes):
            raise FaultError(f"isolate-object-storage: S3 still reachable: {probes}")
        return {"target": [n.name for n in self.nodes], "detail": "object storage unreachable",
                "proof": {"probes": probes}}

    def stop(self) -> dict[str, Any]:
        problems = self.rules.remove_all()
        probes = [p for n in self.nodes if n.role != "toxiproxy" for p in self._probe(n)]
        if problems or not all(p["connected"] for p in probes):
            raise FaultError(f"isolate-object-storage: heal incomplete: {problems or probes}")
        return {"detail": "object storage reachable", "proof": {"probes": probes}}

    def teardown(self) -> None:
        self.rules.remove_all()


def check_groups(params: dict, zones) -> str | None:
    """``partition``'s params.groups: two or more disjoint, non-empty lists of zones."""
    groups = params.get("groups")
    shape_ok = isinstance(groups, (list, tuple)) and len(groups) >= 2 and all(
        isinstance(g, (list, tuple)) and g and all(isinstance(z, str) for z in g) for g in groups)
    if not shape_ok:
        return 'params.groups must be two or more non-empty lists of zones, e.g. [["a"], ["b", "c"]]'
    flat = [z for g in groups for z in g]
    if len(set(flat)) != len(flat):
        return f"params.groups {groups}: a zone is in more than one group"
    unknown = sorted(set(flat) - set(zones)) if zones is not None else []
    if unknown:
        return f"params.groups: unknown zone(s) {unknown}; zones are {list(zones)}"
    return None


def _cut(cls: type[Fault], targets: tuple[str, ...], menu: tuple[str, ...] = (), check=None) -> FaultPackage:
    return FaultPackage(cls, targets, menu, colour=PALETTE["partition"], family="partition", check_params=check)


PACKAGES = (
    _cut(ZoneCut, ("zone:{zone}",), check=check_groups),        # the target is a label; params.groups cut
    _cut(IsolateZone, ("zone:{zone}",), ("zone:{zone}",)),
    _cut(OneWay, ("zone:{zone}",), ("zone:{zone}",)),
    _cut(IsolateObjectStorage, ("brokers", "flink", "zone:{zone}")),
)

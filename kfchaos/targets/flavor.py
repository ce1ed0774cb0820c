"""What an external target can do: the flavor-like object scenarios and faults ask.

Capabilities are of two kinds: Kafka features (``kfchaos.platform.flavors.FEATURES``:
what the cluster has) and actuator capabilities (``kfchaos.targets.actuators``: what the
harness may do to its nodes). ``touches(spec)`` says, for one fault spec, which
capability it needs, which nodes it would act on and how many at once; the dry run
prints the same answer. A fault the target cannot take is "not applicable" with the
reason (a capability missing on a node, a node outside ``limits.touchable``, more nodes
at once than ``limits.max_nodes_per_fault``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from kfchaos.platform.flavors import FEATURES

from .actuators import (BANDWIDTH, CLEAN_RESTART, DELAY, DISK_FULL, FLINK_KILL, KILL, LOSS, OBJECT_STORAGE_OUTAGE,
                        ONE_WAY_CUT, PAUSE, ZONE_CUT)
from .schema import Target

FAULT_CAPABILITY = {
    "kill": KILL, "pause": PAUSE, "freeze": PAUSE, "clean-restart": CLEAN_RESTART, "rolling-restart": CLEAN_RESTART,
    "flink-kill": FLINK_KILL, "disk-full": DISK_FULL, "partition": ZONE_CUT, "isolate-zone": ZONE_CUT,
    "one-way": ONE_WAY_CUT, "isolate-object-storage": OBJECT_STORAGE_OUTAGE, "zone-loss": LOSS,
    "zone-bandwidth": BANDWIDTH, "zone-latency": DELAY, "backfill": None,
}
NOT_SUPPORTED = {
    "replace-broker": "replace-broker deletes a broker with its data; the harness never deletes data of a platform "
                      "it did not start",
}
BROKER_FAULTS = ("kill", "pause", "freeze", "clean-restart", "rolling-restart", "disk-full")
SEQUENTIAL = ("rolling-restart",)


@dataclass
class Touch:
    """What one fault spec would do on a target."""
    fault: str
    capability: str | None
    nodes: list[str] = field(default_factory=list)      # nodes acted on (rules added, process signalled, ...)
    at_once: int = 0                                     # nodes stopped, paused or cut off at the same time
    toxiproxy_zones: list[str] = field(default_factory=list)
    problem: str | None = None                           # why the target cannot take it


def _default_target(name: str) -> str:
    from kfchaos.faults import registry
    try:
        return registry.package(name).cls.default_target
    except Exception:
        return ""


def zone_members(target: Target, zone: str) -> list[str]:
    return [n.name for n in target.nodes if n.zone == zone and n.role != "object-store"]


def touches(target: Target, spec) -> Touch:
    """Which capability, nodes and Toxiproxies a fault spec would use on ``target``."""
    name = spec.fault
    t = Touch(name, FAULT_CAPABILITY.get(name))
    if name in NOT_SUPPORTED:
        t.problem = NOT_SUPPORTED[name]
        return t
    tgt = spec.target or _default_target(name)
    kind, _, rest = tgt.partition(":")
    brokers = {n.zone: n.name for n in target.nodes if n.is_broker}
    if name in BROKER_FAULTS:
        if kind in ("zone", "broker"):
            if rest not in brokers:
                t.problem = f"target {tgt}: no broker in zone {rest!r}"
                return t
            t.nodes = [brokers[rest]]
        else:
            t.nodes = list(brokers.values())        # random, controller, leader: any broker may be chosen
        t.at_once = len(t.nodes) if kind == "all" and name not in SEQUENTIAL else 1
    elif name == "flink-kill":
        role = "jobmanager" if tgt == "jobmanager" else "taskmanager"
        found = [n.name for n in target.with_role(role)]
        index = int(spec.params.get("index", 0)) if role == "taskmanager" else 0
        if len(found) <= index:
            t.problem = f"the target file names no {role} node{f' {index}' if index else ''} to kill"
            return t
        t.nodes, t.at_once = [found[index]], 1
    elif name in ("partition", "isolate-zone", "one-way"):
        groups = spec.params.get("groups") if name == "partition" else [[rest], [z for z in target.zones if z != rest]]
        if not groups or any(z not in target.zones for g in groups for z in g):
            t.problem = f"{name}: zones {groups} are not all zones of the target {list(target.zones)}"
            return t
        t.nodes = [m for g in groups for z in g for m in zone_members(target, z)]
        smaller = sorted(groups, key=len)[:-1] if name == "partition" else [groups[0]]
        t.at_once = sum(len(zone_members(target, z)) for g in smaller for z in g)
    elif name == "isolate-object-storage":
        if target.s3 is None:
            t.problem = "the target has no object store (s3 section)"
            return t
        if tgt == "brokers":
            t.nodes = list(brokers.values())
        elif tgt == "flink":
            t.nodes = [n.name for n in target.with_role("jobmanager", "taskmanager")]
        else:
            t.nodes = zone_members(target, rest)
        t.at_once = len(t.nodes)
        if not target.with_role("object-store"):
            t.problem = "no node of the file is the object store (role object-store), so its address is unknown"
    elif name in ("zone-loss", "zone-bandwidth"):
        t.nodes = zone_members(target, rest)
        t.at_once = len(t.nodes)
    elif name == "zone-latency":
        t.capability = None
        pairs = ([(rest, o) for o in target.zones if o != rest] if kind == "zone"
                 else [tuple(tgt.split("-", 1))])
        t.toxiproxy_zones = sorted({z for p in pairs for z in p})
        if target.toxiproxy.replication_port_base is None:
            t.problem = ("delay between zones goes through the zones' Toxiproxies: set toxiproxy.api and "
                         "toxiproxy.replication_port_base (the platform must route replication through them)")
    elif name.startswith(("client-", "s3-")):
        t.toxiproxy_zones = list(target.zones) if tgt == "all" else [rest]
        if name.startswith("s3-") and target.toxiproxy.s3_port is None:
            t.problem = "object-storage faults through Toxiproxy need toxiproxy.s3_port (its s3-<zone> proxies)"
    elif name not in FAULT_CAPABILITY:
        t.problem = f"the harness does not know how to run {name} on an external target"
    missing_api = [z for z in t.toxiproxy_zones if z not in target.toxiproxy.api]
    if missing_api and not t.problem:
        t.problem = f"{name} needs the Toxiproxy API of zone(s) {missing_api}: set toxiproxy.api"
    return t


class TargetFlavor:
    """The flavor of an external target (what ``Scenario.not_applicable`` and
    ``ScenarioRun.require_faults`` ask)."""
    kind = "external"
    image_role = ""

    def __init__(self, target: Target, node_caps=None):
        self.target = target
        self._node_caps = node_caps or (lambda name: {})       # node name -> {capability: reason|None}
        self.tool_libs = target.kafka.tools_classpath or ""
        self.lacks = {"log-in-object-storage": "a target file does not say that its brokers keep their log in "
                                               "object storage, so object-storage faults cannot reach the write path"}
        if not target.kafka.tools_classpath:
            self.lacks["admin-tools"] = ("the target file gives no kafka.tools_classpath (where Kafka's jars are on "
                                         "the broker nodes), so Kafka's command-line tools cannot run there")
            self.lacks["controller-quorum"] = ("finding the active controller needs Kafka's tools on a broker node: "
                                               "set kafka.tools_classpath (e.g. /opt/kafka/libs)")
        brokers = [n for n in target.nodes if n.is_broker]
        self.data_dirs = tuple(dict.fromkeys(n.data_dir for n in brokers if n.data_dir)) or ("/var/lib/kafka/data",)

    @property
    def capabilities(self) -> frozenset[str]:
        kafka = set(FEATURES) - set(self.lacks)
        acts = {c for n in self.target.nodes if self.target.touchable(n.name)
                for c, why in self._node_caps(n.name).items() if why is None}
        return frozenset(kafka | acts)

    def missing(self, *features: str) -> str | None:
        for f in features:
            if f in self.lacks:
                return f"external target {self.target.name} lacks {f}: {self.lacks[f]}"
            if f not in FEATURES and f not in self.capabilities and f in FAULT_CAPABILITY.values():
                return f"external target {self.target.name} lacks {f}: no touchable node's actuator can do it"
        return None

    def fault_not_applicable(self, spec) -> str | None:
        from kfchaos.platform.flavors import fault_needs
        reason = self.missing(*fault_needs(spec))
        if reason:
            return reason
        t = touches(self.target, spec)
        if t.problem:
            return t.problem
        for name in t.nodes:
            if not self.target.touchable(name):
                return f"{spec.fault} would act on {name}, which limits.touchable leaves out"
            why = self._node_caps(name).get(t.capability) if t.capability else None
            if why:
                return f"{spec.fault} needs {t.capability} on {name}: {why}"
        if t.at_once > self.target.limits.max_nodes_per_fault:
            return (f"{spec.fault}({spec.target or 'default'}) stops or cuts off {t.at_once} nodes at once; "
                    f"limits.max_nodes_per_fault is {self.target.limits.max_nodes_per_fault}")
        return None

    def buckets(self, cfg) -> tuple[str, ...]:
        return (self.target.s3.bucket,) if self.target.s3 else ()

    def broker_ids(self, platform):
        return None

    def tool_command(self, tool: str, args: list[str]) -> list[str]:
        """The command that runs a Kafka tool on a broker node; with client security it reads its
        client properties from standard input (``tool_input``; see :mod:`.tool_security`)."""
        from kfchaos.platform.flavors import KAFKA_TOOLS, FlavorError
        from .tool_security import tool_script
        if "admin-tools" in self.lacks:
            raise FlavorError(f"cannot run {tool}: {self.lacks['admin-tools']}")
        cls = KAFKA_TOOLS.get(tool, tool)
        secured = self.target.kafka.security.protocol != "PLAINTEXT"
        return ["sh", "-c", tool_script(self.tool_libs, cls, args, tool, secured)]

    def tool_input(self) -> bytes | None:
        """What a tool's standard input gets: the target's client properties (None for PLAINTEXT)."""
        from .tool_security import tool_properties
        text = tool_properties(self.target.kafka.security)
        return text.encode() if text else None

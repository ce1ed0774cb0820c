"""Resolve a fault target role to concrete brokers, at the moment the fault starts.

Roles: ``leader:<topic>:<partition>`` (that partition's leader), ``controller`` (the
active KRaft controller, as ``Platform.controller_id`` finds it), ``random`` (a
running broker), ``zone:<z>`` / ``broker:<z>`` (the broker of zone z), ``all`` (every broker).
"""
from __future__ import annotations

from kfchaos.platform.waits import NotReady, Wait

from .base import FaultError


def zone_of_node_id(platform, node_id: int) -> str:
    for z in platform.zones:
        if platform.cfg.node_id(z) == node_id:
            return z
    raise FaultError(f"no zone has broker id {node_id}")


def partition_leader(platform, topic: str, partition: int, timeout: float = 20.0) -> int:
    """The partition's leader id. A broker that just restarted or a topic just created may
    answer UNKNOWN_TOPIC_OR_PART or leader -1 for a few seconds: asked again until
    ``timeout``, then a FaultError naming the last answer."""
    found: dict[str, int] = {}

    def probe() -> tuple[bool, str]:
        t = platform.admin.list_topics(topic, timeout=10).topics.get(topic)
        if t is None or t.error is not None or partition not in t.partitions:
            return False, f"no such topic partition ({t.error if t else 'absent'})"
        if t.partitions[partition].leader < 0:
            return False, "the partition has no leader right now"
        found["leader"] = t.partitions[partition].leader
        return True, f"leader {found['leader']}"
    try:
        Wait(f"a leader for {topic}:{partition}", probe, timeout=timeout).until_ready()
    except NotReady as exc:
        raise FaultError(f"target leader:{topic}:{partition}: {exc}") from None
    return found["leader"]


def active_controller(platform) -> int:
    """The KRaft quorum leader, as the platform asks its metadata quorum."""
    try:
        return platform.controller_id()
    except Exception as exc:   # not running, no quorum on this kind, tool failed
        raise FaultError(f"target controller: {exc}") from None


def resolve(platform, target: str, rng) -> list[str]:
    """Zones whose broker is the target."""
    kind, _, rest = target.partition(":")
    if kind == "leader":
        topic, _, p = rest.rpartition(":")
        return [zone_of_node_id(platform, partition_leader(platform, topic, int(p)))]
    if kind == "controller":
        return [zone_of_node_id(platform, active_controller(platform))]
    if kind == "random":
        running = [z for z in platform.zones if platform.brokers[z].running()]
        if not running:
            raise FaultError("target random: no broker is running")
        return [rng.choice(running)]
    if kind in ("zone", "broker"):
        if rest not in platform.zones:
            raise FaultError(f"target {target}: unknown zone {rest!r}; zones are {list(platform.zones)}")
        return [rest]
    if kind == "all":
        return list(platform.zones)
    raise FaultError(f"unknown target {target!r}: use leader:<topic>:<p>, controller, random, zone:<z> or all")

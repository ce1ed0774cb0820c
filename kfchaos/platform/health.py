"""Cluster health checks used as fault proofs and after healing.

Each function waits (bounded) for a condition and returns how long it took, or raises
``NotReady`` with what it last saw.
"""
from __future__ import annotations

from .waits import Wait


def broker_ids(platform) -> list[int]:
    flavor = getattr(platform, "flavor", None)
    ids = flavor.broker_ids(platform) if flavor is not None else None
    if ids is not None:       # a kind whose metadata does not name brokers per zone (Tansu)
        return ids
    # Metadata is answered by any broker, unlike DescribeCluster, which librdkafka routes
    # to a cached controller id that may be the very broker that is down.
    return sorted(platform.admin.list_topics(timeout=5).brokers)


RESTART_FLOOR_S = 120.0


def restart_timeout(platform, floor: float = RESTART_FLOOR_S) -> float:
    """Seconds a heal waits for a restarted process: as long as the platform lets any
    component start (a starved host can take minutes), never less than ``floor``. A slow
    restart is then measured and judged by the recovery budget instead of ending the
    scenario with an error."""
    return max(floor, float(getattr(platform.cfg, "startup_timeout", 0) or 0))


def wait_broker_listed(platform, node_id: int, listed: bool, timeout: float = 60.0, node=None) -> float:
    """Wait until metadata lists (or no longer lists) broker ``node_id``. With ``node``
    (only when waiting for it to come back) a crashed container fails at once, and a
    timeout names its status and last log lines."""
    def probe():
        ids = broker_ids(platform)
        return (node_id in ids) == listed, f"metadata lists brokers {ids}"
    verb = "list" if listed else "drop"
    return Wait(f"metadata to {verb} broker {node_id}", probe, timeout=timeout,
                node=node if listed else None).until_ready()


def under_replicated(platform) -> list[str]:
    md = platform.admin.list_topics(timeout=10)
    out = []
    for t in md.topics.values():
        for p in t.partitions.values():
            if len(p.isrs) < len(p.replicas) or p.leader < 0:
                out.append(f"{t.topic}:{p.id} isr={list(p.isrs)} replicas={list(p.replicas)}")
    return out


def wait_fully_replicated(platform, timeout: float = 120.0) -> float:
    def probe():
        urp = under_replicated(platform)
        return not urp, (f"{len(urp)} under-replicated, e.g. {urp[:3]}" if urp else "all in sync")
    return Wait("every partition to have its full ISR", probe, timeout=timeout).until_ready()


def wait_healthy(platform, timeout: float = 120.0) -> float:
    """All brokers listed and every partition fully replicated."""
    n = len(platform.zones)

    def probe():
        ids = broker_ids(platform)
        if len(ids) < n:
            return False, f"brokers {ids}"
        urp = under_replicated(platform)
        return not urp, f"brokers {ids}; {len(urp)} under-replicated partitions"
    return Wait(f"{n} brokers and no under-replicated partition", probe, timeout=timeout).until_ready()

"""Cross-zone traffic figures from two samples of the zone boundaries' byte counters.

Pure arithmetic over the ``traffic`` operations that :mod:`kfchaos.platform.traffic`
records at a scenario's start and end, and the ``client-bytes`` operations the recording
clients write when they close; ``kfchaos analyze`` recomputes the same figures from the
stored history.

What is counted (see :mod:`kfchaos.platform.traffic`): per zone, bytes of IP packets on
each path that crosses the zone's boundary, keyed ``"<src>-><dst>:<kind>"``:
``a->b:replication`` and ``a->b:controller`` between zones (both directions of every connection, whichever broker
opened it), ``a->storage:object_storage`` / ``storage->a:object_storage``, and
``host->a:client`` / ``a->host:client`` for host clients on the proxied path. An ordered
zone pair's figure sums what the containers of both zones counted for it.

A counter lower at the end than at the start was reset (its container was replaced): its
end value is what it counted since, a lower bound, and ``traffic_counter_resets`` says so.
A counter missing from the start sample counted from 0. MB and GB are 10**6 and 10**9
bytes; prices are per GB and have no built-in default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["Traffic", "path_of", "deltas", "traffic", "figures", "figures_of_ops", "client_bytes",
           "PRICE_KEYS", "MB", "GB"]

MB, GB = 10 ** 6, 10 ** 9
#: profile price key -> the traffic total it prices
PRICE_KEYS = {"cross_zone_per_gb": "cross_zone", "object_storage_per_gb": "object_storage"}


def path_of(key: str) -> tuple[str, str, str] | None:
    """(source, destination, kind) of a counter key ``"<src>-><dst>:<kind>"``, or None."""
    route, _, kind = key.rpartition(":")
    src, sep, dst = route.partition("->")
    if not (sep and src and dst and kind):
        return None
    return src, dst, kind


def deltas(start: dict[str, dict], end: dict[str, dict]) -> tuple[dict[tuple[str, str, str], int], int]:
    """(source, destination, kind) -> bytes between two samples (zone -> counter key -> bytes),
    and how many counters were reset in between."""
    out: dict[tuple[str, str, str], int] = {}
    resets = 0
    for zone in sorted(set(start) | set(end)):
        s, e = start.get(zone) or {}, end.get(zone) or {}
        for key in sorted(set(s) | set(e)):
            path = path_of(key)
            a, b = s.get(key, 0), e.get(key, 0)
            if path is None or not all(isinstance(x, int) for x in (a, b)):
                continue
            if b < a:
                resets += 1
            out[path] = out.get(path, 0) + (b - a if b >= a else b)
    return out, resets


@dataclass(frozen=True)
class Traffic:
    """Bytes per path between two samples."""
    paths: dict[tuple[str, str, str], int] = field(default_factory=dict)
    resets: int = 0

    def total(self, *kinds: str) -> int:
        return sum(n for (_, _, k), n in self.paths.items() if k in kinds)

    @property
    def cross_zone(self) -> int:
        return self.total("replication", "controller")

    @property
    def object_storage(self) -> int:
        return self.total("object_storage")

    @property
    def client(self) -> int:
        return self.total("client")

    def pairs(self, *kinds: str) -> dict[str, int]:
        """``"src->dst"`` -> bytes over the paths of ``kinds`` (every measured path, zeros too)."""
        out: dict[str, int] = {}
        for (src, dst, k), n in sorted(self.paths.items()):
            if k in kinds:
                out[f"{src}->{dst}"] = out.get(f"{src}->{dst}", 0) + n
        return out


def traffic(start: dict[str, dict], end: dict[str, dict]) -> Traffic:
    paths, resets = deltas(start, end)
    return Traffic(paths, resets)


def cost(t: Traffic, prices: dict[str, Any]) -> dict[str, float]:
    """Price of each priced total (bytes / GB * price per GB) and their sum; {} without prices."""
    out = {PRICE_KEYS[k]: getattr(t, PRICE_KEYS[k]) / GB * float(p)
           for k, p in sorted((prices or {}).items()) if k in PRICE_KEYS and p is not None}
    if out:
        out["total"] = sum(out.values())
    return {k: _sig(v) for k, v in out.items()}


def _sig(x: float) -> float:
    """Four significant digits: a short run's cost is a fraction of a cent."""
    return float(f"{x:.4g}")


def per_mb(n: int, of_bytes: int | None, what: str) -> float | str:
    if not of_bytes:
        return f"no records {what}"
    return round(n / (of_bytes / MB), 1)


def figures(start: dict[str, Any] | None, end: dict[str, Any] | None,
            produced: int | None = None, consumed: int | None = None) -> dict[str, Any]:
    """The traffic figures of a scenario from its start and end ``traffic`` op values; a
    platform without zone proxies gives ``cross_zone_bytes`` as "not applicable: <reason>",
    a missing or unreadable sample as "unknown: <reason>" (never a made-up 0)."""
    if start is None and end is None:
        return {}
    for v in (start, end):
        if v and v.get("unavailable"):
            return {"cross_zone_bytes": f"not applicable: {v['unavailable']}"}
    if start is None or end is None:
        return {"cross_zone_bytes": f"unknown: no {'start' if start is None else 'end'} sample of the zone proxies"}
    errors = {**(start.get("errors") or {}), **(end.get("errors") or {})}
    if errors:
        why = "; ".join(f"zone {z}: {e}" for z, e in sorted(errors.items()))
        return {"cross_zone_bytes": f"unknown: {why}"}
    t = traffic(start.get("zones") or {}, end.get("zones") or {})
    out: dict[str, Any] = {
        "cross_zone_bytes": t.cross_zone,
        "cross_zone_bytes_per_mb_produced": per_mb(t.cross_zone, produced, "produced"),
        "cross_zone_bytes_per_mb_consumed": per_mb(t.cross_zone, consumed, "consumed"),
        "cross_zone_pairs": t.pairs("replication", "controller"),
        "object_storage_traffic_bytes": t.object_storage,
        "client_proxy_traffic_bytes": t.client,
        "traffic_paths": {**t.pairs("object_storage"), **t.pairs("client")},
    }
    priced = cost(t, start.get("prices") or {})
    if priced:
        out["traffic_cost"] = priced
    if t.resets:
        out["traffic_counter_resets"] = t.resets
    return out


def client_bytes(ops: Iterable[dict]) -> tuple[int, int]:
    """(bytes produced and acknowledged, bytes consumed) by the recording clients' ``client-bytes`` ops."""
    produced = consumed = 0
    for op in ops:
        v = op.get("value") or {}
        n = v.get("bytes")
        if op.get("type") != "ok" or not isinstance(n, int):
            continue
        if v.get("role") == "produce":
            produced += n
        elif v.get("role") == "consume":
            consumed += n
    return produced, consumed


def figures_of_ops(traffic_ops: Iterable[dict], client_ops: Iterable[dict]) -> dict[str, Any]:
    """The figures from a history's ``traffic`` ops (first start, last end) and ``client-bytes`` ops."""
    start = end = None
    for op in traffic_ops:
        v = op.get("value") or {}
        if op.get("type") != "ok":
            continue
        if v.get("phase") == "start" and start is None:
            start = v
        elif v.get("phase") == "end":
            end = v
    produced, consumed = client_bytes(client_ops)
    return figures(start, end, produced, consumed)

"""Scale-out and scale-in figures, recomputed from the history.

Contract
--------
The ``scale-out-in`` scenario records (process ``harness``):

* ``scale`` ok: ``{"action": "add"|"remove", "node_id", "zone", "seconds", ...}`` -- a broker
  joined (listed in metadata after ``seconds``) or was stopped, unregistered and removed;
* ``reassign`` ok: ``{"move": "scale-out"|"scale-in", "start", "end"`` (monotonic ns: the
  ``--execute`` call and the first ``--verify`` that found every partition complete),
  ``"before"`` and ``"plan"`` (lists of ``{topic, partition, replicas}``: the assignment
  before and the one executed), ``"sizes"`` (broker id as a string -> ``"<topic>-<p>"`` ->
  bytes on that broker's disk, read after completion), ``"throttle"`` (bytes/s or null),
  ``"polls"``}; ``reassign`` fail: the same without ``end`` and with ``error`` (never
  balanced within the timeout, or the tool failed);
* ``throttle`` ok: ``{"left": [...]}`` -- throttle settings still present after the final
  clean-up (empty: removed).

:func:`move_figures` of one ``reassign`` op: ``time_to_balance_s`` = (end - start) / 1e9;
``replicas_moved`` = replicas in the plan that were not in ``before`` (per partition);
``bytes_moved`` = the sum, over those new replicas, of the partition's size on its new
broker in ``sizes`` (what the move copied, plus what was produced to it meanwhile); the
live produce p99, the live consumers' send-to-poll lag p99 (ms) and acknowledged sends/s of
the workload inside [start, end] (:mod:`kfchaos.checkers.windows`, ``consume_lag``). A move
that failed has ``time_to_balance_s`` None and its error.

:func:`figures_of`: ``scale_moves`` (one dict per move), and from the scale-out move
``time_to_balance_s``, ``bytes_moved``, ``live_p99_ms_during_move``,
``consumer_lag_p99_ms_during_move``; from the scale-in move ``decommission_s`` (its
reassignment plus the broker's removal) and ``bytes_moved_scale_in``; ``throttle_left``;
``broker_added`` / ``broker_removed``: the ``scale`` ops' values (node id, zone, seconds,
the unregister outcome).
"""
from __future__ import annotations

from typing import Any

__all__ = ["REASSIGN_F", "SCALE_F", "THROTTLE_F", "added_replicas", "move_figures", "figures_of"]

REASSIGN_F, SCALE_F, THROTTLE_F = "reassign", "scale", "throttle"


def added_replicas(before: list[dict], plan: list[dict]) -> list[tuple[str, int, int]]:
    """(topic, partition, broker) of every replica the plan adds to a partition."""
    old = {(p["topic"], p["partition"]): set(p["replicas"]) for p in before}
    return [(p["topic"], p["partition"], b) for p in plan for b in p["replicas"]
            if b not in old.get((p["topic"], p["partition"]), set())]


def _sizes_of(sizes: dict, added: list[tuple[str, int, int]]) -> int:
    return sum(int((sizes.get(str(b)) or {}).get(f"{t}-{p}", 0)) for t, p, b in added)


def move_figures(idx: Any, op: dict) -> dict:
    from kfchaos.checkers.isolation import consume_lag
    from kfchaos.checkers.windows import series_of
    v = op.get("value") or {}
    added = added_replicas(v.get("before") or [], v.get("plan") or [])
    out: dict[str, Any] = {"move": v.get("move"), "throttle_bytes_per_s": v.get("throttle"),
                           "partitions_moved": len(v.get("plan") or []), "replicas_moved": len(added),
                           "time_to_balance_s": None, "bytes_moved": None, "produce_p99_ms": None,
                           "lag_p99_ms": None, "ok_per_s": None, "polls": v.get("polls")}
    if op.get("type") != "ok" or v.get("end") is None:
        out["error"] = v.get("error") or "never balanced"
        return out
    t0, t1 = int(v["start"]), int(v["end"])
    phase = series_of(idx).phase(t0, t1)
    out.update(time_to_balance_s=round((t1 - t0) / 1e9, 2), bytes_moved=_sizes_of(v.get("sizes") or {}, added),
               produce_p99_ms=phase["latency_ms"]["p99"], lag_p99_ms=consume_lag(idx, (t0, t1))["p99"],
               ok_per_s=phase["send_ok_per_s"])
    return out


def figures_of(idx: Any) -> dict:
    """The scale figures of a history ({} when it has no reassignment)."""
    moves = [op for op in idx.get(REASSIGN_F) if op.get("type") in ("ok", "fail")]
    if not moves:
        return {}
    rows = [move_figures(idx, op) for op in moves]
    out: dict[str, Any] = {"scale_moves": rows}
    first_out = next((r for r in rows if r["move"] == "scale-out"), None)
    if first_out is not None:
        out.update(time_to_balance_s=first_out["time_to_balance_s"], bytes_moved=first_out["bytes_moved"],
                   live_p99_ms_during_move=first_out["produce_p99_ms"],
                   consumer_lag_p99_ms_during_move=first_out["lag_p99_ms"])
    first_in = next((r for r in rows if r["move"] == "scale-in"), None)
    if first_in is not None:
        removed = [(op.get("value") or {}) for op in idx.get(SCALE_F)
                   if op.get("type") == "ok" and (op.get("value") or {}).get("action") == "remove"]
        drained = first_in["time_to_balance_s"]
        out["bytes_moved_scale_in"] = first_in["bytes_moved"]
        out["decommission_s"] = (round(drained + float(removed[0].get("seconds") or 0), 2)
                                 if drained is not None and removed else None)
    scale = [(op.get("value") or {}) for op in idx.get(SCALE_F) if op.get("type") == "ok"]
    for action, key in (("add", "broker_added"), ("remove", "broker_removed")):
        v = next((v for v in scale if v.get("action") == action), None)
        if v is not None:
            out[key] = {k: x for k, x in v.items() if k != "action"}
    throttle = [op for op in idx.get(THROTTLE_F) if op.get("type") == "ok"]
    if throttle:
        left = (throttle[-1].get("value") or {}).get("left") or []
        out["throttle_left"] = left or "none (removed)"
    return out

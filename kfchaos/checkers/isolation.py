"""Replay-isolation checker: a backfill must not starve live traffic.

Contract
--------
The replay window is the window of the ``backfill`` fault in the history (from its
fault-start invoke to its fault-stop completion; ``replay_fault`` names another load
fault). The baseline is the ``baseline_s`` seconds (default 11) ending ``gap_s``
(default 1) before the replay starts, or the time from the history's start if that is
shorter. Live send-latency p99 during the replay above both ``backfill_p99_ratio``
(default 2.0) x the baseline p99 and the baseline p99 + ``replay_p99_allowance_ms``
(default 1000, the profile's ``budgets``) is ``latency-budget-exceeded``. A ratio alone over
a quiet baseline of tens of milliseconds is a budget no bounded link meets: a quota'd
replay's bursts queue ahead of live traffic in the link (the bound's queue holds 400 ms,
and a produce with acks=all crosses a leader's egress twice), measured here at +190 to
+360 ms of live p99 over a 60 to 70 ms baseline, while a replay without a quota added 2 to
3.5 s. ``unknown`` when the history
has no replay window, when it never closed, when either side has no latency samples, or
when the replay stayed within the ratio but the baseline was not quiet: its p99 above
``replay_baseline_p99_ms`` (default 1000, the profile's ``budgets``) means live traffic was
already slow before any replay (a starved host), so no replay could have doubled it and a
"held" would be a verdict that cannot fail. ``stats["baseline_lag_ms"]`` /
``["window_lag_ms"]`` are the live consumers' send-to-poll latency percentiles in each
interval. ``stats["replay_read"]`` is what the replay read (records, bytes, records/s),
from the proof its fault-stop recorded. :func:`compare_windows` compares any two intervals the
same way.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from .index import as_index
from .verdict import UNKNOWN, VALID, Verdict
from .windows import NS, ratio_anomaly, series_of

NAME = "replay-isolation"
BASELINE_P99_MAX_MS = 1000.0
P99_ALLOWANCE_MS = 1000.0


def check(history: Any, *, backfill_p99_ratio: float = 2.0, replay_fault: str = "backfill",
          baseline_s: float = 11.0, gap_s: float = 1.0,
          replay_baseline_p99_ms: float | None = BASELINE_P99_MAX_MS,
          replay_p99_allowance_ms: float | None = P99_ALLOWANCE_MS, **_: Any) -> Verdict:
    idx = as_index(history)
    w = next((x for x in idx.fault_windows if x.fault == replay_fault), None)
    if w is None:
        return Verdict(NAME).finish(f"no {replay_fault} window in the history")
    if w.open:
        return Verdict(NAME).finish(f"the {replay_fault} window {w.fault_id} never closed")
    start = idx.start_time or 0
    end = w.start - int(gap_s * NS)
    baseline = (max(start, end - int(baseline_s * NS)), end)
    allowance = P99_ALLOWANCE_MS if replay_p99_allowance_ms is None else replay_p99_allowance_ms
    v = compare_windows(idx, (w.start, w.end), baseline, backfill_p99_ratio, fault=w, allowance_ms=allowance)
    v.stats["replay_fault"] = w.fault_id
    v.stats["replay_read"] = _read_rate(idx, w.fault_id)
    v.stats["baseline_lag_ms"] = consume_lag(idx, baseline, exclude=replay_fault)
    v.stats["window_lag_ms"] = consume_lag(idx, (w.start, w.end), exclude=replay_fault)
    return _unless_busy_baseline(v, replay_baseline_p99_ms or BASELINE_P99_MAX_MS)


def _unless_busy_baseline(v: Verdict, max_ms: float) -> Verdict:
    """A replay within its ratio over a baseline that was already slow decides nothing."""
    bp = ((v.stats.get("baseline") or {}).get("latency_ms") or {}).get("p99")
    v.stats["baseline_p99_max_ms"] = max_ms
    if v.valid == VALID and bp is not None and bp > max_ms:
        v.valid = UNKNOWN
        v.reason = (f"the baseline was not quiet: live p99 {bp:.0f} ms before the replay, above "
                    f"budgets.replay_baseline_p99_ms {max_ms:.0f} ms, so the replay could not have doubled it; "
                    "rerun on a less loaded machine")
    return v


def consume_lag(idx: Any, interval: tuple[int, int], exclude: str = "") -> dict:
    """Percentiles (ms) of send-to-poll latency of the live records polled in ``interval``:
    how far live consumers lag behind producers (records of the replay itself excluded, since
    its reader is not recorded; each record counted once, at its first poll)."""
    from .windows import percentiles
    t0, t1 = interval
    lags: list[int] = []
    seen: set = set()
    for topic in idx.poll_topics():
        g = idx.polls(topic)
        lo, hi = bisect_left(g.times, t0), bisect_right(g.times, t1)
        for k in range(lo, hi):
            if exclude and exclude in str(g.procs[k]):
                continue
            for rid in g.rids[g.cum[k]:g.cum[k + 1]]:
                w = idx.write(rid) if rid not in seen else None
                seen.add(rid)
                if w is not None and getattr(w, "invoke_time", None) is not None:
                    lags.append(g.times[k] - w.invoke_time)
    return percentiles([x for x in lags if x >= 0])


def _read_rate(idx: Any, fault_id: str) -> dict | None:
    """What the replay read (records, bytes, rate), from its fault-stop completion's proof."""
    for op in idx.get("fault-stop"):
        val = op.get("value") or {}
        if op.get("type") == "ok" and val.get("fault_id") == fault_id:
            proof = val.get("proof")
            return proof if isinstance(proof, dict) else None
    return None


def compare_windows(history: Any, window: tuple[int, int], baseline: tuple[int, int],
                    ratio_budget: float = 2.0, fault: Any = None, allowance_ms: float = 0.0) -> Verdict:
    """Send-latency p99 in ``window`` against ``baseline`` (monotonic ns intervals): flagged
    above both ``ratio_budget`` x the baseline p99 and the baseline p99 + ``allowance_ms``."""
    idx = as_index(history)
    s = series_of(idx)
    v = Verdict(NAME)
    b, x = s.phase(*baseline), s.phase(*window)
    v.stats.update({"baseline": b, "window": x, "ratio_budget": ratio_budget, "allowance_ms": allowance_ms})
    if not ratio_anomaly(idx, v, fault, b, x, ratio_budget, allowance_ms):
        return v.finish()
    bp, xp = b["latency_ms"]["p99"], x["latency_ms"]["p99"]
    if bp is None or xp is None:
        return v.finish("no latency samples in baseline or window")
    v.stats["ratio"] = round(xp / bp, 3) if bp else None
    return v.finish()

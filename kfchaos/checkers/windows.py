"""Fault-window throughput and latency checker.

Contract
--------
For each fault window (see :mod:`kfchaos.checkers.faults`) three phases are
measured: ``before`` = up to ``baseline_s`` seconds before the start (not
reaching back past the previous window's end), ``during`` = the window, and
``after`` = up to ``baseline_s`` after the end (not past the next window's
start).  Per phase: ok sends/s (plain sends; committed txn sends count too),
polled records/s and send latency p50/p95/p99/max in ms (invoke -> ok of sends
whose ok falls in the phase).

Per closed window, measured from the fault-stop completion: ``send_recovery_s``
(first send ok), ``poll_recovery_s`` (first poll returning records),
``output_resume_s`` (first poll of ``output_topic`` returning records) and
``checkpoint_resume_s`` (first Flink ``checkpoint`` ok).  Whether recovery was
within budget is decided by :mod:`.recovery` from these rows.

Anomaly (only with the option): ``latency_ratio_budget`` -- a window whose
``during`` p99 exceeds ratio x ``before`` p99 is ``latency-budget-exceeded``.
:mod:`.isolation` compares a replay window with its baseline the same way.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from itertools import islice
from operator import le, sub
from typing import Any

from .index import as_index
from .verdict import Verdict

NAME = "windows"
NS = 1_000_000_000


class Series:
    """Time-sorted samples: ok sends with latencies, polls with record counts.

    Its users ask through the methods below (:meth:`phase`, the ``first_*_after``
    queries, :meth:`polled_topics`, :meth:`invoked_after`), never its lists, so the
    compiled core's series (:mod:`.native_series`) stands in for it."""

    def __init__(self, idx: Any):
        ok_t, lat = idx.ok_t, idx.ok_lat
        if not _is_sorted(ok_t):    # several topics or txns interleave
            order = sorted(range(len(ok_t)), key=ok_t.__getitem__)
            lat = [lat[i] for i in order]
            ok_t = sorted(ok_t)
        self.send_t, self.send_lat = ok_t, lat
        inv = idx.inv_t
        self.send_invoke_t = inv if _is_sorted(inv) else sorted(inv)
        self.topic_polls: dict[str, list[int]] = {}
        digests = [idx.polls(t) for t in idx.poll_topics()]
        for g in digests:
            self.topic_polls[g.topic] = g.times
        with_recs = [g for g in digests if g.times]
        if len(with_recs) == 1 and _is_sorted(with_recs[0].times):
            # one topic polled in time order: its own cumulative counts
            # (ties in time only ever bound a phase as a whole)
            self.poll_t, self.poll_cum = with_recs[0].times, with_recs[0].cum
        else:
            pts: list[tuple] = []
            for g in digests:
                pts.extend(zip(g.times, map(sub, islice(g.cum, 1, None), g.cum)))
            pts.sort()
            self.poll_t = [t for t, _ in pts]
            self.poll_cum = [0]
            total = 0
            for _, n in pts:
                total += n
                self.poll_cum.append(total)
        self.checkpoints = sorted(idx.checkpoint_times)

    def phase(self, t0: int, t1: int) -> dict:
        """Stats of the closed interval [t0, t1]."""
        i, j = bisect_left(self.send_t, t0), bisect_right(self.send_t, t1)
        a, b = bisect_left(self.poll_t, t0), bisect_right(self.poll_t, t1)
        recs = self.poll_cum[b] - self.poll_cum[a]
        return phase_stats(t0, t1, j - i, recs, rank_values([x for x in self.send_lat[i:j] if x >= 0]))

    def first_send_after(self, t: int) -> int | None:
        """The first send ok time strictly after ``t``."""
        return first_after(self.send_t, t)

    def first_poll_after(self, t: int) -> int | None:
        """The first time strictly after ``t`` of a poll (any topic) returning records."""
        return first_after(self.poll_t, t)

    def first_checkpoint_after(self, t: int) -> int | None:
        """The first Flink ``checkpoint`` ok strictly after ``t``."""
        return first_after(self.checkpoints, t)

    def polled_topics(self) -> set:
        """The topics some ok poll read (with records or not)."""
        return set(self.topic_polls)

    def first_topic_poll_after(self, topic: Any, t: int) -> int | None:
        """The first poll of ``topic`` returning records strictly after ``t``."""
        return first_after(self.topic_polls.get(topic, []), t)

    def invoked_after(self, t: int) -> bool:
        """Some send was invoked strictly after ``t``."""
        return first_after(self.send_invoke_t, t) is not None


def phase_stats(t0: int, t1: int, send_ok: int, recs: int, ranked: tuple | None) -> dict:
    """The phase dict of [t0, t1] from its counts and :func:`rank_values` of its latencies."""
    dur = max(t1 - t0, 1) / NS
    return {"start": t0, "end": t1, "duration_s": round(dur, 6),
            "send_ok": send_ok, "send_ok_per_s": round(send_ok / dur, 3),
            "records_polled": recs, "records_per_s": round(recs / dur, 3),
            "latency_ms": latency_ms(ranked)}


def _is_sorted(xs: list) -> bool:
    return all(map(le, xs, islice(xs, 1, None)))


#: the nearest-rank percentiles reported
QUANTILES = (0.50, 0.95, 0.99)


def ranks(n: int) -> list[int]:
    """0-based positions in the sorted samples of p50, p95, p99 and max (``n`` > 0)."""
    return [min(n - 1, max(0, math.ceil(p * n) - 1)) for p in QUANTILES] + [n - 1]


def rank_values(samples_ns: list[int]) -> tuple | None:
    """(n, p50, p95, p99, max) in ns, nearest rank (None when empty)."""
    n = len(samples_ns)
    if not n:
        return None
    s = sorted(samples_ns)
    return (n, *(s[k] for k in ranks(n)))


def latency_ms(ranked: tuple | None) -> dict:
    """:func:`rank_values` in milliseconds, rounded to the microsecond."""
    if ranked is None:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    n, p50, p95, p99, top = ranked
    return {"n": n, "p50": round(p50 / 1e6, 3), "p95": round(p95 / 1e6, 3),
            "p99": round(p99 / 1e6, 3), "max": round(top / 1e6, 3)}


def percentiles(samples_ns: list[int]) -> dict:
    """Nearest-rank p50/p95/p99/max in milliseconds (None when empty)."""
    return latency_ms(rank_values(samples_ns))


def series_of(idx: Any) -> Series:
    s = idx._cache.get("series")
    if s is None:
        s = idx._cache["series"] = Series(idx)
    return s


def first_after(times: list[int], t: int) -> int | None:
    i = bisect_right(times, t)
    return times[i] if i < len(times) else None


def check(history: Any, *, output_topic: str | None = None, baseline_s: float = 30.0,
          latency_ratio_budget: float | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    s = series_of(idx)
    wins = idx.fault_windows
    start = idx.start_time if idx.start_time is not None else idx.end_time
    end = idx.end_time
    v.stats["overall"] = s.phase(start, end)
    v.stats["windows"] = out = []
    base = int(baseline_s * NS)
    for k, w in enumerate(wins):
        prev_end = max([x.end for x in wins[:k] if x.end <= w.start] + [start])
        nxt = min([x.start for x in wins[k + 1:] if x.start >= w.end] + [end])
        row = w.to_dict()
        row["before"] = s.phase(max(prev_end, w.start - base), w.start)
        row["during"] = s.phase(w.start, w.end)
        row["after"] = s.phase(w.end, min(nxt, w.end + base)) if not w.open else None
        out.append(row)
        if w.open:
            continue
        row["send_recovery_s"] = delay(s.first_send_after(w.end), w.end)
        row["poll_recovery_s"] = delay(s.first_poll_after(w.end), w.end)
        row["checkpoint_resume_s"] = delay(s.first_checkpoint_after(w.end), w.end)
        if output_topic is not None and output_topic in s.polled_topics():
            row["output_resume_s"] = delay(s.first_topic_poll_after(output_topic, w.end), w.end)
        if latency_ratio_budget is not None:
            ratio_anomaly(idx, v, w, row["before"], row["during"], latency_ratio_budget)
    return v.finish()


def delay(t: int | None, t0: int) -> float | None:
    return None if t is None else round((t - t0) / NS, 6)


def ratio_anomaly(idx: Any, v: Verdict, w: Any, base: dict, win: dict, ratio: float,
                  allowance_ms: float = 0.0) -> bool:
    """``latency-budget-exceeded`` when the window's p99 is above both ``ratio`` x the baseline
    p99 and the baseline p99 + ``allowance_ms``; False when flagged."""
    b, x = base["latency_ms"]["p99"], win["latency_ms"]["p99"]
    if b is None or x is None:
        return True
    if x > max(ratio * b, b + allowance_ms):
        v.add("latency-budget-exceeded", idx.example(
            None, t0=win["start"], t1=win["end"], baseline_p99_ms=b, window_p99_ms=x,
            ratio=round(x / b, 3) if b else None, budget_ratio=ratio, allowance_ms=allowance_ms,
            fault_id=getattr(w, "fault_id", None), time=win["start"]))
        return False
    return True

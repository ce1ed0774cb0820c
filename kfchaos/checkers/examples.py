"""Anomaly-example helpers mixed into :class:`HistoryIndex`.

Contract
--------
Every example is a dict carrying, where known, ``index`` (op index),
``process``, ``time`` (monotonic ns), ``wall`` (epoch seconds; derived from
the nearest op whose wall clock was recorded when the op itself is not kept)
and ``fault_windows``: the ``{"fault", "fault_id"}`` refs of the fault windows
overlapping the example's time span (invoke..completion for writes).

A write's example also carries ``client_events``: the idempotence events its
producer recorded while the write was in flight (``client-event`` ops, see
:mod:`kfchaos.clients.idempotence`; producer-id assignments left out), and,
when one of them is an epoch bump, ``likely_cause`` saying why that can write
a record twice.  Both are absent when there is no such event.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from kfchaos.history import CLIENT_EVENT_F

from .faults import FaultWindow, fault_windows as _fault_windows, overlapping

MAX_EVENTS = 10     # client events kept per example
_BUMP_EVENTS = frozenset(("epoch-bump", "epoch-bumped", "pid-reset"))
EPOCH_BUMP_CAUSE = ("the producer bumped its idempotence epoch while this write was in "
                    "flight: librdkafka re-sends in-flight messages under the new epoch "
                    "with new sequence numbers, so the broker cannot tell a retry of a "
                    "message it already wrote (librdkafka issue #4953)")


class ExampleMixin:
    walls: list
    small: dict
    end_time: int
    end_wall: Any
    _cache: dict

    def wall_at(self, t: int | None) -> float | None:
        """Wall clock of monotonic time ``t`` (from the nearest sampled op)."""
        if t is None or not self.walls:
            return None
        ws = self._cache.get("walls")
        if ws is None or len(ws) != len(self.walls):
            ws = self._cache["walls"] = sorted(w for w in self.walls if w[1] is not None)
        if not ws:
            return None
        i = bisect_left(ws, (t,))
        cands = ws[max(0, i - 1):i + 1]
        t0, w0 = min(cands, key=lambda tw: abs(tw[0] - t))
        return round(w0 + (t - t0) / 1e9, 6)

    @property
    def fault_windows(self) -> list[FaultWindow]:
        w = self._cache.get("faults")
        if w is None:
            ops = sorted(self.small.get("fault-start", []) + self.small.get("fault-stop", []),
                         key=lambda o: o.get("index", 0))
            w = self._cache["faults"] = _fault_windows(ops, self.end_time, self.end_wall)
        return w

    def windows_at(self, t0: int, t1: int | None = None) -> list[dict]:
        return overlapping(self.fault_windows, t0, t1)

    def example(self, op: dict | None = None, t0: int | None = None,
                t1: int | None = None, **fields: Any) -> dict:
        """``fields`` plus op index/process/time/wall and the fault windows
        overlapping ``[t0, t1]`` (default: the example's time)."""
        ex = dict(fields)
        if op is not None:
            for k in ("index", "process", "time", "wall"):
                if op.get(k) is not None:
                    ex.setdefault(k, op.get(k))
        if ex.get("time") is not None and ex.get("wall") is None:
            ex["wall"] = self.wall_at(ex["time"])
        a = t0 if t0 is not None else ex.get("time")
        b = t1 if t1 is not None else ex.get("time")
        ex["fault_windows"] = [] if a is None else self.windows_at(a, b if b is not None else a)
        return ex

    def client_events(self, process: Any, t0: int, t1: int) -> list[dict]:
        """``process``'s idempotence events (no pid assignments) in [t0, t1]."""
        by_proc = self._cache.get("client_events")
        if by_proc is None:
            by_proc = self._cache["client_events"] = {}
            for op in self.small.get(CLIENT_EVENT_F, []):
                v = op.get("value")
                if isinstance(v, dict) and v.get("event") != "pid-assigned":
                    by_proc.setdefault(op.get("process"), []).append(
                        {**v, "time": op.get("time"), "index": op.get("index")})
        return [e for e in by_proc.get(process, ()) if e["time"] is not None
                and t0 <= e["time"] <= t1]

    def write_client_events(self, rid: Any) -> dict:
        """``{"client_events", "likely_cause"}`` for write ``rid`` (see above),
        or {} when its producer recorded no event while it was in flight."""
        w = self.write(rid)  # type: ignore[attr-defined]
        if w is None or w.invoke_time is None or not self.small.get(CLIENT_EVENT_F):
            return {}
        end = w.done_time if w.done_time is not None else self.end_time
        evs = self.client_events(w.process, w.invoke_time, end)
        if not evs:
            return {}
        out: dict = {"client_events": evs[:MAX_EVENTS]}
        if any(e.get("event") in _BUMP_EVENTS for e in evs):
            out["likely_cause"] = EPOCH_BUMP_CAUSE
        return out

    def write_example(self, rid: Any, *, until: int | None = None, **fields: Any) -> dict:
        """Example for a harness write; its time span is invoke..completion,
        or invoke..``until`` when given (a loss can happen after the ack)."""
        w = self.write(rid)  # type: ignore[attr-defined]
        if w is None:
            return self.example(None, id=rid, **fields)
        t = w.done_time if w.done_time is not None else w.invoke_time
        base = {"id": rid, "process": w.process, "time": t,
                "index": w.done_index if w.done_index is not None else w.invoke_index,
                "outcome": w.outcome, "key": w.key, "seq": w.seq}
        if w.partition is not None:
            base["partition"], base["offset"] = w.partition, w.offset
        if w.invoke_time is not None:
            base["invoke_time"], base["invoke_wall"] = w.invoke_time, self.wall_at(w.invoke_time)
        if w.txn is not None:
            base["txn"] = w.txn
        base.update(self.write_client_events(rid))
        base.update(fields)
        t0 = w.invoke_time if w.invoke_time is not None else t
        t1 = until if until is not None and t is not None and until > t else t
        return self.example(None, t0=t0, t1=t1, **base)

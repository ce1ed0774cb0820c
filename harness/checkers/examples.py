"""Anomaly-example helpers mixed into :class:`HistoryIndex`.

Contract
--------
Every example is a dict carrying, where known, ``index`` (op index),
``process``, ``time`` (monotonic ns), ``wall`` (epoch seconds; derived from
the nearest op whose wall clock was recorded when the op itself is not kept)
and ``fault_windows``: the ``{"fault", "fault_id"}`` refs of the fault windows
overlapping the example's time span (invoke..completion for writes).
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from .digests import (S_DI, S_DT, S_II, S_IT, S_KEY, S_O, S_P, S_PROC, S_SEQ, S_TXN,
                      S_TYPE)
from .faults import FaultWindow, fault_windows as _fault_windows, overlapping


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

    def write_example(self, rid: Any, **fields: Any) -> dict:
        """Example for a harness write; its time span is invoke..completion."""
        S = self.write(rid)  # type: ignore[attr-defined]
        if S is None:
            return self.example(None, id=rid, **fields)
        t = S[S_DT] if S[S_DT] is not None else S[S_IT]
        base = {"id": rid, "process": S[S_PROC], "time": t,
                "index": S[S_DI] if S[S_DI] is not None else S[S_II],
                "outcome": S[S_TYPE], "key": S[S_KEY], "seq": S[S_SEQ]}
        if S[S_P] is not None:
            base["partition"], base["offset"] = S[S_P], S[S_O]
        if S[S_IT] is not None:
            base["invoke_time"], base["invoke_wall"] = S[S_IT], self.wall_at(S[S_IT])
        if S[S_TXN] is not None:
            base["txn"] = S[S_TXN]
        base.update(fields)
        return self.example(None, t0=S[S_IT] if S[S_IT] is not None else t, t1=t, **base)

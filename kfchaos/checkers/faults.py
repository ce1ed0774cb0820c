"""Fault windows derived from nemesis operations (shared helper).

Contract
--------
A fault window spans from the ``fault-start`` *invoke* to the completion
(ok/fail/info) of the ``fault-stop`` with the same ``fault_id``.  A window with
no completed stop (never stopped, or stop never completed) is ``open`` and
extends to the end of the history.  If only a ``fault-start`` completion is
present (no invoke), its time starts the window.

:func:`overlapping` lists the windows intersecting a time interval, as
``{"fault": name, "fault_id": id}`` refs suitable for anomaly examples.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

__all__ = ["FaultWindow", "fault_windows", "overlapping"]


@dataclass
class FaultWindow:
    fault: str
    fault_id: str
    start: int                      # monotonic ns of the fault-start invoke
    end: int                        # monotonic ns of the fault-stop completion
    start_wall: float | None = None
    end_wall: float | None = None
    open: bool = False              # no completed fault-stop: runs to history end
    start_type: str | None = None   # completion type of the fault-start
    stop_type: str | None = None    # completion type of the fault-stop
    target: Any = None
    detail: Any = None
    proof: Any = None
    start_index: int | None = None
    end_index: int | None = None
    stop_invoke_time: int | None = None
    extra: dict = field(default_factory=dict)

    def overlaps(self, t0: int, t1: int | None = None) -> bool:
        return self.start <= (t0 if t1 is None else t1) and self.end >= t0

    def ref(self) -> dict:
        return {"fault": self.fault, "fault_id": self.fault_id}

    def to_dict(self) -> dict:
        return {"fault": self.fault, "fault_id": self.fault_id, "start": self.start,
                "end": self.end, "start_wall": self.start_wall, "end_wall": self.end_wall,
                "open": self.open, "start_type": self.start_type,
                "stop_type": self.stop_type, "target": self.target}


def fault_windows(ops: Iterable[dict], end_time: int | None = None,
                  end_wall: float | None = None) -> list[FaultWindow]:
    """Build fault windows from the ``fault-start``/``fault-stop`` ops.

    ``end_time``/``end_wall`` close open windows (default: the latest fault
    op seen; callers should pass the history's last op time)."""
    wins: dict[str, FaultWindow] = {}
    last_t, last_w = end_time, end_wall
    for op in ops:
        if op["f"] not in ("fault-start", "fault-stop"):
            continue
        v = op.get("value") or {}
        if not isinstance(v, dict):
            v = {"fault": str(v)}
        if end_time is None and (last_t is None or op["time"] > last_t):
            last_t, last_w = op["time"], op.get("wall")
        fid = str(v.get("fault_id") if v.get("fault_id") is not None else v.get("fault"))
        w = wins.get(fid)
        if w is None:         # (a stop without start: the window of the stop op itself)
            w = wins[fid] = _opened(op, v, fid)
        if op["f"] == "fault-start":
            _started(w, op, v)
        else:
            _stopped(w, op)
    for w in wins.values():
        if w.open:
            w.end = max(w.start, last_t if last_t is not None else w.start)
            w.end_wall = last_w
    return sorted(wins.values(), key=lambda w: (w.start, w.fault_id))


def _opened(op: dict, v: dict, fid: str) -> FaultWindow:
    start = op["f"] == "fault-start"
    return FaultWindow(fault=str(v.get("fault", "?")), fault_id=fid, start=op["time"], end=-1,
                       start_wall=op.get("wall"), open=True, target=v.get("target"),
                       detail=v.get("detail") if start else None,
                       proof=v.get("proof") if start else None, start_index=op.get("index"))


def _started(w: FaultWindow, op: dict, v: dict) -> None:
    if op["type"] != "invoke":
        w.start_type = op["type"]
        if v.get("proof") is not None:
            w.proof = v.get("proof")


def _stopped(w: FaultWindow, op: dict) -> None:
    if op["type"] == "invoke":
        w.stop_invoke_time = op["time"]
    else:
        w.end, w.end_wall, w.open = op["time"], op.get("wall"), False
        w.stop_type, w.end_index = op["type"], op.get("index")


def overlapping(windows: Iterable[FaultWindow], t0: int, t1: int | None = None) -> list[dict]:
    """Refs of the windows overlapping ``[t0, t1]`` (a point if ``t1`` is None)."""
    return [w.ref() for w in windows if w.overlaps(t0, t1)]

"""Per-second series computed from a recorded history, in one pass.

Contract
--------
:func:`compute_series` walks the operations once (any iterable, so a
streamed ``history.jsonl`` works: see :func:`series_from_path`) and returns a
:class:`Series` whose second ``i`` covers monotonic time
``[t0 + i s, t0 + (i + 1) s)``, ``t0`` being the first op's ``time``:

* ``sends_ok[i]``: producer ``send`` ok completions in second ``i``;
* ``sends_err[i]``: ``send`` fail/info completions in second ``i``;
* ``polled[i]``: records delivered by ``poll`` ok ops in second ``i``;
* ``lat_p50[i]`` / ``lat_p99[i]``: invoke→ok latency (ms, nearest rank) of
  the sends *invoked* in second ``i`` that completed ok; ``None`` when there
  were none, so a stall shows up inside the fault window that caused it.

Sends are matched to their invokes with :func:`harness.history.correlation_key`
(FIFO per key, as :func:`harness.history.pair` does).  Fault windows come from
:func:`harness.checkers.faults.fault_windows` over the nemesis ops collected
during the pass; Flink lifecycle ops (``deploy``, ``upgrade``, ``rollback``,
``restore``, ``checkpoint``) are kept as :class:`Event` markers, and so are
idempotent producers' epoch bumps, id resets and fatal errors
(``producer_events``; ``f`` is the event, ``value`` carries the process).
Work is O(n) plus sorting each second's latencies once.
"""
from __future__ import annotations

import json
import math
import os
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable, Iterator

from harness.checkers.faults import FaultWindow, fault_windows
from harness.history import CLIENT_EVENT_F, FAULT_FS, correlation_key

__all__ = ["Series", "Event", "compute_series", "series_from_path", "iter_ops", "percentile",
           "FLINK_FS"]

FLINK_FS = ("deploy", "upgrade", "rollback", "restore", "checkpoint")
#: client events drawn on the timeline (see harness.clients.idempotence)
PRODUCER_EVENTS = ("epoch-bump", "pid-reset", "fatal")
NS = 1_000_000_000


@dataclass
class Event:
    """A Flink lifecycle op (completion, or lone invoke) or a producer event, at
    second ``sec``."""
    sec: float
    f: str
    type: str
    value: Any = None


@dataclass
class Series:
    t0: int | None = None               # monotonic ns of the first op
    t0_wall: float | None = None        # wall clock of the first op
    end: int | None = None              # monotonic ns of the last op
    ops: int = 0
    sends_ok: list[int] = field(default_factory=list)
    sends_err: list[int] = field(default_factory=list)
    polled: list[int] = field(default_factory=list)
    lat_p50: list[float | None] = field(default_factory=list)
    lat_p99: list[float | None] = field(default_factory=list)
    faults: list[FaultWindow] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    producer_events: list[Event] = field(default_factory=list)   # epoch bumps, fatal
    unmatched_sends: int = 0            # send completions with no invoke

    @property
    def seconds(self) -> int:
        return len(self.sends_ok)

    @property
    def duration_s(self) -> float:
        if self.t0 is None or self.end is None:
            return 0.0
        return (self.end - self.t0) / NS

    def sec(self, t: int | None) -> float | None:
        """Monotonic ns → seconds since the first op."""
        return None if t is None or self.t0 is None else (t - self.t0) / NS

    def window_secs(self) -> list[tuple[float, float, FaultWindow]]:
        """Fault windows as ``(start_s, end_s, window)`` relative to ``t0``."""
        return [((w.start - self.t0) / NS, (w.end - self.t0) / NS, w)
                for w in self.faults] if self.t0 is not None else []


def percentile(sorted_vals: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty list."""
    n = len(sorted_vals)
    k = math.ceil(round(q * n, 9)) - 1
    return sorted_vals[max(0, min(n - 1, k))]


def _grow(lst: list, i: int, fill: Any) -> None:
    if i >= len(lst):
        lst.extend([fill] * (i + 1 - len(lst)))


def compute_series(ops: Iterable[dict]) -> Series:
    """Single pass over ``ops`` (history order) → :class:`Series`."""
    s = Series()
    sends_ok: list[int] = []
    sends_err: list[int] = []
    polled: list[int] = []
    lats: list[list[float] | None] = []
    pending: dict[tuple, Any] = {}   # key -> invoke time, or deque of them
    fault_ops: list[dict] = []
    flink: list[dict] = []
    client: list[dict] = []
    t0 = None
    last_t = None
    last_wall = None
    n = 0
    for op in ops:
        n += 1
        t = op["time"]
        if t0 is None:
            t0, s.t0_wall = t, op.get("wall")
        if last_t is None or t >= last_t:
            last_t = t
            w = op.get("wall")
            if w is not None:
                last_wall = w
        f = op["f"]
        typ = op["type"]
        if f == "send":
            key = correlation_key(op)
            if typ == "invoke":
                prev = pending.get(key)
                if prev is None:
                    pending[key] = t
                elif isinstance(prev, deque):
                    prev.append(t)
                else:
                    pending[key] = deque((prev, t))
                continue
            prev = pending.get(key)
            if prev is None:
                s.unmatched_sends += 1
                t_inv = None
            elif isinstance(prev, deque):
                t_inv = prev.popleft()
                if not prev:
                    del pending[key]
            else:
                t_inv = prev
                del pending[key]
            i = (t - t0) // NS
            if typ == "ok":
                if i >= len(sends_ok):
                    _grow(sends_ok, i, 0)
                sends_ok[i] += 1
                if t_inv is not None:
                    j = (t_inv - t0) // NS
                    if j >= len(lats):
                        _grow(lats, j, None)
                    bucket = lats[j]
                    if bucket is None:
                        bucket = lats[j] = []
                    bucket.append((t - t_inv) / 1e6)
            else:
                if i >= len(sends_err):
                    _grow(sends_err, i, 0)
                sends_err[i] += 1
        elif f == "poll":
            if typ != "ok":
                continue
            v = op.get("value")
            recs = v.get("records") if isinstance(v, dict) else None
            if recs:
                i = (t - t0) // NS
                if i >= len(polled):
                    _grow(polled, i, 0)
                polled[i] += len(recs)
        elif f in FAULT_FS:
            fault_ops.append(op)
        elif f in FLINK_FS:
            flink.append(op)
        elif f == CLIENT_EVENT_F:
            v = op.get("value")
            if isinstance(v, dict) and v.get("event") in PRODUCER_EVENTS:
                client.append(op)
    s.ops = n
    s.t0, s.end = t0, last_t
    if t0 is None:
        return s
    nsec = int((last_t - t0) // NS) + 1
    for lst, fill in ((sends_ok, 0), (sends_err, 0), (polled, 0), (lats, None)):
        _grow(lst, nsec - 1, fill)
    s.sends_ok, s.sends_err, s.polled = sends_ok, sends_err, polled
    p50: list[float | None] = []
    p99: list[float | None] = []
    for b in lats:
        if b:
            b.sort()
            p50.append(percentile(b, 0.50))
            p99.append(percentile(b, 0.99))
        else:
            p50.append(None)
            p99.append(None)
    s.lat_p50, s.lat_p99 = p50, p99
    s.faults = fault_windows(fault_ops, last_t, last_wall)
    s.events = _events(flink, t0)
    s.producer_events = [Event((op["time"] - t0) / NS, op["value"]["event"], op["type"],
                               {"process": op["process"], **op["value"]}) for op in client]
    return s


def _events(flink_ops: list[dict], t0: int) -> list[Event]:
    """One event per Flink op: its completion, or its invoke if never completed."""
    out: list[Event] = []
    open_: dict[tuple, list[dict]] = {}
    for op in flink_ops:
        key = (op["process"], op["f"])
        if op["type"] == "invoke":
            open_.setdefault(key, []).append(op)
            continue
        q = open_.get(key)
        if q:
            q.pop(0)
        out.append(Event((op["time"] - t0) / NS, op["f"], op["type"], op.get("value")))
    for q in open_.values():
        for op in q:
            out.append(Event((op["time"] - t0) / NS, op["f"], "invoke", op.get("value")))
    out.sort(key=lambda e: e.sec)
    return out


def iter_ops(path: str | os.PathLike, chunk: int = 4096) -> Iterator[dict]:
    """Stream the ops of a ``history.jsonl``, parsing ``chunk`` lines per
    :func:`json.loads` call (much cheaper than one call per line).  Same rule
    as :func:`harness.history.iter_load`: a corrupt *last* line is dropped,
    a corrupt line elsewhere raises ``ValueError``."""
    with open(path, "r", encoding="utf-8") as fh:
        while True:
            lines = [ln for ln in islice(fh, chunk) if ln.strip()]
            if not lines:
                return
            try:
                yield from json.loads("[" + ",".join(lines) + "]")
                continue
            except ValueError:
                pass
            for i, ln in enumerate(lines):
                try:
                    op = json.loads(ln)
                except ValueError as e:
                    if i == len(lines) - 1 and not any(x.strip() for x in fh):
                        return  # truncated last line: a crash while writing
                    raise ValueError(f"{path}: corrupt history line: {e}") from None
                yield op


def series_from_path(path: str | os.PathLike) -> Series:
    """Stream ``history.jsonl`` at ``path`` through :func:`compute_series`."""
    return compute_series(iter_ops(path))

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

Sends are matched to their invokes with :func:`kfchaos.history.correlation_key`
(FIFO per key, as :func:`kfchaos.history.pair` does).  Fault windows come from
:func:`kfchaos.checkers.faults.fault_windows` over the nemesis ops collected
during the pass; Flink lifecycle ops (``deploy``, ``upgrade``, ``rollback``,
``restore``, ``checkpoint``) are kept as :class:`Event` markers, and so are
idempotent producers' epoch bumps, id resets and fatal errors
(``producer_events``; ``f`` is the event, ``value`` carries the process).
Work is O(n) plus sorting each second's latencies once.

Hostile histories never crash the pass or blow up memory: an op that is not an
object with an integer ``time`` and string ``f``/``type`` is counted in
``malformed`` and skipped; an op timed more than :data:`EARLY_TOLERANCE_S` before
the first op, or more than :data:`MAX_SECONDS` after it, is counted in
``out_of_range`` and skipped (so one far-off timestamp cannot allocate a slot per
second); an op up to a second before the first op counts in second 0.
"""
from __future__ import annotations

import json
import math
import os
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable, Iterator

from kfchaos.checkers.faults import FaultWindow, fault_windows
from kfchaos.history import CLIENT_EVENT_F, FAULT_FS, correlation_key

__all__ = ["Series", "Event", "compute_series", "series_from_path", "iter_ops", "percentile",
           "FLINK_FS", "MAX_SECONDS"]

FLINK_FS = ("deploy", "upgrade", "rollback", "restore", "checkpoint")
#: client events drawn on the timeline (see kfchaos.clients.idempotence)
PRODUCER_EVENTS = ("epoch-bump", "pid-reset", "fatal")
NS = 1_000_000_000
#: the longest span plotted: ops later than this after the first op are left out
MAX_SECONDS = 86_400
#: ops this much before the first op count in second 0; earlier ones are left out
EARLY_TOLERANCE_S = 1


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
    malformed: int = 0                  # ops without an integer time or string f/type
    out_of_range: int = 0               # ops timed outside the plotted span

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


def _op_time(op: Any) -> int | None:
    """The op's time in ns if the op is well-formed enough to place, else None."""
    if not isinstance(op, dict):
        return None
    t = op.get("time")
    if isinstance(t, bool) or not isinstance(op.get("f"), str) or not isinstance(op.get("type"), str):
        return None
    if isinstance(t, int):
        return t
    if isinstance(t, float) and math.isfinite(t):
        return int(t)
    return None


class _Pass:
    """The state of one :func:`compute_series` pass."""

    def __init__(self) -> None:
        self.s = Series()
        self.sends_ok: list[int] = []
        self.sends_err: list[int] = []
        self.polled: list[int] = []
        self.lats: list[list[float] | None] = []
        self.pending: dict[tuple, Any] = {}   # key -> invoke time, or deque of them
        self.fault_ops: list[dict] = []
        self.flink: list[dict] = []
        self.client: list[dict] = []
        self.last_t: int | None = None
        self.last_wall: Any = None

    def bucket(self, t: int) -> int:
        return max(0, (t - self.s.t0) // NS)

    def send(self, op: dict, t: int, typ: str) -> None:
        key = correlation_key(op)
        pending = self.pending
        if typ == "invoke":
            prev = pending.get(key)
            if prev is None:
                pending[key] = t
            elif isinstance(prev, deque):
                prev.append(t)
            else:
                pending[key] = deque((prev, t))
            return
        prev = pending.get(key)
        if prev is None:
            self.s.unmatched_sends += 1
            t_inv = None
        elif isinstance(prev, deque):
            t_inv = prev.popleft()
            if not prev:
                del pending[key]
        else:
            t_inv = prev
            del pending[key]
        i = self.bucket(t)
        counts = self.sends_ok if typ == "ok" else self.sends_err
        if i >= len(counts):
            _grow(counts, i, 0)
        counts[i] += 1
        if typ == "ok" and t_inv is not None:
            j = self.bucket(t_inv)
            if j >= len(self.lats):
                _grow(self.lats, j, None)
            bucket = self.lats[j]
            if bucket is None:
                bucket = self.lats[j] = []
            bucket.append((t - t_inv) / 1e6)

    def poll(self, op: dict, t: int) -> None:
        v = op.get("value")
        recs = v.get("records") if isinstance(v, dict) else None
        if recs and isinstance(recs, list):
            i = self.bucket(t)
            if i >= len(self.polled):
                _grow(self.polled, i, 0)
            self.polled[i] += len(recs)

    def add(self, op: Any) -> None:
        s = self.s
        s.ops += 1
        t = _op_time(op)
        if t is None:
            s.malformed += 1
            return
        if s.t0 is None:
            s.t0, s.t0_wall = t, op.get("wall")
        elif not -EARLY_TOLERANCE_S * NS <= t - s.t0 <= MAX_SECONDS * NS:
            s.out_of_range += 1
            return
        if self.last_t is None or t >= self.last_t:
            self.last_t = t
            if op.get("wall") is not None:
                self.last_wall = op.get("wall")
        f, typ = op["f"], op["type"]
        if f == "send":
            try:
                self.send(op, t, typ)
            except (KeyError, TypeError):     # no process, or an unhashable id
                s.malformed += 1
        elif f == "poll":
            if typ == "ok":
                self.poll(op, t)
        elif f in FAULT_FS:
            self.fault_ops.append(dict(op, time=t))
        elif f in FLINK_FS:
            self.flink.append(dict(op, time=t))
        elif f == CLIENT_EVENT_F:
            v = op.get("value")
            if isinstance(v, dict) and v.get("event") in PRODUCER_EVENTS:
                self.client.append(dict(op, time=t))

    def finish(self) -> Series:
        s = self.s
        s.end = self.last_t
        if s.t0 is None:
            return s
        nsec = int((self.last_t - s.t0) // NS) + 1
        for lst, fill in ((self.sends_ok, 0), (self.sends_err, 0), (self.polled, 0), (self.lats, None)):
            _grow(lst, nsec - 1, fill)
        s.sends_ok, s.sends_err, s.polled = self.sends_ok, self.sends_err, self.polled
        s.lat_p50, s.lat_p99 = [], []
        for b in self.lats:
            if b:
                b.sort()
            s.lat_p50.append(percentile(b, 0.50) if b else None)
            s.lat_p99.append(percentile(b, 0.99) if b else None)
        s.faults = fault_windows(self.fault_ops, self.last_t, self.last_wall)
        s.events = _events(self.flink, s.t0)
        s.producer_events = [Event((op["time"] - s.t0) / NS, op["value"]["event"], op["type"],
                                   {"process": op.get("process"), **op["value"]})
                             for op in self.client]
        return s


def compute_series(ops: Iterable[Any]) -> Series:
    """Single pass over ``ops`` (history order) → :class:`Series`."""
    p = _Pass()
    for op in ops:
        p.add(op)
    return p.finish()


def _events(flink_ops: list[dict], t0: int) -> list[Event]:
    """One event per Flink op: its completion, or its invoke if never completed."""
    out: list[Event] = []
    open_: dict[tuple, list[dict]] = {}
    for op in flink_ops:
        key = (str(op.get("process")), op["f"])
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
    as :func:`kfchaos.history.iter_load`: a corrupt *last* line is dropped,
    a corrupt line elsewhere raises ``ValueError``.  A chunk file
    (``history.kfh``, :mod:`kfchaos.history_chunks`) is read a few frames at a
    time; like here, its ops are parsed but not validated (a malformed op is
    left out of the plots and counted)."""
    from kfchaos.history_chunks import is_chunk_file
    from kfchaos.history_rotation import is_chunk_dir
    if is_chunk_file(path) or is_chunk_dir(path):      # a chunk file, or a rotated history's directory
        from kfchaos.history import locate, parse_chunk, source_lines
        n = 0
        try:
            for lines, at_end in source_lines(path):
                ops = parse_chunk(lines, at_end, n)
                n += len(ops)
                yield from ops
        except ValueError as e:
            raise locate(e, path) if hasattr(e, "ordinal") else e from None
        return
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
    """Stream the history at ``path`` (``history.kfh`` or ``history.jsonl``) through
    :func:`compute_series`."""
    return compute_series(iter_ops(path))

"""Compact digests of read records kept by :class:`~.index.HistoryIndex`.

Contract
--------
* :class:`FinalRead` keeps, per ``final-read`` ok op: partition -> offset ->
  rid (``at``; the last record read at an offset wins), harness id -> first
  position (``ids``, record order), every extra copy of an id at another
  position (``dups``), every offset read twice with different rids
  (``conflicts``) and, for records carrying a ``count`` (Flink output), key
  -> counts.  Not the records themselves.
* :class:`PollDigest` keeps every record returned by the polls of a topic as
  flat columns (partition, offset, rid) plus per-poll time/index/process;
  ``polled`` (partition -> offset -> first rid) and ``conflicts`` (later
  observations of an offset with another rid) are derived on demand.
* Positions, rids and the typed records are defined in :mod:`.records`.

Speed: record columns are extracted with whole-list operations; the
per-record work is one pass per digest.  :meth:`PollDigest.agrees_with`
compares all polled records with a final read in one whole-list operation
(shared by :meth:`PollDigest.seen_ids` and :mod:`.duplicate`).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import filterfalse, groupby, repeat
from operator import itemgetter
from typing import Any

from .records import (HOLE, MASK, SHIFT, pos, positions, raw_rid, rid_of, rids_of,
                      unpos)

__all__ = ["FinalRead", "PollDigest", "HOLE", "SHIFT", "MASK", "pos", "unpos",
           "positions", "raw_rid", "rid_of", "rids_of"]

_P, _O = itemgetter("partition"), itemgetter("offset")
_get = dict.get


def _int_keys(d: dict | None) -> dict[int, int]:
    return {int(k): int(v) for k, v in (d or {}).items() if v is not None}


def _by_partition(ps: list, os: list, rids: list) -> dict[Any, dict[Any, Any]]:
    """partition -> offset -> rid; a later record at an offset wins."""
    at: dict[Any, dict[Any, Any]] = {}
    i = 0
    for p, run in groupby(ps):
        j = i + len(list(run))
        pm = at.get(p)
        if pm is None:
            at[p] = dict(zip(os[i:j], rids[i:j]))
        else:
            pm.update(zip(os[i:j], rids[i:j]))
        i = j
    return at


def _first_positions(ps: list, os: list, ids: list) -> tuple[dict, list]:
    """(harness id -> first position, (id, p, o) of every later copy at
    another position); ``ids``: each record's harness id or None."""
    first: dict[Any, int] = {}
    dups = []
    for rid, q, p, o in zip(ids, positions(ps, os), ps, os):
        if rid is not None and first.setdefault(rid, q) != q:
            dups.append((rid, p, o))
    return first, dups


def _conflicts(ps: list, os: list, rids: list) -> list[tuple]:
    """(p, o, first rid, other rid) per record at an offset read before
    with another rid, record order."""
    seen: dict[tuple, Any] = {}
    out = []
    for p, o, rid in zip(ps, os, rids):
        x = seen.setdefault((p, o), rid)
        if x != rid:
            out.append((p, o, x, rid))
    return out


def _counts(vals: list) -> dict[Any, list]:
    """key -> counts of Flink output records (values carrying ``count``)."""
    counts: dict[Any, list] = {}
    if vals and vals[0].__class__ is dict and "count" in vals[0]:
        dicts = [v for v in vals if v.__class__ is dict]
        for k, c in zip(map(_get, dicts, repeat("key")), map(_get, dicts, repeat("count"))):
            if c is not None:
                lst = counts.get(k)
                if lst is None:
                    counts[k] = [c]
                else:
                    lst.append(c)
    return counts


class FinalRead:
    """Digest of one ``final-read`` op (its records are not retained)."""

    def __init__(self, op: dict):
        v = op["value"]
        self.op = {k: op.get(k) for k in ("index", "process", "type", "time", "wall")}
        self.topic = v.get("topic")
        self.isolation = v.get("isolation") or "read_committed"
        self.start = _int_keys(v.get("start_offsets"))
        self.listed_end = _int_keys(v.get("end_offsets"))
        self.fetch_end = _int_keys(v.get("fetch_end_offsets"))
        self.listed_at = v.get("listed_at")
        past = v.get("past_end") or []
        # records Fetch served at/after the listed end belong to the log: the read's end is
        # the furthest of the listed end, the end Fetch reported and the records found
        self.end = dict(self.listed_end)
        for p, o in [*self.fetch_end.items(), *((r["partition"], r["offset"] + 1) for r in past)]:
            if o > self.end.get(p, -1):
                self.end[p] = o
        self.past_end = [(r["partition"], r["offset"], rid_of(r.get("value"))) for r in past]
        recs = (v.get("records") or []) + past
        self.n_records = len(recs)
        ps, os = list(map(_P, recs)), list(map(_O, recs))
        vals = list(map(_get, recs, repeat("value")))
        rids = rids_of(vals)
        n_dict = list(map(type, vals)).count(dict)
        self.non_dict = len(vals) - n_dict
        harness = rids if n_dict == len(vals) else \
            [r if v.__class__ is dict else None for v, r in zip(vals, rids)]
        self.at = _by_partition(ps, os, rids)
        self.ids, self.dups = _first_positions(ps, os, harness)
        self.conflicts = _conflicts(ps, os, rids) if self.n_positions != len(recs) else []
        self.counts = _counts(vals)
        self._sorted: dict[Any, list] = {}

    def partitions(self) -> list[int]:
        return list(self.at)

    @property
    def n_positions(self) -> int:
        """Distinct (partition, offset) positions read."""
        return sum(map(len, self.at.values()))

    def rid_at(self, p: int, o: int, default: Any = None) -> Any:
        return self.at.get(p, {}).get(o, default)

    def rids_at(self, ps: list, os: list) -> list:
        """The rid read at each position ``(ps[i], os[i])`` (:data:`HOLE`
        where nothing was)."""
        at = self.at
        unread = set(ps) - at.keys()
        if unread:
            at = {**at, **dict.fromkeys(unread, {})}
        return list(map(dict.get, map(at.__getitem__, ps), os, repeat(HOLE)))

    def holds(self, p: int, o: int) -> bool:
        return self.rid_at(p, o, self) is not self

    def sorted_offsets(self, p: int) -> list[int]:
        s = self._sorted.get(p)
        if s is None:
            s = self._sorted[p] = sorted(self.at.get(p, ()))
        return s

    def offsets_in(self, p: int, lo: int, hi: int) -> list[int]:
        """Offsets present in ``[lo, hi)`` of partition ``p``."""
        s = self.sorted_offsets(p)
        i = bisect_left(s, lo)
        return s[i:bisect_left(s, hi, i)]

    def count_in(self, p: int, lo: int, hi: int) -> int:
        """How many offsets are present in ``[lo, hi)`` of partition ``p``."""
        s = self.sorted_offsets(p)
        i = bisect_left(s, lo)
        return bisect_left(s, hi, i) - i

    def position(self, rid: Any) -> tuple[int, int] | None:
        x = self.ids.get(rid)
        return None if x is None else unpos(x)


class PollDigest:
    """Everything returned by ``poll`` ok ops of one topic.

    ``ps``/``os``/``rids``: partition, offset and rid of every polled
    record, history order; ``times``/``cum``: per poll returning records,
    its time and the cumulative record count (``cum[i]``: records before
    poll ``i``); ``index``/``procs``: that poll's op index and process."""

    def __init__(self, topic: str):
        self.topic = topic
        self.n_polls = 0
        self.n_records = 0
        self.processes: set[str] = set()
        self.times: list[int] = []
        self.cum: list[int] = [0]
        self.index: list[Any] = []
        self.procs: list[str] = []
        self.ps: list[int] = []
        self.os: list[int] = []
        self.rids: list[Any] = []
        self._exact: tuple[dict, list] | None = None
        self._agree: tuple[Any, bool] | None = None
        self._seen: set | None = None

    def add_poll(self, time: int, index: Any, process: Any, ps: list, os: list,
                 rids: list) -> None:
        """Append one poll and its records' partitions, offsets and rids."""
        self.n_records += len(ps)
        self.processes.add(process)
        self.times.append(time)
        self.cum.append(self.n_records)
        self.index.append(index)
        self.procs.append(process)
        self.ps += ps
        self.os += os
        self.rids += rids

    def agrees_with(self, fr: FinalRead) -> bool:
        """True if the final read ``fr`` holds every polled record's rid at
        its offset (one whole-list comparison, cached)."""
        if self._agree is None or self._agree[0] is not fr:
            self._agree = (fr, fr.rids_at(self.ps, self.os) == self.rids)
        return self._agree[1]

    def _build(self) -> tuple[dict, list]:
        if self._exact is None:
            polled: dict[Any, dict[Any, Any]] = {}
            conflicts: list[tuple] = []
            for i, (p, o, rid) in enumerate(zip(self.ps, self.os, self.rids)):
                x = polled.setdefault(p, {}).setdefault(o, rid)
                if x is not rid and x != rid:
                    k = bisect_right(self.cum, i) - 1
                    conflicts.append((p, o, x, rid, self.index[k], self.times[k],
                                      self.procs[k]))
            self._exact = (polled, conflicts)
        return self._exact

    @property
    def polled(self) -> dict[int, dict[int, Any]]:
        """partition -> offset -> first rid polled there."""
        return self._build()[0]

    @property
    def conflicts(self) -> list[tuple]:
        """(p, o, first rid, other rid, index, time, process) per record
        polled at an offset first seen with another rid, history order."""
        return self._build()[1]

    def unseen(self, fr: FinalRead) -> list:
        """Harness ids of ``fr`` never polled (``fr.ids`` order)."""
        return list(filterfalse(self.seen_ids(fr).__contains__, fr.ids))

    def seen_ids(self, fr: FinalRead | None = None) -> set:
        """Every rid polled first at its offset, None excluded.  When the
        polls agree with the final read ``fr``, no offset was polled with
        two rids, so that is simply every polled rid: on the 1M-op benchmark
        history this skips building ``polled`` (~0.16 s)."""
        if self._seen is None:
            if fr is not None and self.agrees_with(fr):
                s = set(self.rids)
            else:
                s = set()
                for pm in self.polled.values():
                    s.update(pm.values())
            s.discard(None)
            self._seen = s
        return self._seen

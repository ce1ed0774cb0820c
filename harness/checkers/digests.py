"""Compact per-topic digests kept by :class:`harness.checkers.index.HistoryIndex`.

Contract
--------
* A *write* (plain ``send`` or a send inside a ``txn``) is one list ``S``
  indexed by the ``S_*`` constants: invoke time, process, topic, key, seq,
  outcome type (None while in flight), partition, offset, completion time,
  completion index, invoke index, txn name (txn sends only), id.
* A record position is the int ``pos(p, o) = p << 40 | o``.
* A record identity ("rid") is ``value["id"]`` for dict values, None for a
  null value, else ``("raw", value)``.
* :class:`FinalRead` keeps, per final-read op, partition -> offset -> rid
  (``at``), rid -> first position (``ids``), duplicate copies, and for
  records carrying a ``count`` (Flink output) key -> counts; not the records
  themselves.  ``packed`` is True when every partition was one run of
  strictly increasing offsets in ``[0, 2**40)``, no id was read twice and
  every value was a dict (then positions are exact and conflicts empty).
* :class:`PollDigest` keeps every record returned by the polls of a topic as
  two flat columns (position, rid) plus per-poll time/index/process;
  ``polled`` (partition -> offset -> first rid) and ``conflicts`` (later
  observations of an offset with another rid) are derived on demand.

Both digests are built with whole-list (C-level) operations in the common
case -- every value a dict, partitions in single runs of strictly increasing
offsets, no id twice -- and fall back to an exact record-by-record pass
otherwise; either way the result is the same.
"""
from __future__ import annotations

import json
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from itertools import compress, filterfalse, groupby, islice, repeat
from operator import getitem, itemgetter, lshift, lt, not_, or_, setitem, sub
from typing import Any

__all__ = ["S_IT", "S_PROC", "S_TOPIC", "S_KEY", "S_SEQ", "S_TYPE", "S_P", "S_O",
           "S_DT", "S_DI", "S_II", "S_TXN", "S_ID", "pos", "unpos", "raw_rid", "rid_of",
           "rids_of", "positions", "FinalRead", "PollDigest"]

(S_IT, S_PROC, S_TOPIC, S_KEY, S_SEQ, S_TYPE, S_P, S_O, S_DT, S_DI, S_II,
 S_TXN, S_ID) = range(13)
SHIFT = 40
MASK = (1 << SHIFT) - 1
_P, _O = itemgetter("partition"), itemgetter("offset")
_get = dict.get


HOLE = type("Hole", (), {"__repr__": lambda self: "HOLE"})()   # no record at an offset


def pos(p: int, o: int) -> int:
    return (p << SHIFT) | o


def unpos(x: int) -> tuple[int, int]:
    return x >> SHIFT, x & MASK


def raw_rid(val: Any) -> Any:
    """Identity of a non-dict record value: None, or ("raw", value)."""
    if val is None:
        return None
    if isinstance(val, (str, int, float, bool)):
        return ("raw", val)
    return ("raw", json.dumps(val, sort_keys=True))


def rid_of(val: Any) -> Any:
    return val.get("id") if val.__class__ is dict else raw_rid(val)


def rids_of(vals: list) -> list:
    """:func:`rid_of` of every value (C-level when all are plain dicts)."""
    if set(map(type, vals)) <= {dict}:
        return list(map(_get, vals, repeat("id")))
    return [rid_of(v) for v in vals]


def positions(ps: list, os: list) -> list[int]:
    """``pos(p, o)`` of parallel partition/offset lists (ints required)."""
    return list(map(or_, map(lshift, ps, repeat(SHIFT)), os))


def _int_keys(d: dict | None) -> dict[int, int]:
    return {int(k): int(v) for k, v in (d or {}).items() if v is not None}


class FinalRead:
    """Digest of one ``final-read`` op (its records are not retained)."""

    def __init__(self, op: dict):
        v = op["value"]
        self.op = {k: op.get(k) for k in ("index", "process", "type", "time", "wall")}
        self.topic = v.get("topic")
        self.isolation = v.get("isolation") or "read_committed"
        self.start = _int_keys(v.get("start_offsets"))
        self.end = _int_keys(v.get("end_offsets"))
        recs = v.get("records") or []
        self.n_records = len(recs)
        self.counts: dict[Any, list] = {}  # key -> [count, ...] (records with "count")
        self.dups: list[tuple] = []        # (rid, p, o) of every extra copy
        self.conflicts: list[tuple] = []   # (p, o, rid a, rid b): one offset read twice
        self.non_dict = 0
        self._at: dict[int, dict[int, Any]] | None = None
        self._cols: dict[int, tuple[list, list]] = {}   # p -> (sorted offsets, rids)
        self._sorted: dict[int, list[int]] = {}
        self._dense_cache: Any = None
        try:
            self.packed = self._bulk(recs)
        except (KeyError, TypeError, AttributeError):
            self.packed = False
        if not self.packed:
            self._slow(recs)

    def _bulk(self, recs: list) -> bool:
        """Whole-list digest; False (nothing kept) unless the common case."""
        ps = list(map(_P, recs))
        os = list(map(_O, recs))
        vals = list(map(_get, recs, repeat("value")))
        if set(map(type, vals)) - {dict}:
            return False
        rids = list(map(_get, vals, repeat("id")))
        cols: dict[int, tuple[list, list]] = {}
        qs: list[int] = []
        i = 0
        for p, g in groupby(ps):
            n = len(list(g))
            if p in cols:
                return False                  # partition split over several runs
            offs = os[i:i + n]
            if n > 1 and not all(map(lt, offs, islice(offs, 1, None))):
                return False                  # unsorted or repeated offsets
            if p < 0 or offs[0] < 0 or offs[-1] > MASK:
                return False                  # not packable into a position
            qs += map(or_, repeat(p << SHIFT), offs)
            cols[p] = (offs, rids[i:i + n])
            i += n
        ids = dict(zip(rids, qs))
        nulls = rids.count(None)
        if nulls:
            del ids[None]
        if len(ids) != len(rids) - nulls:
            return False                      # an id twice: the exact pass lists the copies
        self.ids, self._cols = ids, cols
        self._sorted = {p: c[0] for p, c in cols.items()}
        if recs and "count" in vals[0]:
            counts = self.counts
            for k, c in zip(map(_get, vals, repeat("key")), map(_get, vals, repeat("count"))):
                if c is not None:
                    lst = counts.get(k)
                    if lst is None:
                        counts[k] = [c]
                    else:
                        lst.append(c)
        return True

    def _slow(self, recs: list) -> None:
        """Record-by-record digest (any input)."""
        ids: dict[Any, int] = {}
        at: dict[int, dict[int, Any]] = {}
        dups, counts = self.dups, self.counts
        malformed = 0
        has_count = any(r.get("value").__class__ is dict and "count" in r["value"]
                        for r in recs[:1])
        lastp, pm, base = None, None, 0
        for r in recs:
            p = r["partition"]
            if p != lastp:
                pm = at.get(p)
                if pm is None:
                    pm = at[p] = {}
                lastp, base = p, p << SHIFT
            o = r["offset"]
            val = r.get("value")
            if val.__class__ is dict:
                rid = val.get("id")
                if rid is not None:
                    q = base | o
                    if ids.setdefault(rid, q) != q:
                        dups.append((rid, p, o))
                if has_count:
                    c = val.get("count")
                    if c is not None:
                        k = val.get("key")
                        lst = counts.get(k)
                        if lst is None:
                            lst = counts[k] = []
                        lst.append(c)
            else:
                rid = raw_rid(val)
                malformed += 1
            pm[o] = rid
        self.ids, self._at, self.non_dict = ids, at, malformed
        self._cols = {}
        if sum(map(len, at.values())) != len(recs):
            seen: dict[tuple, Any] = {}
            for r in recs:
                k = (r["partition"], r["offset"])
                rid = rid_of(r.get("value"))
                if seen.setdefault(k, rid) != rid:
                    self.conflicts.append((k[0], k[1], seen[k], rid))

    @property
    def at(self) -> dict[int, dict[int, Any]]:
        """partition -> offset -> rid (the last record read at that offset)."""
        if self._at is None:
            self._at = {p: dict(zip(offs, rids)) for p, (offs, rids) in self._cols.items()}
        return self._at

    def partitions(self) -> list[int]:
        return list(self._cols) if self._at is None else list(self._at)

    @property
    def n_positions(self) -> int:
        """Distinct (partition, offset) positions read."""
        if self._at is None:
            return self.n_records
        return sum(map(len, self._at.values()))

    def rid_at(self, p: int, o: int, default: Any = None) -> Any:
        if self._at is None:
            c = self._cols.get(p)
            if c is None:
                return default
            offs = c[0]
            i = bisect_left(offs, o)
            return c[1][i] if i < len(offs) and offs[i] == o else default
        return self._at.get(p, {}).get(o, default)

    def rids_at(self, ps: list, os: list) -> list | None:
        """The rid read at each position ``(ps[i], os[i])`` (:data:`HOLE`
        where nothing was), or None when that cannot be answered with
        whole-list operations (not ``packed``, sparse offsets, a position
        outside a partition's read range, non-int values)."""
        dense = self._dense()
        if dense is None:
            return None
        bases, arrs = dense
        try:
            idx = list(map(sub, os, map(bases.__getitem__, ps)))
            if idx and min(idx) < 0:
                return None
            return list(map(getitem, map(arrs.__getitem__, ps), idx))
        except (KeyError, IndexError, TypeError):
            return None

    def _dense(self) -> tuple[dict, dict] | None:
        """(partition -> first offset, partition -> rids by offset - first)."""
        if self._dense_cache is None:
            self._dense_cache = False
            if self.packed:
                bases, arrs = {}, {}
                for p, (offs, rids) in self._cols.items():
                    base, span = offs[0], offs[-1] - offs[0] + 1
                    if span == len(offs):
                        arr = rids
                    elif span > 4 * len(offs) + 1024:
                        return None
                    else:
                        arr = [HOLE] * span
                        deque(map(arr.__setitem__, map(sub, offs, repeat(base)), rids), 0)
                    bases[p], arrs[p] = base, arr
                self._dense_cache = (bases, arrs)
        return self._dense_cache or None

    def holds(self, p: int, o: int) -> bool:
        return self.rid_at(p, o, self) is not self

    def sorted_offsets(self, p: int) -> list[int]:
        s = self._sorted.get(p)
        if s is None:
            s = self._sorted[p] = [] if self.packed else sorted(self.at.get(p, ()))
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
    record, history order (``os`` an ``array("q")`` while all are ints);
    ``times``/``cum``: per poll returning records, its
    time and the cumulative record count (``cum[i]``: records before poll
    ``i``); ``index``/``procs``: that poll's op index and process."""

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
        self.os: Any = array("q")          # (a list once a non-int offset was polled)
        self.rids: list[Any] = []
        self._exact: tuple[dict, list] | None = None
        self._agree: tuple[Any, bool] | None = None
        self._seen: set | None = None

    def add(self, ps: list, os: list, rids: list) -> None:
        """Append records' partitions, offsets and rids."""
        self.ps += ps
        self.rids += rids
        if self.os.__class__ is array:
            if set(map(type, os)) <= {int}:
                try:
                    self.os += array("q", os)
                    return
                except OverflowError:
                    pass
            self.os = self.os.tolist()
        self.os += os

    def agrees_with(self, fr: FinalRead) -> bool:
        """True if the final read ``fr`` holds every polled record's rid at
        its offset (whole-list check; False means "not shown", and the exact
        ``polled``/``conflicts`` decide).  Then no offset was polled with two
        rids either."""
        if self._agree is not None and self._agree[0] is fr:
            return self._agree[1]
        ok = not self.rids
        if not ok:
            got = fr.rids_at(self.ps, self.os)
            ok = got is not None and got == self.rids
        self._agree = (fr, ok)
        return ok

    def _build(self) -> tuple[dict, list]:
        if self._exact is None:
            polled: dict[Any, dict[Any, Any]] = {}
            conflicts: list[tuple] = []
            cum, lastp, pm = self.cum, None, None
            for i, (p, o, rid) in enumerate(zip(self.ps, self.os, self.rids)):
                if p != lastp or pm is None:
                    pm = polled.get(p)
                    if pm is None:
                        pm = polled[p] = {}
                    lastp = p
                x = pm.setdefault(o, rid)
                if x is not rid and x != rid:
                    k = bisect_right(cum, i) - 1
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
        """Ids of ``fr`` never polled (``fr.ids`` order)."""
        dense = fr._dense() if self.agrees_with(fr) else None
        if dense is None:
            return list(filterfalse(self.seen_ids(fr).__contains__, fr.ids))
        # polled records are where fr holds them: mark the polled offsets
        bases, arrs = dense
        marks = {p: bytearray(len(a)) for p, a in arrs.items()}
        ps = self.ps
        deque(map(setitem, map(marks.__getitem__, ps),
                  map(sub, self.os, map(bases.__getitem__, ps)), repeat(1)), 0)
        out: list = []
        for p, (offs, rids) in fr._cols.items():
            m = marks[p]
            if m.count(1) != len(offs):
                out += compress(rids, map(not_, map(m.__getitem__,
                                                    map(sub, offs, repeat(bases[p])))))
        return [r for r in out if r is not None]

    def seen_ids(self, fr: FinalRead | None = None) -> set:
        """Every rid polled (first at its offset), None excluded."""
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

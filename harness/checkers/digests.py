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
* :class:`FinalRead` keeps, per final-read op, partition -> offset -> rid,
  rid -> first position, duplicate copies, and for records carrying a
  ``count`` (Flink output) key -> counts; not the records themselves.
* :class:`PollDigest` keeps partition -> offset -> rid over every poll of a
  topic and the conflicting observations of one offset.
"""
from __future__ import annotations

import json
from bisect import bisect_left
from typing import Any

__all__ = ["S_IT", "S_PROC", "S_TOPIC", "S_KEY", "S_SEQ", "S_TYPE", "S_P", "S_O",
           "S_DT", "S_DI", "S_II", "S_TXN", "S_ID", "pos", "unpos", "raw_rid", "rid_of",
           "FinalRead", "PollDigest"]

(S_IT, S_PROC, S_TOPIC, S_KEY, S_SEQ, S_TYPE, S_P, S_O, S_DT, S_DI, S_II,
 S_TXN, S_ID) = range(13)
SHIFT = 40
MASK = (1 << SHIFT) - 1


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
        ids: dict[Any, int] = {}
        at: dict[int, dict[int, Any]] = {}
        dups: list[tuple] = []             # (rid, p, o) of every extra copy
        counts: dict[Any, list] = {}       # key -> [count, ...] (records with "count")
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
        self.ids, self.at, self.dups = ids, at, dups
        self.counts, self.non_dict = counts, malformed
        self.conflicts: list[tuple] = []   # (p, o, rid a, rid b): one offset read twice
        if sum(map(len, at.values())) != len(recs):
            seen: dict[tuple, Any] = {}
            for r in recs:
                k = (r["partition"], r["offset"])
                rid = rid_of(r.get("value"))
                if seen.setdefault(k, rid) != rid:
                    self.conflicts.append((k[0], k[1], seen[k], rid))
        self._sorted: dict[int, list[int]] = {}

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

    def position(self, rid: Any) -> tuple[int, int] | None:
        x = self.ids.get(rid)
        return None if x is None else unpos(x)


class PollDigest:
    """Everything returned by ``poll`` ok ops of one topic."""

    def __init__(self, topic: str):
        self.topic = topic
        self.polled: dict[int, dict[int, Any]] = {}
        self.conflicts: list[tuple] = []   # (p, o, first rid, other rid, index, time, process)
        self.n_polls = 0
        self.n_records = 0
        self.processes: set[str] = set()
        self.times: list[int] = []         # polls returning records: time
        self.cum: list[int] = [0]          # ... and cumulative record count
        self._seen: set | None = None

    def seen_ids(self) -> set:
        if self._seen is None:
            s: set = set()
            for pm in self.polled.values():
                s.update(pm.values())
            s.discard(None)
            self._seen = s
        return self._seen

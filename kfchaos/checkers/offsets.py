"""Offset-continuity checker for final reads.

Contract
--------
For every ``final-read`` ok op and every partition, the offsets read must
cover ``[start_offsets[p], end_offsets[p])`` without holes.  Control records
(transaction markers) and aborted records are invisible to consumers, so a
hole is only provable on a topic that is *not* transactional:

* non-transactional topic (written only by plain harness ``send``s, no
  ``txn`` op, not declared in ``transactional_topics``): every missing offset
  is an ``offset-gap`` anomaly (invalid), whatever the isolation level;
* transactional topic (txn ops write it, it is listed in
  ``transactional_topics``, or -- when nothing is declared -- no harness send
  writes it, e.g. a Flink exactly-once sink): holes are allowed and only
  counted in ``stats["transactional-gaps"]`` / ``["transactional-missing"]``.

Offsets read outside ``[start, end)`` are counted in
``stats["out-of-range"]``.  No final read at all: ``unknown``.

``end-offset-understated``: the end offset the platform listed (ListOffsets latest) lay
below a record that Fetch then served at or beyond it and whose write had been
acknowledged before the listing was answered (``listed_at``): a consumer or a job that
reads "to the end" misses acknowledged data. Records written after the listing are not
counted (``stats["past-end-later"]``).  A known upstream cause is named in the example
(:mod:`.known_causes`).

``offset-reused``: one offset of a partition seen holding two different records (two
polls, or a poll and the final read): the log was rewritten below offsets already
handed out (a broker that lost its data and took leadership, an unclean election).
"""
from __future__ import annotations

from typing import Any, Iterable

from .digests import FinalRead
from .index import as_index
from .known_causes import likely_cause
from .verdict import Verdict

NAME = "offsets"


def check(history: Any, *, transactional_topics: Iterable[str] | None = None,
          **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    declared = list(transactional_topics) if transactional_topics is not None else None
    st = v.stats
    st.update({"final-reads": 0, "partitions": 0, "records": 0, "offset-gap": 0,
               "missing-offsets": 0, "transactional-gaps": 0,
               "transactional-missing": 0, "out-of-range": 0, "end-offset-understated": 0,
               "past-end-later": 0, "topics": {}})
    for fr in idx.final_reads:
        txn = idx.is_transactional(fr.topic, declared)
        st["topics"][fr.topic] = "transactional" if txn else "plain"
        st["final-reads"] += 1
        st["records"] += fr.n_records
        _check_read(idx, v, fr, txn)
        _understated_end(idx, v, fr)
    _reused_offsets(idx, v)
    if not st["final-reads"]:
        return v.finish("no final read in history")
    return v.finish()


def _reused_offsets(idx: Any, v: Verdict) -> None:
    """Offsets seen with two different records, among polls and against the final read."""
    v.stats["offset-reused"] = 0
    for topic in idx.poll_topics():
        g = idx.polls(topic)
        for p, o, first, other, index, time, process in g.conflicts:
            _reused(idx, v, topic, p, o, first, other, time=time, process=process, index=index)
        fr = idx.final_read(topic)
        if fr is None or g.agrees_with(fr):
            continue
        for p, offs in sorted(g.polled.items()):
            for o, rid in sorted(offs.items()):
                now = fr.rid_at(p, o)
                if now is not None and now != rid:
                    _reused(idx, v, topic, p, o, rid, now, op=fr.op)


def _reused(idx: Any, v: Verdict, topic: str, p: int, o: int, first: Any, other: Any, op: Any = None,
            **where: Any) -> None:
    v.stats["offset-reused"] += 1
    v.add("offset-reused", idx.example(op, topic=topic, partition=p, offset=o, first=first, then=other, **where)
          if v.wants_example("offset-reused") else None)


def _check_read(idx: Any, v: Verdict, fr: FinalRead, txn: bool) -> None:
    st = v.stats
    for p in sorted(set(fr.start) | set(fr.end) | set(fr.partitions())):
        st["partitions"] += 1
        offs = fr.sorted_offsets(p)
        lo = fr.start.get(p, offs[0] if offs else 0)
        hi = fr.end.get(p, offs[-1] + 1 if offs else lo)
        inside = fr.offsets_in(p, lo, hi)
        st["out-of-range"] += len(offs) - len(inside)
        for a, b in _holes(inside, lo, hi):
            n = b - a + 1
            if txn:
                st["transactional-gaps"] += 1
                st["transactional-missing"] += n
                continue
            st["offset-gap"] += 1
            st["missing-offsets"] += n
            v.add("offset-gap", idx.example(
                fr.op, topic=fr.topic, partition=p, offset=a, missing=[a, b], count=n,
                isolation=fr.isolation, start=lo, end=hi,
                before=fr.rid_at(p, a - 1), after=fr.rid_at(p, b + 1)))


def _understated_end(idx: Any, v: Verdict, fr: FinalRead) -> None:
    """Acknowledged records the listed end left out although Fetch served them."""
    cause = None
    for p, o, rid in fr.past_end:
        w = idx.write(rid) if rid is not None else None
        acked_before = (w is not None and w.outcome == "ok" and w.done_time is not None
                        and fr.listed_at is not None and w.done_time <= fr.listed_at)
        if not acked_before:
            v.stats["past-end-later"] += 1
            continue
        v.stats["end-offset-understated"] += 1
        if not v.wants_example("end-offset-understated"):
            v.add("end-offset-understated")
            continue
        cause = cause or likely_cause(idx, "end-offset-understated")
        extra = {"likely_cause": cause} if cause else {}
        v.add("end-offset-understated", idx.write_example(
            rid, topic=fr.topic, partition=p, offset=o, listed_end=fr.listed_end.get(p),
            fetch_end=fr.fetch_end.get(p), **extra))


def _holes(offs: list[int], lo: int, hi: int) -> list[tuple[int, int]]:
    """Inclusive ranges of ``[lo, hi)`` missing from sorted ``offs``."""
    if len(offs) == hi - lo:
        return []                # every offset in [lo, hi) is present
    out, prev = [], lo - 1
    for o in offs + [hi]:
        if o > prev + 1:
            out.append((prev + 1, o - 1))
        prev = o
    return out

"""Ordering checker (producer order and consumer order).

Contract
--------
Producer order (harness producers are idempotent): for each producer process,
topic, key and partition, acknowledged writes (send ok, txn ok) sorted by
``seq`` must have strictly increasing offsets.  Violation: ``reordered``.

Consumer order: within one consumer process, between two rebalance callbacks
(``assign``/``revoke`` of that partition reset tracking), the offsets polled
from a partition must be

* strictly increasing, else ``nonmonotonic``;
* contiguous, else ``skip`` -- unless every offset in the gap is unreadable:
  absent from the topic's final read (transaction markers, aborted records),
  or, with a read_uncommitted final read, holding aborted-transaction records.

Without a final read a gap cannot be explained: it is a ``skip`` on a topic
written only by plain sends, and is only counted in
``stats["unverified-gaps"]`` on a transactional/external topic (see
``HistoryIndex.is_transactional``; option ``transactional_topics``).
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, Iterable

from .index import as_index
from .records import Write
from .verdict import Verdict

NAME = "ordering"
_SEQ = attrgetter("seq")


def check(history: Any, *, transactional_topics: Iterable[str] | None = None,
          **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    _producer_order(idx, v)
    _consumer_order(idx, v, transactional_topics)
    return v.finish()


def _producer_order(idx: Any, v: Verdict) -> None:
    """Acks found out of order by the digest (acks in seq order), then the
    producer/topic/keys whose acks arrived out of seq order, sorted."""
    bad = 0
    for prev, w in idx.reorders:
        if (w.process, w.topic, w.key) not in idx.unsorted:
            bad += 1
            _reordered(v, idx, prev, w)
    for prev, w in _unsorted_reorders(idx):
        bad += 1
        _reordered(v, idx, prev, w)
    v.stats["acked-writes-checked"] = sum(map(len, idx.acked.values()))
    v.stats["out-of-order-acks"] = len(idx.unsorted)
    v.stats["reordered"] = bad


def _unsorted_reorders(idx: Any) -> list[tuple[Write, Write]]:
    """Reordered pairs among the acks of ``idx.unsorted``'s producer/topic/
    keys: per partition, sorted by seq, offsets must increase."""
    if not idx.unsorted:
        return []
    groups: dict[tuple, list[Write]] = {}
    for acked in idx.acked.values():
        for w in acked.values():
            if (w.process, w.topic, w.key) in idx.unsorted:
                groups.setdefault((w.process, w.topic, w.key, w.partition), []).append(w)
    out = []
    for writes in groups.values():
        writes.sort(key=_SEQ)
        for prev, w in zip(writes, writes[1:]):
            if w.seq != prev.seq and w.offset is not None and prev.offset is not None \
                    and w.offset <= prev.offset:
                out.append((prev, w))
    return out


def _reordered(v: Verdict, idx: Any, prev: Write, w: Write) -> None:
    v.add("reordered", idx.write_example(
        w.id, topic=w.topic, seqs=[prev.seq, w.seq], offsets=[prev.offset, w.offset],
        ids=[prev.id, w.id]) if v.wants_example("reordered") else None)


def _consumer_order(idx: Any, v: Verdict, declared: Iterable[str] | None) -> None:
    st = v.stats
    st.update({"polled-records": sum(g.n_records for g in map(idx.polls, idx.poll_topics())),
               "nonmonotonic": 0, "skip": 0, "explained-gaps": 0, "unverified-gaps": 0})
    for ev in idx.order_events:
        if ev.kind == "back":
            st["nonmonotonic"] += 1
            v.add("nonmonotonic", _step_example(idx, ev)
                  if v.wants_example("nonmonotonic") else None)
            continue
        kind = _gap_kind(idx, ev, declared)
        st[kind] += 1
        if kind == "skip":
            v.add("skip", _step_example(idx, ev, missing=[ev.previous + 1, ev.offset - 1])
                  if v.wants_example("skip") else None)


def _gap_kind(idx: Any, ev: Any, declared: Iterable[str] | None) -> str:
    """"explained-gaps", "unverified-gaps" or "skip" for a forward gap."""
    ok = idx.gap_explained(ev.topic, ev.partition, ev.previous + 1, ev.offset)
    if ok:
        return "explained-gaps"
    if ok is None and idx.is_transactional(ev.topic, declared):
        return "unverified-gaps"
    return "skip"


def _step_example(idx: Any, ev: Any, **fields: Any) -> dict:
    return idx.example(None, index=ev.index, time=ev.time, process=ev.process,
                       topic=ev.topic, partition=ev.partition, offset=ev.offset,
                       previous=ev.previous, **fields)

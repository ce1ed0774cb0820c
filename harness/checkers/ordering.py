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

from typing import Any, Iterable

from .digests import S_ID, S_KEY, S_O, S_P, S_PROC, S_SEQ, S_TOPIC
from .index import as_index
from .verdict import Verdict

NAME = "ordering"


def check(history: Any, *, transactional_topics: Iterable[str] | None = None,
          **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    _producer_order(idx, v)
    _consumer_order(idx, v, transactional_topics)
    return v.finish()


def _producer_order(idx: Any, v: Verdict) -> None:
    n = sum(map(len, idx.acked.values()))
    bad = 0
    for prev, S in idx.reorders:          # found online, acks in seq order
        if (S[S_PROC], S[S_TOPIC], S[S_KEY]) in idx.unsorted:
            continue                       # re-checked below with a full sort
        bad += 1
        _reordered(idx, v, prev, S)
    if idx.unsorted:                       # acks arrived out of seq order
        groups: dict[tuple, list] = {}
        for acked in idx.acked.values():
            for S in acked.values():
                k = (S[S_PROC], S[S_TOPIC], S[S_KEY])
                if k in idx.unsorted:
                    groups.setdefault(k + (S[S_P],), []).append(S)
        for lst in groups.values():
            lst.sort(key=_seq)
            for prev, S in zip(lst, lst[1:]):
                if S[S_SEQ] != prev[S_SEQ] and S[S_O] is not None and prev[S_O] is not None \
                        and S[S_O] <= prev[S_O]:
                    bad += 1
                    _reordered(idx, v, prev, S)
    v.stats["acked-writes-checked"] = n
    v.stats["out-of-order-acks"] = len(idx.unsorted)
    v.stats["reordered"] = bad


def _reordered(idx: Any, v: Verdict, prev: list, S: list) -> None:
    v.add("reordered", idx.write_example(
        S[S_ID], topic=S[S_TOPIC], seqs=[prev[S_SEQ], S[S_SEQ]],
        offsets=[prev[S_O], S[S_O]], ids=[prev[S_ID], S[S_ID]])
        if v.wants_example("reordered") else None)


def _seq(S: list) -> Any:
    return S[S_SEQ]


def _consumer_order(idx: Any, v: Verdict, declared: Iterable[str] | None) -> None:
    st = v.stats
    st.update({"polled-records": sum(g.n_records for g in map(idx.polls, idx.poll_topics())),
               "nonmonotonic": 0, "skip": 0, "explained-gaps": 0, "unverified-gaps": 0})
    for kind, index, time, proc, topic, p, last, o in idx.order_events:
        if kind == "back":
            st["nonmonotonic"] += 1
            v.add("nonmonotonic", idx.example(
                None, index=index, time=time, process=proc, topic=topic, partition=p,
                offset=o, previous=last) if v.wants_example("nonmonotonic") else None)
            continue
        ok = idx.gap_explained(topic, p, last + 1, o)
        if ok:
            st["explained-gaps"] += 1
            continue
        if ok is None and idx.is_transactional(topic, declared):
            st["unverified-gaps"] += 1
            continue
        st["skip"] += 1
        v.add("skip", idx.example(
            None, index=index, time=time, process=proc, topic=topic, partition=p,
            offset=o, previous=last, missing=[last + 1, o - 1])
            if v.wants_example("skip") else None)

"""Duplicate and inconsistent-offset checker.

Contract
--------
Per topic, every observation of a record position is merged, in this order:
the final read, the (partition, offset) of acknowledged writes (send ok /
txn ok) and every record returned by ``poll`` ok ops.

* ``duplicate``: one harness id observed at two or more different
  (partition, offset) positions.  ``in_final_read`` tells whether the final
  read itself holds two copies.  Invalid.
* ``inconsistent-offset``: two different ids observed at the same
  (topic, partition, offset): an ack pointing at an offset that holds another
  record, or two reads disagreeing.  Invalid.

Duplicates are listed in the order their second position was observed.
``stats["positions"]`` counts the distinct positions observed and
``stats["ids"]`` the distinct harness ids plus the positions holding no
harness id.

A duplicate's example carries the idempotence events its producer recorded
while the write was in flight (``client_events``, ``likely_cause``: see
:mod:`.examples`); ``stats["producer-epoch-bumps"]`` counts the completed epoch
bumps and producer-id replacements of all producers (None when the history records no client
events, as in runs made before they were recorded).

Records without a harness id (non-dict values, dicts without ``id``) only
take part in the inconsistent-offset check.  The verdict is never
``unknown`` (the lost checker reports missing final reads).  Options:
``topics``.

Speed: a source that agrees with the final read as a whole adds no
position and no conflict, so it is not merged record by record.  Two
whole-list comparisons show it: every polled record's rid equals the final
read's at that offset; every ack is at its id's first position in the final
read (a join the lost checker already made).  On the 1M-op benchmark history
(~660k polled records, ~380k acks) they take ~0.1 s and ~0.05 s where the
record-by-record merges take ~0.4 s and ~0.2 s, on every valid run.
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, Iterable

from kfchaos.history import CLIENT_EVENT_F

from .index import as_index
from .records import pos, positions, unpos
from .verdict import Verdict

NAME = "duplicate"
_ABSENT = object()
_AGREES = object()
_PARTITION, _OFFSET = attrgetter("partition"), attrgetter("offset")


def check(history: Any, *, topics: Iterable[str] | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    all_topics = set(idx.final_read_topics()) | set(idx.acked) | set(idx.poll_topics())
    if topics is not None:
        all_topics &= set(topics)
    v.stats.update({"topics": len(all_topics), "positions": 0, "ids": 0,
                    "duplicate": 0, "inconsistent-offset": 0})
    for topic in sorted(all_topics, key=str):
        _check_topic(idx, v, topic)
    v.stats["producer-epoch-bumps"] = _epoch_bumps(idx.get(CLIENT_EVENT_F))
    return v.finish()


def _epoch_bumps(events: list[dict]) -> int | None:
    """Completed epoch bumps plus producer ids replaced (several requests can
    start one drain, so drain starts over-count)."""
    if not events:
        return None
    n = 0
    for op in events:
        ev = op.get("value")
        if isinstance(ev, dict) and (ev.get("event") == "epoch-bumped" or (
                ev.get("event") == "pid-assigned" and ev.get("previous") is not None)):
            n += 1
    return n


def _check_topic(idx: Any, v: Verdict, topic: Any) -> None:
    fr, acked, polls = idx.final_read(topic), idx.acked.get(topic), idx.polls(topic)
    merge_acks = bool(acked) and not _acks_agree(idx, acked, fr)
    merge_polls = polls is not None and not (fr is not None and polls.agrees_with(fr))
    seen = _Positions(idx, v, topic, fr, merge_acks or merge_polls)
    if merge_acks:
        seen.acks(acked)
    if merge_polls:
        seen.polls(polls)
    n_pos = sum(map(len, seen.merged.values()))
    v.stats["positions"] += n_pos
    v.stats["ids"] += n_pos - sum(len(c) - 1 for c in seen.copies.values())
    for rid, places in seen.copies.items():
        _duplicate(idx, v, topic, fr, rid, places)


def _acks_agree(idx: Any, acked: dict, fr: Any) -> bool:
    """Every ack is at the first position of its id in a final read that
    read no offset twice (then merging the acks adds nothing)."""
    if fr is None or fr.conflicts:
        return False
    ws = list(acked.values())
    ps, os = list(map(_PARTITION, ws)), list(map(_OFFSET, ws))
    if None in ps or None in os or min(os) < 0:
        return False
    return idx.lookup(acked, fr.ids) == positions(ps, os)


class _Positions:
    """Positions of one topic observed so far: position -> first rid seen
    there, harness id -> first position, and ids seen at several positions."""

    def __init__(self, idx: Any, v: Verdict, topic: Any, fr: Any, merging: bool):
        """Start from the final read ``fr``; ``merging``: other sources will
        be merged (else the final read's tables are used without a copy)."""
        self.idx, self.v, self.topic = idx, v, topic
        self.merged: dict[Any, dict[Any, Any]] = {}
        self.first: dict[Any, int] = {}
        self.copies: dict[Any, list] = {}
        self.source: dict[tuple, str] = {}     # position -> first source, if an ack
        if fr is None:
            return
        for p, o, a, b in fr.conflicts:
            self.conflict(p, o, a, b, "final-read", time=fr.op["time"], index=fr.op["index"])
        if fr.conflicts:        # an offset read twice: the last record read there counts
            for p in sorted(fr.at):
                for o, rid in fr.at[p].items():
                    self.observe(p, o, rid)
            return
        self.merged = {p: dict(pm) for p, pm in fr.at.items()} if merging else fr.at
        self.first = dict(fr.ids) if merging else fr.ids
        for rid, p, o in fr.dups:
            self.copies.setdefault(rid, [unpos(self.first[rid])]).append((p, o))

    def acks(self, acked: dict) -> None:
        for rid, w in acked.items():
            p, o = w.partition, w.offset
            if p is None or o is None or o < 0:
                continue
            x = self.observe(p, o, rid)
            if x is not _AGREES:
                self.conflict(p, o, x, rid, "ack", ack=self.idx.write_example(rid))
                self.source.setdefault((p, o), "ack")

    def polls(self, polls: Any) -> None:
        for p, o, a, b, index, time, proc in polls.conflicts:
            self.conflict(p, o, a, b, "poll", index=index, time=time, process=proc)
        for p, pm in polls.polled.items():
            for o, rid in pm.items():
                x = self.observe(p, o, rid)
                if x is not _AGREES:
                    self.conflict(p, o, x, rid, "poll")

    def observe(self, p: Any, o: Any, rid: Any) -> Any:
        """Merge one observation; the rid seen there before if it differs,
        else ``_AGREES``."""
        mp = self.merged.setdefault(p, {})
        x = mp.get(o, _ABSENT)
        if x is _ABSENT:
            mp[o] = rid
            if rid is not None and rid.__class__ is not tuple:
                q = pos(p, o)
                f = self.first.setdefault(rid, q)
                if f != q:
                    self.copies.setdefault(rid, [unpos(f)]).append((p, o))
            return _AGREES
        return _AGREES if x is rid or x == rid else x

    def conflict(self, p: int, o: int, a: Any, b: Any, where: str, **ctx: Any) -> None:
        v = self.v
        v.stats["inconsistent-offset"] += 1
        if not v.wants_example("inconsistent-offset"):
            v.add("inconsistent-offset")
            return
        v.add("inconsistent-offset", self.idx.example(
            None, topic=self.topic, partition=p, offset=o, ids=[a, b],
            sources=[self.source.get((p, o), "final-read"), where], **ctx))


def _duplicate(idx: Any, v: Verdict, topic: Any, fr: Any, rid: Any, places: list) -> None:
    v.stats["duplicate"] += 1
    if not v.wants_example("duplicate"):
        v.add("duplicate")
        return
    places.sort()
    fr_at = fr.at if fr is not None else {}
    in_fr = sum(1 for p, o in places if fr_at.get(p, {}).get(o) == rid)
    v.add("duplicate", idx.example(
        fr.op if fr is not None else None, topic=topic, id=rid,
        partition=places[1][0], offset=places[1][1],
        positions=[list(x) for x in places[:20]], in_final_read=in_fr >= 2,
        **idx.write_client_events(rid)))

"""Duplicate and inconsistent-offset checker.

Contract
--------
Per topic, every observation of a record position is merged: the final read,
the (partition, offset) of acknowledged writes (send ok / txn ok) and every
record returned by ``poll`` ok ops.

* ``duplicate``: one harness id observed at two or more different
  (partition, offset) positions.  ``in_final_read`` tells whether the final
  read itself holds two copies.  Invalid.
* ``inconsistent-offset``: two different ids observed at the same
  (topic, partition, offset): an ack pointing at an offset that holds another
  record, or two reads disagreeing.  Invalid.

A duplicate's example carries the idempotence events its producer recorded
while the write was in flight (``client_events``, ``likely_cause``: see
:mod:`.examples`); ``stats["producer-epoch-bumps"]`` counts the completed epoch
bumps and producer-id replacements of all producers (None when the history records no client
events, as in runs made before they were recorded).

Records without a harness id (non-dict values, dicts without ``id``) only
take part in the inconsistent-offset check.  The verdict is never
``unknown`` (the lost checker reports missing final reads).  Options:
``topics``.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Any, Iterable

from harness.history import CLIENT_EVENT_F

from .digests import S_O, S_P, SHIFT, positions, unpos
from .index import as_index
from .verdict import Verdict

NAME = "duplicate"


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


def _fast_path(idx: Any, v: Verdict, topic: str) -> bool:
    """Common valid case, checked with whole-list operations: every ack and
    every polled record agrees with the final read, which itself has no
    conflicts.  Then the only possible duplicates are the final read's.
    (Each cheap test only ever answers "agrees"; otherwise the exact test
    decides.)"""
    fr = idx.final_read(topic)
    if fr is None or fr.conflicts:
        return False
    polls = idx.polls(topic)
    if polls is not None and not polls.agrees_with(fr):
        if polls.conflicts:
            return False
        for p, pm in polls.polled.items():
            if not pm.items() <= fr.at.get(p, {}).items():
                return False
    acked = idx.acked.get(topic)
    if acked and not idx.acks_in_place(topic) and not _acks_agree(idx, acked, fr.ids):
        return False
    n_pos = fr.n_positions
    v.stats["positions"] += n_pos
    v.stats["ids"] += n_pos - len(fr.dups)
    by_rid: dict[Any, list] = {}
    for rid, p, o in fr.dups:
        by_rid.setdefault(rid, [unpos(fr.ids[rid])]).append((p, o))
    for rid, places in by_rid.items():
        _duplicate(idx, v, topic, fr, rid, places)
    return True


def _acks_agree(idx: Any, acked: dict, ids: dict) -> bool:
    """Every ack with a partition and offset >= 0 is at ``ids``' position."""
    ws = list(acked.values())
    ps = list(map(itemgetter(S_P), ws))
    os = list(map(itemgetter(S_O), ws))
    try:
        if None not in ps and None not in os and min(os) >= 0:
            return idx.lookup(acked, ids) == positions(ps, os)
    except TypeError:
        pass
    ack_pos = {rid: (S[S_P] << SHIFT) | S[S_O] for rid, S in acked.items()
               if S[S_P] is not None and S[S_O] is not None and S[S_O] >= 0}
    return ack_pos.items() <= ids.items()


def _duplicate(idx: Any, v: Verdict, topic: str, fr: Any, rid: Any, places: list) -> None:
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


def _check_topic(idx: Any, v: Verdict, topic: str) -> None:
    if _fast_path(idx, v, topic):
        return
    fr = idx.final_read(topic)
    merged: dict[int, dict[int, Any]] = {}
    first_src: dict[tuple, str] = {}

    def conflict(p: int, o: int, a: Any, b: Any, where: str, **ctx: Any) -> None:
        v.stats["inconsistent-offset"] += 1
        if not v.wants_example("inconsistent-offset"):
            v.add("inconsistent-offset")
            return
        v.add("inconsistent-offset", idx.example(
            None, topic=topic, partition=p, offset=o, ids=[a, b],
            sources=[first_src.get((p, o), "final-read"), where], **ctx))

    if fr is not None:
        for p, pm in fr.at.items():
            merged[p] = dict(pm)
        for p, o, a, b in fr.conflicts:
            conflict(p, o, a, b, "final-read", time=fr.op["time"], index=fr.op["index"])
    acked = idx.acked.get(topic)
    if acked:
        lastp, mp = None, None
        for rid, S in acked.items():
            p = S[S_P]
            o = S[S_O]
            if p is None or o is None or o < 0:
                continue
            if p != lastp:
                mp = merged.get(p)
                if mp is None:
                    mp = merged[p] = {}
                lastp = p
            x = mp.setdefault(o, rid)
            if x is rid or x == rid:
                continue
            conflict(p, o, x, rid, "ack", ack=idx.write_example(rid))
            first_src.setdefault((p, o), "ack")
    polls = idx.polls(topic)
    if polls is not None:
        for p, o, a, b, index, time, proc in polls.conflicts:
            conflict(p, o, a, b, "poll", index=index, time=time, process=proc)
        for p, pm in polls.polled.items():
            mp = merged.get(p)
            if mp is None:
                merged[p] = dict(pm)
                continue
            if pm.items() <= mp.items():
                continue
            for o, rid in pm.items():
                x = mp.setdefault(o, rid)
                if x is not rid and x != rid:
                    conflict(p, o, x, rid, "poll")
    # duplicates: an id at more than one position
    n_pos = 0
    distinct: set = set()
    for mp in merged.values():
        n_pos += len(mp)
        distinct.update(mp.values())
    v.stats["positions"] += n_pos
    v.stats["ids"] += len(distinct)
    if len(distinct) == n_pos:
        return
    where: dict[Any, list] = {}
    for p in sorted(merged):
        for o, rid in merged[p].items():
            if rid is None or rid.__class__ is tuple:
                continue
            w = where.get(rid)
            if w is None:
                where[rid] = (p, o)
            elif w.__class__ is tuple:
                where[rid] = [w, (p, o)]
            else:
                w.append((p, o))
    for rid, places in where.items():
        if places.__class__ is not tuple:
            _duplicate(idx, v, topic, fr, rid, places)

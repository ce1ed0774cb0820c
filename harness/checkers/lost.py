"""Lost-write checker.

Contract
--------
For every topic written by the harness (plain ``send`` or ``txn``):

* ``lost``: a write that was acknowledged (send ok, or part of a txn ok) and
  whose id is absent from the topic's final read.  Invalid.
* ``aborted-read``: a write of an aborted transaction (txn fail) present in a
  ``read_committed`` final read.  Invalid.
* ``unseen``: an id present in the final read but never returned by any
  ``poll`` of that topic (only when the topic had consumers).  Informational:
  not loss, never affects validity.
* Writes with outcome ``info``/``fail``/never completed are not required; if
  they are in the final read they count in ``stats["recovered-unknown"]``.

A topic without a final read makes the verdict ``unknown`` (unless an
anomaly elsewhere makes it invalid).  Options: ``topics`` (restrict).
"""
from __future__ import annotations

from typing import Any, Iterable

from .digests import S_O, S_P, unpos
from .index import as_index
from .verdict import MAX_EXAMPLES, Verdict

NAME = "lost"


def check(history: Any, *, topics: Iterable[str] | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME, informational=("unseen",))
    wanted = set(topics) if topics is not None else None
    missing_final = []
    st = v.stats
    for key in ("acked", "lost", "unacked", "recovered-unknown", "aborted",
                "aborted-read", "unseen", "final-read-records"):
        st[key] = 0
    st["per-topic"] = {}
    for topic in sorted(idx.write_topics(), key=str):
        if wanted is not None and topic not in wanted:
            continue
        acked = idx.acked.get(topic, {})
        unacked = idx.unacked.get(topic, {})
        aborted = idx.aborted.get(topic, {})
        fr = idx.final_read(topic)
        ts = {"acked": len(acked), "unacked": len(unacked), "aborted": len(aborted)}
        st["per-topic"][topic] = ts
        st["acked"] += len(acked)
        st["unacked"] += len(unacked)
        st["aborted"] += len(aborted)
        if fr is None:
            missing_final.append(topic)
            ts["final-read"] = None
            continue
        ids = fr.ids
        ts["final-read"] = fr.isolation
        st["final-read-records"] += fr.n_records
        lost = [] if idx.acks_in_place(topic) else idx.absent(acked, ids)
        ts["lost"] = len(lost)
        st["lost"] += len(lost)
        order = sorted(lost, key=lambda r: (acked[r][S_P] if acked[r][S_P] is not None else -1,
                                            acked[r][S_O] if acked[r][S_O] is not None else -1, str(r)))
        for rid in order[:MAX_EXAMPLES]:
            v.add("lost", idx.write_example(rid, topic=topic, note=_note(fr, acked[rid])))
        if len(lost) > MAX_EXAMPLES:
            v.add("lost", n=len(lost) - MAX_EXAMPLES)
        rec = len(unacked.keys() & ids.keys())
        ts["recovered-unknown"] = rec
        st["recovered-unknown"] += rec
        if aborted and fr.isolation == "read_committed":
            bad = sorted(aborted.keys() & ids.keys(), key=str)
            st["aborted-read"] += len(bad)
            for rid in bad[:MAX_EXAMPLES]:
                p, o = unpos(ids[rid])
                v.add("aborted-read", idx.write_example(rid, topic=topic, partition=p,
                                                        offset=o))
            if len(bad) > MAX_EXAMPLES:
                v.add("aborted-read", n=len(bad) - MAX_EXAMPLES)
        polls = idx.polls(topic)
        if polls is not None and polls.n_records:
            unseen = polls.unseen(fr)
            ts["unseen"] = len(unseen)
            st["unseen"] += len(unseen)
            for rid in sorted(unseen, key=lambda r: ids[r])[:MAX_EXAMPLES]:
                p, o = unpos(ids[rid])
                v.add("unseen", idx.example(fr.op, id=rid, topic=topic, partition=p,
                                            offset=o))
            if len(unseen) > MAX_EXAMPLES:
                v.add("unseen", n=len(unseen) - MAX_EXAMPLES)
    if missing_final:
        st["topics-without-final-read"] = missing_final
    if not st["per-topic"]:
        return v.finish("no harness writes in history")
    return v.finish(f"no final read of {', '.join(map(str, missing_final))}"
                    if missing_final else None)


def _note(fr: Any, S: list) -> str | None:
    p, o = S[S_P], S[S_O]
    if p is None or o is None:
        return None
    if p in fr.start and o < fr.start[p]:
        return "offset below the partition start offset (deleted/truncated log head)"
    if p in fr.end and o >= fr.end[p]:
        return "offset at/after the end offset (log truncated below an acked write)"
    if fr.holds(p, o):
        return f"offset now holds {fr.rid_at(p, o)!r}"
    return "offset absent from the final read"

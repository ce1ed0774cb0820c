"""Lost-write checker.

Contract
--------
For every topic written by the harness (plain ``send`` or ``txn``):

* ``lost``: a write that was acknowledged (send ok, or part of a txn ok) and
  whose id is absent from the topic's final read.  Invalid.  Its example's
  ``fault_windows`` are the faults from the write's invoke until the final
  read: an acknowledged record can be truncated by a fault that starts after
  its ack (acks=1, unclean election), so any of them may have lost it.
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

from .index import as_index
from .records import unpos
from .verdict import MAX_EXAMPLES, Verdict

NAME = "lost"
_COUNTERS = ("acked", "lost", "unacked", "recovered-unknown", "aborted", "aborted-read",
             "unseen", "final-read-records")


def check(history: Any, *, topics: Iterable[str] | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME, informational=("unseen",))
    st = v.stats
    st.update(dict.fromkeys(_COUNTERS, 0))
    st["per-topic"] = {}
    missing_final = []
    wanted = set(topics) if topics is not None else None
    for topic in sorted(idx.write_topics(), key=str):
        if wanted is not None and topic not in wanted:
            continue
        if not _check_topic(idx, v, topic):
            missing_final.append(topic)
    if missing_final:
        st["topics-without-final-read"] = missing_final
    if not st["per-topic"]:
        return v.finish("no harness writes in history")
    return v.finish(f"no final read of {', '.join(map(str, missing_final))}"
                    if missing_final else None)


def _check_topic(idx: Any, v: Verdict, topic: Any) -> bool:
    """Check one topic; False if it has no final read."""
    acked = idx.acked.get(topic, {})
    unacked = idx.unacked.get(topic, {})
    aborted = idx.aborted.get(topic, {})
    ts = v.stats["per-topic"][topic] = {"acked": len(acked), "unacked": len(unacked),
                                        "aborted": len(aborted)}
    for key in ts:
        v.stats[key] += ts[key]
    fr = idx.final_read(topic)
    if fr is None:
        ts["final-read"] = None
        return False
    ts["final-read"] = fr.isolation
    v.stats["final-read-records"] += fr.n_records
    _count(v, ts, "lost", _lost(idx, v, topic, acked, fr))
    _count(v, ts, "recovered-unknown", len(unacked.keys() & fr.ids.keys()))
    if aborted and fr.isolation == "read_committed":
        v.stats["aborted-read"] += _aborted_reads(idx, v, topic, aborted, fr)
    polls = idx.polls(topic)
    if polls is not None and polls.n_records:
        _count(v, ts, "unseen", _unseen(idx, v, topic, polls, fr))
    return True


def _count(v: Verdict, ts: dict, key: str, n: int) -> None:
    ts[key] = n
    v.stats[key] += n


def _lost(idx: Any, v: Verdict, topic: Any, acked: dict, fr: Any) -> int:
    """Acked writes whose id is not in the final read."""
    lost = idx.absent(acked, fr.ids)

    def place(rid: Any) -> tuple:
        w = acked[rid]
        return (w.partition if w.partition is not None else -1,
                w.offset if w.offset is not None else -1, str(rid))
    for rid in sorted(lost, key=place)[:MAX_EXAMPLES]:
        v.add("lost", idx.write_example(rid, until=fr.op.get("time"), topic=topic,
                                        note=_note(fr, acked[rid])))
    _rest(v, "lost", len(lost))
    return len(lost)


def _aborted_reads(idx: Any, v: Verdict, topic: Any, aborted: dict, fr: Any) -> int:
    """Writes of aborted transactions visible to a read_committed final read."""
    bad = sorted(aborted.keys() & fr.ids.keys(), key=str)
    for rid in bad[:MAX_EXAMPLES]:
        p, o = unpos(fr.ids[rid])
        v.add("aborted-read", idx.write_example(rid, topic=topic, partition=p, offset=o))
    _rest(v, "aborted-read", len(bad))
    return len(bad)


def _unseen(idx: Any, v: Verdict, topic: Any, polls: Any, fr: Any) -> int:
    """Final-read ids no poll returned (informational)."""
    unseen = polls.unseen(fr)
    for rid in sorted(unseen, key=fr.ids.__getitem__)[:MAX_EXAMPLES]:
        p, o = unpos(fr.ids[rid])
        v.add("unseen", idx.example(fr.op, id=rid, topic=topic, partition=p, offset=o))
    _rest(v, "unseen", len(unseen))
    return len(unseen)


def _rest(v: Verdict, kind: str, n: int) -> None:
    """Count the anomalies beyond the listed examples."""
    if n > MAX_EXAMPLES:
        v.add(kind, n=n - MAX_EXAMPLES)


def _note(fr: Any, w: Any) -> str | None:
    p, o = w.partition, w.offset
    if p is None or o is None:
        return None
    if p in fr.start and o < fr.start[p]:
        return "offset below the partition start offset (deleted/truncated log head)"
    if p in fr.end and o >= fr.end[p]:
        return "offset at/after the end offset (log truncated below an acked write)"
    if fr.holds(p, o):
        return f"offset now holds {fr.rid_at(p, o)!r}"
    return "offset absent from the final read"

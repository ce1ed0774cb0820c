"""Consumer-group continuity checker (rebalances and failovers).

Contract
--------
After an ``assign`` of partition p (group G, topic T) to a consumer process,
the first offset that process polls from p is compared with the group's
committed offset at that moment:

* committed bound = the largest of: the ``positions[p]`` recorded with the
  assign (the broker's committed offset), the last ``commit`` ok of (G, T, p),
  and offsets of commits whose outcome is unknown (``info`` or still in
  flight).  With no committed offset at all, the bound is the partition's
  start offset when ``auto_offset_reset="earliest"`` (default; final-read
  start offset, else 0); no check is made for ``"latest"``.
* first > bound: ``skipped-range`` anomaly with the range ``[bound, first)``,
  unless that range holds nothing readable (transaction markers / aborted
  records, see ``HistoryIndex.gap_explained``).  Without a final read, a
  transactional topic's range is only counted in ``unverified-skips``.
* re-delivery: records the group had already polled or committed before the
  rebalance and gets again, ``max(last offset polled by the group + 1,
  last commit ok) - first`` when positive.  Counted in stats; with option
  ``max_redelivery`` (records per rebalance) more is ``excess-redelivery``.
  ``stats["below-commit"]`` counts starts below the last commit ok.

``commit-beyond-log-end``: a group's last ok commit of a partition lies above that
partition's end offset in the final read -- the log restarted below what the group had
consumed (offsets the group committed past will be reused by new records).

Consumers without a group (manual assignment, ``group`` null) are ignored.
"""
from __future__ import annotations

from typing import Any, Iterable

from .index import as_index
from .records import FirstPoll
from .verdict import Verdict

NAME = "group"


def check(history: Any, *, max_redelivery: int | None = None,
          auto_offset_reset: str = "earliest",
          transactional_topics: Iterable[str] | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    st = v.stats
    st.update({"rebalance-starts": 0, "skipped-range": 0, "skipped-offsets": 0,
               "redelivery-events": 0, "redelivered": 0, "max-redelivered": 0,
               "below-commit": 0, "uncommitted-starts": 0, "unverified-skips": 0})
    c = idx.counts
    st["commits"] = {t: c.get(f"commit-{t}", 0) for t in ("ok", "fail", "info")}
    st["assigns"] = c.get("assign-ok", 0)
    st["revokes"] = c.get("revoke-ok", 0)
    if max_redelivery is not None:
        st["max-redelivery-limit"] = int(max_redelivery)
    declared = list(transactional_topics) if transactional_topics is not None else None
    for ev in idx.group.events:
        _redelivery(idx, v, ev, max_redelivery)
        bound = _committed_bound(idx, v, ev, auto_offset_reset)
        if bound is not None and ev.first > bound:
            _skip(idx, v, ev, bound, declared)
    st["rebalance-starts"] = len(idx.group.events)
    _commits_beyond_log_end(idx, v)
    return v.finish()


def _commits_beyond_log_end(idx: Any, v: Verdict) -> None:
    """A group's last committed offset above the partition's log end in the final read: the
    log restarted below what the group had consumed (a broker lost its data, offsets reset),
    so the group's next records reuse offsets it already committed past."""
    v.stats["commits-beyond-log-end"] = 0
    for (grp, topic), offsets in sorted(idx.group.committed.items(), key=str):
        fr = idx.final_read(topic)
        if fr is None:
            continue
        for p, committed in sorted(offsets.items()):
            end = fr.end.get(p)
            if end is None or committed <= end:
                continue
            v.stats["commits-beyond-log-end"] += 1
            v.add("commit-beyond-log-end", idx.example(
                fr.op, group=grp, topic=topic, partition=p, offset=end, committed=committed, log_end=end,
                missing=committed - end) if v.wants_example("commit-beyond-log-end") else None)


def _committed_bound(idx: Any, v: Verdict, ev: FirstPoll, reset: str) -> int | None:
    """The offset the member should have started from (None: no check)."""
    known = [x for x in (ev.position, ev.commit_ok, ev.commit_maybe, ev.commit_inflight)
             if x is not None and x >= 0]
    if known:
        return max(known)
    v.stats["uncommitted-starts"] += 1
    if reset != "earliest":
        return None
    fr = idx.final_read(ev.topic)
    return fr.start.get(ev.partition, 0) if fr is not None else 0


def _redelivery(idx: Any, v: Verdict, ev: FirstPoll, limit: int | None) -> None:
    """Records polled or committed before the rebalance and polled again."""
    st = v.stats
    ok = ev.commit_ok
    if ok is not None and ev.first < ok:
        st["below-commit"] += 1
    horizon = max(ok if ok is not None else -1,
                  ev.last_polled + 1 if ev.last_polled is not None else -1)
    n = horizon - ev.first
    if n <= 0:
        return
    st["redelivery-events"] += 1
    st["redelivered"] += n
    st["max-redelivered"] = max(st["max-redelivered"], n)
    if limit is not None and n > limit:
        v.add("excess-redelivery", _example(idx, ev, redelivered=n, limit=limit)
              if v.wants_example("excess-redelivery") else None)


def _skip(idx: Any, v: Verdict, ev: FirstPoll, bound: int, declared: Any) -> None:
    """A first poll beyond the committed bound."""
    st = v.stats
    ok = idx.gap_explained(ev.topic, ev.partition, bound, ev.first)
    if ok:
        return
    if ok is None and idx.is_transactional(ev.topic, declared):
        st["unverified-skips"] += 1
        return
    st["skipped-range"] += 1
    st["skipped-offsets"] += ev.first - bound
    v.add("skipped-range", _example(idx, ev, committed=bound, range=[bound, ev.first - 1])
          if v.wants_example("skipped-range") else None)


def _example(idx: Any, ev: FirstPoll, **fields: Any) -> dict:
    return idx.example(
        None, t0=ev.assign_time, t1=ev.time, index=ev.index, time=ev.time,
        wall=ev.wall, process=ev.process, topic=ev.topic,
        partition=ev.partition, offset=ev.first, group=ev.group,
        position=ev.position, commit_ok=ev.commit_ok,
        last_polled=ev.last_polled, assign_index=ev.assign_index, **fields)

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

Consumers without a group (manual assignment, ``group`` null) are ignored.
"""
from __future__ import annotations

from typing import Any, Iterable

from .index import as_index
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
    redelivered = events = uncommitted = below = 0
    most = 0
    for ev in idx.group.events:
        (_, _, _, _, _, topic, p, first, position, c_ok, c_maybe, c_infl, last,
         _, _) = ev
        cands = [x for x in (position, c_ok, c_maybe, c_infl) if x is not None and x >= 0]
        if cands:
            bound = max(cands)
        else:
            uncommitted += 1
            if auto_offset_reset != "earliest":
                bound = None
            else:
                fr = idx.final_read(topic)
                bound = fr.start.get(p, 0) if fr is not None else 0
        horizon = max(c_ok if c_ok is not None else -1, last + 1 if last is not None else -1)
        if c_ok is not None and first < c_ok:
            below += 1
        if horizon > first:
            n = horizon - first
            events += 1
            redelivered += n
            if n > most:
                most = n
            if max_redelivery is not None and n > max_redelivery:
                v.add("excess-redelivery", _example(idx, ev, redelivered=n,
                                                    limit=max_redelivery)
                      if v.wants_example("excess-redelivery") else None)
        if bound is not None and first > bound:
            _skip(idx, v, ev, bound, declared)
    st["rebalance-starts"] = len(idx.group.events)
    st["redelivery-events"] += events
    st["redelivered"] += redelivered
    st["max-redelivered"] = max(st["max-redelivered"], most)
    st["below-commit"] += below
    st["uncommitted-starts"] += uncommitted
    return v.finish()


def _skip(idx: Any, v: Verdict, ev: tuple, bound: int, declared: Any) -> None:
    """A first poll beyond the committed bound (ev: a first-poll tuple)."""
    st = v.stats
    topic, p, first = ev[5], ev[6], ev[7]
    ok = idx.gap_explained(topic, p, bound, first)
    if ok:
        return
    if ok is None and idx.is_transactional(topic, declared):
        st["unverified-skips"] += 1
        return
    st["skipped-range"] += 1
    st["skipped-offsets"] += first - bound
    v.add("skipped-range", _example(idx, ev, committed=bound, range=[bound, first - 1])
          if v.wants_example("skipped-range") else None)


def _example(idx: Any, ev: tuple, **fields: Any) -> dict:
    (index, time, wall, process, group, topic, p, first, position, c_ok, _, _, last,
     assign_index, assign_time) = ev
    return idx.example(
        None, t0=assign_time, t1=time, index=index, time=time,
        wall=wall, process=process, topic=topic,
        partition=p, offset=first, group=group,
        position=position, commit_ok=c_ok,
        last_polled=last, assign_index=assign_index, **fields)

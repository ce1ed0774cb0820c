"""Consumer side of the history digest: polls and consumer-group ops.

Contract
--------
:meth:`ConsumerDigest.run` takes one batch of a history -- its ``poll`` ok
ops that returned records and its ``commit``/``assign``/``revoke`` ops, in
history order, plus the polls' records concatenated -- and, exactly as a
record-by-record pass in history order would:

* appends each poll's records to its topic's :class:`PollDigest` (as flat
  partition/offset/rid columns, extracted for the whole batch at once) with
  the poll's time, index, process and cumulative record count;
* per consumer process and partition, between rebalance callbacks
  (``assign``/``revoke`` reset tracking, see :class:`GroupState`), appends an
  order event ``(kind "gap"|"back", index, time, process, topic, partition,
  previous offset, offset)`` to :attr:`events` for every non-contiguous step;
* feeds the group ops and the per-partition poll hooks to :attr:`group`
  (first poll after an assign, highest offset polled per group).

Batches must be given in history order; nothing else in the index depends on
this state while a batch is pending.
"""
from __future__ import annotations

from itertools import islice, repeat
from typing import Any

from .digests import _O, _P, PollDigest, _get, rids_of
from .groupstate import GroupState

__all__ = ["ConsumerDigest"]

_START = object()     # "no partition yet" (a partition may be None)


class ConsumerDigest:
    def __init__(self, polls: dict[str, PollDigest], walls: list):
        self.polls = polls
        self.walls = walls
        self.group = GroupState()
        self.cons: dict[str, dict[str, dict[Any, Any]]] = {}
        self.events: list[tuple] = []

    def run(self, ops: list[dict], recs: list[dict]) -> None:
        if not ops:
            return
        ps = list(map(_P, recs))
        os = list(map(_O, recs))
        rids = rids_of(list(map(_get, recs, repeat("value"))))
        it = zip(ps, os)
        group, cons, events, polls = self.group, self.cons, self.events, self.polls
        gop, first_poll = group.op, group.first_poll
        proc_group, last, pending = group.proc_group, group.last, group.pending
        walls_ap = self.walls.append
        topics: list[Any] = []
        sizes: list[int] = []
        for op in ops:
            if op["f"] != "poll":
                gop(op, cons)
                continue
            v = op["value"]
            topic = v["topic"]
            proc = op["process"]
            t = op["time"]
            n = len(v["records"])
            g = polls[topic]
            walls_ap((t, op.get("wall")))
            g.n_records += n
            g.processes.add(proc)
            g.times.append(t)
            g.cum.append(g.n_records)
            g.index.append(op.get("index"))
            g.procs.append(proc)
            topics.append(topic)
            sizes.append(n)
            cp = cons.get(proc)
            if cp is None:
                cp = cons[proc] = {}
            lastm = cp.get(topic)
            if lastm is None:
                lastm = cp[topic] = {}
            grp = v.get("group", proc_group.get(proc))
            if grp is None:
                gl = pend = None
            else:
                gl = last.get((grp, topic))
                if gl is None:
                    gl = last[(grp, topic)] = {}
                pp = pending.get(proc)
                pend = pp.get(topic) if pp else None
            lastp: Any = _START
            prev = None
            for p, o in islice(it, n):
                if p == lastp:
                    if prev is not None and o != prev + 1:
                        events.append(("gap" if o > prev else "back", op["index"], t, proc,
                                       topic, p, prev, o))
                    prev = o
                    continue
                if lastp is not _START:
                    lastm[lastp] = prev
                    if gl is not None and prev > gl.get(lastp, -1):
                        gl[lastp] = prev
                prev = lastm.get(p)
                if pend and p in pend:
                    first_poll(op, grp, topic, p, o, pend.pop(p), gl.get(p))
                lastp = p
                if prev is not None and o != prev + 1:
                    events.append(("gap" if o > prev else "back", op["index"], t, proc,
                                   topic, p, prev, o))
                prev = o
            lastm[lastp] = prev
            if gl is not None and prev > gl.get(lastp, -1):
                gl[lastp] = prev
        self._columns(topics, sizes, ps, os, rids)

    def _columns(self, topics: list, sizes: list, ps: list, os: list, rids: list) -> None:
        """Append the batch's record columns to each topic's PollDigest."""
        polls = self.polls
        if topics and topics.count(topics[0]) == len(topics):
            polls[topics[0]].add(ps, os, rids)
            return
        i = 0
        for topic, n in zip(topics, sizes):
            polls[topic].add(ps[i:i + n], os[i:i + n], rids[i:i + n])
            i += n

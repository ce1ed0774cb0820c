"""Consumer side of the history digest: polls and consumer-group ops.

Contract
--------
Fed, in history order, every ``poll`` ok op that returned records
(:meth:`ConsumerDigest.poll`) and every ``commit``/``assign``/``revoke`` op
(:meth:`ConsumerDigest.group_op`), then :meth:`ConsumerDigest.flush`, it
does exactly what a record-by-record pass in history order would:

* appends each poll's records to its topic's :class:`PollDigest` (flat
  partition/offset/rid columns) with the poll's time, index, process and
  cumulative record count;
* per consumer process and partition, between rebalance callbacks
  (``assign``/``revoke`` reset tracking, see :class:`GroupState`), appends an
  :class:`OrderEvent` to :attr:`events` for every non-contiguous step;
* feeds the group ops and each partition's first poll after an assign to
  :attr:`group`, and tracks the highest offset polled per group.

Speed: ops are queued and consumed in batches of about :data:`BATCH`
records, so a poll's records are still in the CPU cache when they are
walked, and record columns are extracted for a whole batch at once.
Nothing else in the index reads this state while a batch is queued.
"""
from __future__ import annotations

from itertools import groupby, repeat
from operator import itemgetter
from typing import Any

from .digests import PollDigest
from .groupstate import GroupState
from .records import OrderEvent, rids_of

__all__ = ["ConsumerDigest", "BATCH"]

BATCH = 8192          # poll records per batch
_P, _O = itemgetter("partition"), itemgetter("offset")
_get = dict.get


class ConsumerDigest:
    def __init__(self, polls: dict[str, PollDigest], walls: list):
        self.polls = polls
        self.walls = walls
        self.group = GroupState()
        self.tracked: dict[Any, dict[Any, dict[Any, int]]] = {}  # process -> topic -> p -> o
        self.events: list[OrderEvent] = []
        self._ops: list[dict] = []
        self._recs: list[dict] = []

    def poll(self, op: dict) -> None:
        """Queue a ``poll`` ok op whose records are not empty."""
        self._ops.append(op)
        self._recs += op["value"]["records"]
        if len(self._recs) >= BATCH:
            self.flush()

    def group_op(self, op: dict) -> None:
        self._ops.append(op)

    def flush(self) -> None:
        """Consume the queued ops."""
        ops, recs = self._ops, self._recs
        if not ops:
            return
        self._ops, self._recs = [], []
        ps = list(map(_P, recs))
        os = list(map(_O, recs))
        rids = rids_of(list(map(_get, recs, repeat("value"))))
        i = 0
        for op in ops:
            if op["f"] != "poll":
                self.group.op(op, self.tracked)
                continue
            n = len(op["value"]["records"])
            self._poll(op, ps[i:i + n], os[i:i + n], rids[i:i + n])
            i += n

    def _poll(self, op: dict, ps: list, os: list, rids: list) -> None:
        v = op["value"]
        topic, proc, t = v["topic"], op["process"], op["time"]
        self.walls.append((t, op.get("wall")))
        self.polls[topic].add_poll(t, op.get("index"), proc, ps, os, rids)
        grp = v.get("group", self.group.proc_group.get(proc))
        last = self.tracked.setdefault(proc, {}).setdefault(topic, {})
        for p, first, offs in _runs(ps, os):
            if grp is not None:
                self.group.polled(op, grp, topic, p, first, offs[-1])
            self._steps(op, topic, p, last.get(p), offs)
            last[p] = offs[-1]

    def _steps(self, op: dict, topic: Any, p: Any, prev: int | None, offs: list) -> None:
        """Order events of one partition's run of offsets (``prev``: the
        offset polled before it, None when not tracked)."""
        for o in offs:
            if prev is not None and o != prev + 1:
                self.events.append(OrderEvent("gap" if o > prev else "back", op["index"],
                                              op["time"], op["process"], topic, p, prev, o))
            prev = o


def _runs(ps: list, os: list) -> list[tuple[Any, int, list]]:
    """(partition, first offset, offsets) of each run of one partition."""
    out, i = [], 0
    for p, run in groupby(ps):
        j = i + len(list(run))
        out.append((p, os[i], os[i:j]))
        i = j
    return out

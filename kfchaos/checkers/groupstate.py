"""Online consumer-group state used while indexing a history.

Contract
--------
Fed, in history order, every ``commit`` (invoke/ok/fail/info), ``assign``
and ``revoke`` (ok) op (:meth:`GroupState.op`), plus each run of offsets a
group member polls from one partition (:meth:`GroupState.polled`), it tracks
per (group, topic, partition): the last commit ok, the largest commit with an
unknown outcome (info), commits in flight, and the highest offset polled by
any member.  On the first poll of a partition after it was assigned to a
member it records one :class:`~.records.FirstPoll` in :attr:`events`;
:attr:`first_polls` lists the same as dicts (fields
:data:`~.records.FIRST_POLL_FIELDS`).

``assign``/``revoke`` also reset the per-consumer order tracking of the
listed partitions (``tracked``: process -> topic -> partition -> last
offset).  The commit value's topic defaults to the process's last
assigned/polled topic.
"""
from __future__ import annotations

from typing import Any

from .records import FIRST_POLL_FIELDS, FirstPoll

__all__ = ["GroupState", "FIRST_POLL_FIELDS"]


def _offsets(raw: dict) -> dict:
    """Commit offsets by int partition (null offsets dropped)."""
    return {int(p): o for p, o in raw.items() if o is not None}


class GroupState:
    def __init__(self) -> None:
        self.proc_group: dict[Any, Any] = {}
        self.proc_topic: dict[Any, Any] = {}
        self.committed: dict[tuple, dict[int, int]] = {}   # (group, topic) -> p -> offset
        self.maybe: dict[tuple, dict[int, int]] = {}       # ... commits of unknown outcome
        self.inflight: dict[tuple, tuple] = {}             # (proc, group) -> (topic, p -> o)
        self.last: dict[tuple, dict[Any, int]] = {}        # (group, topic) -> p -> polled
        self.pending: dict[Any, dict[Any, dict]] = {}      # proc -> topic -> p -> assign
        self.events: list[FirstPoll] = []
        self._dicts: list[dict] | None = None

    @property
    def first_polls(self) -> list[dict]:
        if self._dicts is None or len(self._dicts) != len(self.events):
            self._dicts = [e._asdict() for e in self.events]
        return self._dicts

    def op(self, op: dict, tracked: dict) -> None:
        if op["f"] == "commit":
            self._commit(op)
        elif op["type"] == "ok":
            self._rebalance(op, tracked)

    def _commit(self, op: dict) -> None:
        typ, proc = op["type"], op["process"]
        val = op.get("value") or {}
        grp = val.get("group")
        topic = val.get("topic") or self.proc_topic.get(proc)
        offs = _offsets(val.get("offsets") or {})
        if typ == "invoke":
            self.inflight[(proc, grp)] = (topic, offs)
            return
        self.inflight.pop((proc, grp), None)
        if typ == "ok":
            self.committed.setdefault((grp, topic), {}).update(offs)
        elif typ == "info":
            maybe = self.maybe.setdefault((grp, topic), {})
            for p, o in offs.items():
                maybe[p] = max(maybe.get(p, o), o)

    def _rebalance(self, op: dict, tracked: dict) -> None:
        """An ``assign`` or ``revoke`` ok."""
        proc, val = op["process"], op.get("value") or {}
        topic, parts = val.get("topic"), val.get("partitions")
        if "group" in val:
            self.proc_group[proc] = val.get("group")
        if topic is not None:
            self.proc_topic[proc] = topic
        for t, last in tracked.get(proc, {}).items():    # reset order tracking
            if last and (topic is None or t == topic):
                for p in (parts if parts is not None else list(last)):
                    last.pop(p, None)
        if op["f"] == "assign":
            if val.get("group") is not None:
                self._assigned(op, topic, parts or (), val.get("positions") or {})
            return
        pend = self.pending.get(proc, {}).get(topic)
        if pend:
            for p in (parts if parts is not None else list(pend)):
                pend.pop(p, None)

    def _assigned(self, op: dict, topic: Any, parts: Any, positions: dict) -> None:
        pend = self.pending.setdefault(op["process"], {}).setdefault(topic, {})
        for p in parts:
            pend[p] = (op["index"], op["time"], positions.get(str(p), positions.get(p)))

    def polled(self, op: dict, grp: Any, topic: Any, p: Any, first: int, last: int) -> None:
        """A member of ``grp`` polled offsets ``first``..``last`` (a run) of p."""
        polled = self.last.setdefault((grp, topic), {})
        pend = self.pending.get(op["process"], {}).get(topic)
        if pend and p in pend:
            self._first_poll(op, grp, topic, p, first, pend.pop(p), polled.get(p))
        if last > polled.get(p, -1):
            polled[p] = last

    def _first_poll(self, op: dict, grp: Any, topic: Any, p: Any, first: int,
                    assign: tuple, last_polled: int | None) -> None:
        k = (grp, topic)
        infl = [offs[p] for (_, g2), (t2, offs) in self.inflight.items()
                if g2 == grp and t2 == topic and p in offs]
        assign_index, assign_time, position = assign
        self.events.append(FirstPoll(
            op["index"], op["time"], op.get("wall"), op["process"], grp, topic, p, first,
            position, self.committed.get(k, {}).get(p), self.maybe.get(k, {}).get(p),
            max(infl) if infl else None, last_polled, assign_index, assign_time))

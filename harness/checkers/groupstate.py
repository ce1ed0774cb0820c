"""Online consumer-group state used while indexing a history.

Contract
--------
Fed, in history order, every ``commit`` (invoke/ok/fail/info), ``assign``
and ``revoke`` (ok) op, plus the poll loop's per-partition hooks, it tracks
per (group, topic, partition): the last commit ok, the largest commit with an
unknown outcome (info), commits in flight, and the highest offset polled by
any member.  On the first poll of a partition after it was assigned to a
member it records one first-poll event; :attr:`GroupState.first_polls` lists
them as dicts::

    {"index", "time", "wall", "process", "group", "topic", "partition",
     "first", "position", "commit_ok", "commit_maybe", "commit_inflight",
     "last_polled", "assign_index", "assign_time"}

(:attr:`GroupState.events` holds the same as tuples, in that field order.)
``assign``/``revoke`` also reset the per-consumer order tracking of the
listed partitions (``cons``: process -> topic -> partition -> last offset).
The commit value's topic defaults to the process's last assigned/polled topic.
"""
from __future__ import annotations

from typing import Any

FIRST_POLL_FIELDS = ("index", "time", "wall", "process", "group", "topic", "partition",
                     "first", "position", "commit_ok", "commit_maybe", "commit_inflight",
                     "last_polled", "assign_index", "assign_time")


def _offsets(raw: dict) -> dict:
    """Commit offsets by int partition (null offsets dropped)."""
    if None in raw.values():
        return {int(p): o for p, o in raw.items() if o is not None}
    return dict(zip(map(int, raw), raw.values()))


class GroupState:
    def __init__(self) -> None:
        self.proc_group: dict[str, Any] = {}
        self.proc_topic: dict[str, str] = {}
        self.committed: dict[tuple, dict[int, int]] = {}   # (group, topic) -> p -> offset
        self.maybe: dict[tuple, dict[int, int]] = {}
        self.inflight: dict[tuple, tuple] = {}             # (proc, group) -> (topic, p -> o)
        self.last: dict[tuple, dict[int, int]] = {}
        self.pending: dict[str, dict[str, dict[int, tuple]]] = {}
        self.events: list[tuple] = []
        self._dicts: list[dict] | None = None

    @property
    def first_polls(self) -> list[dict]:
        if self._dicts is None or len(self._dicts) != len(self.events):
            self._dicts = [dict(zip(FIRST_POLL_FIELDS, e)) for e in self.events]
        return self._dicts

    def op(self, op: dict, cons: dict) -> None:
        f, typ, proc = op["f"], op["type"], op["process"]
        val = op.get("value") or {}
        if f == "commit":
            grp = val.get("group")
            t = val.get("topic") or self.proc_topic.get(proc)
            offs = _offsets(val.get("offsets") or {})
            if typ == "invoke":
                self.inflight[(proc, grp)] = (t, offs)
                return
            self.inflight.pop((proc, grp), None)
            if typ == "ok":
                cm = self.committed.get((grp, t))
                if cm is None:
                    self.committed[(grp, t)] = offs
                else:
                    cm.update(offs)
            elif typ == "info":
                mm = self.maybe.get((grp, t))
                if mm is None:
                    mm = self.maybe[(grp, t)] = {}
                for p, o in offs.items():
                    mm[p] = max(mm.get(p, o), o)
            return
        if typ != "ok":
            return
        topic = val.get("topic")
        if "group" in val:
            self.proc_group[proc] = val.get("group")
        if topic is not None:
            self.proc_topic[proc] = topic
        parts = val.get("partitions")
        cp = cons.get(proc)
        if cp:
            for t, lastm in cp.items():     # rebalance resets order tracking
                if lastm and (topic is None or t == topic):
                    for p in (parts if parts is not None else list(lastm)):
                        lastm.pop(p, None)
        if f == "assign":
            if val.get("group") is None:
                return
            positions = val.get("positions") or {}
            pp = self.pending.get(proc)
            if pp is None:
                pp = self.pending[proc] = {}
            pend = pp.get(topic)
            if pend is None:
                pend = pp[topic] = {}
            for p in parts or ():
                pend[p] = (op["index"], op["time"], positions.get(str(p), positions.get(p)))
        else:
            pend = self.pending.get(proc, {}).get(topic)
            if pend:
                for p in (parts if parts is not None else list(pend)):
                    pend.pop(p, None)

    def first_poll(self, op: dict, grp: Any, topic: str, p: int, first: int,
                   ctx: tuple, last_polled: int | None) -> None:
        k = (grp, topic)
        infl = [offs[p] for (_, g2), (t2, offs) in self.inflight.items()
                if g2 == grp and t2 == topic and p in offs] if self.inflight else None
        self.events.append((
            op["index"], op["time"], op.get("wall"), op["process"], grp, topic, p, first,
            ctx[2], self.committed.get(k, {}).get(p), self.maybe.get(k, {}).get(p),
            max(infl) if infl else None, last_polled, ctx[0], ctx[1]))

"""Online consumer-group state used while indexing a history.

Contract
--------
Fed, in history order, every ``commit`` (invoke/ok/fail/info), ``assign``
and ``revoke`` (ok) op, plus the poll loop's per-partition hooks, it tracks
per (group, topic, partition): the last commit ok, the largest commit with an
unknown outcome (info), commits in flight, and the highest offset polled by
any member.  On the first poll of a partition after it was assigned to a
member it appends one ``first_polls`` event::

    {"index", "time", "wall", "process", "group", "topic", "partition",
     "first", "position", "commit_ok", "commit_maybe", "commit_inflight",
     "last_polled", "assign_index", "assign_time"}

``assign``/``revoke`` also reset the per-consumer order tracking of the
listed partitions (``cons``: process -> topic -> partition -> last offset).
The commit value's topic defaults to the process's last assigned/polled topic.
"""
from __future__ import annotations

from typing import Any


class GroupState:
    def __init__(self) -> None:
        self.proc_group: dict[str, Any] = {}
        self.proc_topic: dict[str, str] = {}
        self.committed: dict[tuple, int] = {}
        self.maybe: dict[tuple, int] = {}
        self.inflight: dict[tuple, dict] = {}
        self.last: dict[tuple, dict[int, int]] = {}
        self.pending: dict[str, dict[str, dict[int, tuple]]] = {}
        self.first_polls: list[dict] = []

    def op(self, op: dict, cons: dict) -> None:
        f, typ, proc = op["f"], op["type"], op["process"]
        val = op.get("value") or {}
        if f == "commit":
            grp = val.get("group")
            t = val.get("topic") or self.proc_topic.get(proc)
            offs = {(t, int(p)): o for p, o in (val.get("offsets") or {}).items()
                    if o is not None}
            if typ == "invoke":
                self.inflight[(proc, grp)] = offs
                return
            self.inflight.pop((proc, grp), None)
            for (t2, p), o in offs.items():
                k = (grp, t2, p)
                if typ == "ok":
                    self.committed[k] = o
                elif typ == "info":
                    self.maybe[k] = max(self.maybe.get(k, o), o)
            return
        if typ != "ok":
            return
        topic = val.get("topic")
        if "group" in val:
            self.proc_group[proc] = val.get("group")
        if topic is not None:
            self.proc_topic[proc] = topic
        parts = val.get("partitions")
        for t, lastm in cons.get(proc, {}).items():   # rebalance resets order tracking
            if topic is None or t == topic:
                for p in (parts if parts is not None else list(lastm)):
                    lastm.pop(p, None)
        if f == "assign":
            if val.get("group") is None:
                return
            positions = val.get("positions") or {}
            pend = self.pending.setdefault(proc, {}).setdefault(topic, {})
            for p in parts or ():
                pend[p] = (op["index"], op["time"], positions.get(str(p), positions.get(p)))
        else:
            pend = self.pending.get(proc, {}).get(topic)
            if pend:
                for p in (parts if parts is not None else list(pend)):
                    pend.pop(p, None)

    def poll_state(self, proc: str, topic: str, val: dict) -> tuple:
        """(group-last-polled map or None, pending assigns of topic, group)."""
        grp = val.get("group", self.proc_group.get(proc))
        if grp is None:
            return None, None, None
        gl = self.last.get((grp, topic))
        if gl is None:
            gl = self.last[(grp, topic)] = {}
        pend = self.pending.get(proc)
        return gl, (pend.get(topic) if pend else None), grp

    def first_poll(self, op: dict, grp: Any, topic: str, p: int, first: int,
                   ctx: tuple, last_polled: int | None) -> None:
        k = (grp, topic, p)
        infl = [offs[(topic, p)] for (_, g2), offs in self.inflight.items()
                if g2 == grp and (topic, p) in offs]
        self.first_polls.append({
            "index": op["index"], "time": op["time"], "wall": op.get("wall"),
            "process": op["process"], "group": grp, "topic": topic, "partition": p,
            "first": first, "position": ctx[2], "commit_ok": self.committed.get(k),
            "commit_maybe": self.maybe.get(k),
            "commit_inflight": max(infl) if infl else None,
            "last_polled": last_polled, "assign_index": ctx[0], "assign_time": ctx[1]})

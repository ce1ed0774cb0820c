"""Producer side of the history digest: every harness write as a :class:`Write`.

Contract
--------
Fed, in history order, the ``send`` ops (:meth:`WriteDigest.send`) and the
``txn`` ops (:meth:`WriteDigest.txn`), then :meth:`WriteDigest.finish`:

* ``sends`` / ``txn_sends``: id -> :class:`Write` (writer-of);
* per topic, id -> write: ``acked`` (send ok, txn ok), ``unacked`` (send
  fail/info, txn info, anything still in flight at the end) and ``aborted``
  (txn fail: abort confirmed);
* ``ok_t`` / ``ok_lat``: ack time and invoke -> ack latency (-1 when unknown
  or transactional) per ack, history order; ``inv_t``: send invoke times;
* version order of each producer: for a producer process and key, every ack
  is compared with the previous ack of the same topic and partition.  A
  higher ``seq`` at an offset not above the previous one is a reorder
  (``reorders``: (previous write, write)); a ``seq`` not above the previous
  one means acks arrived out of seq order, and the (process, topic, key) is
  listed in ``unsorted`` for a full sort by the ordering checker.

A completion without an invoke creates the write from the completion.
"""
from __future__ import annotations

from typing import Any

from .records import Write

__all__ = ["WriteDigest"]

_OUTCOMES = {"ok": "ok", "fail": "fail", "info": "info"}


class WriteDigest:
    def __init__(self) -> None:
        self.sends: dict[Any, Write] = {}
        self.txn_sends: dict[Any, Write] = {}
        self.acked: dict[Any, dict[Any, Write]] = {}
        self.unacked: dict[Any, dict[Any, Write]] = {}
        self.aborted: dict[Any, dict[Any, Write]] = {}
        self.ok_t: list[int] = []
        self.ok_lat: list[int] = []
        self.inv_t: list[int] = []
        self.reorders: list[tuple[Write, Write]] = []
        self.unsorted: set[tuple] = set()
        self.n_done = 0                               # send completions seen
        self._last_ack: dict[tuple, Write] = {}       # (process, key) -> last ack
        self._txn_pending: dict[tuple, dict] = {}     # (process, txn) -> invoke op
        self._strs: dict[Any, Any] = {}               # interned process/topic/key

    def _intern(self, s: Any) -> Any:
        return self._strs.setdefault(s, s)

    # -- sends ---------------------------------------------------------------
    def send(self, op: dict) -> None:
        if op["type"] == "invoke":
            self._invoke(op)
            return
        self.n_done += 1
        v = op["value"]
        w = self.sends.get(v["id"])
        if w is None:
            w = self.sends[v["id"]] = self._orphan(op)
        if op["type"] == "ok":
            w.complete("ok", op["time"], op.get("index"), v.get("partition"), v.get("offset"))
            self._ack(w)
        else:
            w.outcome = _OUTCOMES.get(op["type"], "info")
            w.done_time, w.done_index = op["time"], op.get("index")
            self.unacked.setdefault(w.topic, {})[w.id] = w

    def _invoke(self, op: dict) -> None:
        v, sd = op["value"], self._strs.setdefault
        pr, tp, k, t = op["process"], v.get("topic"), v.get("key"), op["time"]
        self.sends[v["id"]] = Write(v["id"], sd(pr, pr), sd(tp, tp), sd(k, k),
                                    v.get("seq", -1), t, op.get("index"))
        self.inv_t.append(t)

    def _orphan(self, op: dict) -> Write:
        """A write known only from its completion."""
        v = op["value"]
        return Write(v["id"], op["process"], v.get("topic"), v.get("key"), v.get("seq"),
                     None, None)

    def _ack(self, w: Write) -> None:
        """Record an acknowledged write: topic's acks, time series, order."""
        self.acked.setdefault(w.topic, {})[w.id] = w
        t = w.done_time
        self.ok_t.append(t)
        self.ok_lat.append(t - w.invoke_time
                           if w.invoke_time is not None and w.txn is None else -1)
        self._version_order(w)

    def _version_order(self, w: Write) -> None:
        """Compare an ack with the previous ack of its producer and key."""
        k = (w.process, w.key)
        prev = self._last_ack.get(k)
        self._last_ack[k] = w
        if prev is None or prev.partition != w.partition or prev.topic != w.topic:
            return
        if w.seq > prev.seq:
            if w.offset is not None and prev.offset is not None and w.offset <= prev.offset:
                self.reorders.append((prev, w))
        else:
            self.unsorted.add((w.process, w.topic, w.key))

    # -- transactions --------------------------------------------------------
    def txn(self, op: dict) -> None:
        v = op.get("value") or {}
        key = (op["process"], v.get("txn"))
        if op["type"] == "invoke":
            self._txn_pending[key] = op
            return
        inv = self._txn_pending.pop(key, None)
        sends = v.get("sends") or (inv["value"].get("sends") if inv else None) or []
        outcome = op["type"]
        dest = (self.acked if outcome == "ok" else self.aborted if outcome == "fail"
                else self.unacked)
        for s in sends:
            w = self._txn_write(s, op, inv, outcome)
            if outcome == "ok":
                self._ack(w)
            else:
                dest.setdefault(w.topic, {})[s["id"]] = w

    def _txn_write(self, s: dict, done: dict | None, inv: dict | None,
                   outcome: str | None) -> Write:
        base = done or inv
        k = s.get("key")
        w = Write(s["id"], self._intern(base["process"]), self._intern(s["topic"]),
                  self._intern(k) if isinstance(k, str) else k, s.get("seq"),
                  inv["time"] if inv else None, inv["index"] if inv else None,
                  base["value"].get("txn"))
        if done is not None:
            w.outcome, w.done_time, w.done_index = outcome, done["time"], done["index"]
            if outcome == "ok":
                w.partition, w.offset = s.get("partition"), s.get("offset")
        self.txn_sends[s["id"]] = w
        return w

    # -- end of history ------------------------------------------------------
    def finish(self) -> int:
        """Writes still in flight become unacked; returns the number of
        transactions still pending."""
        if len(self.inv_t) > self.n_done:
            for rid, w in self.sends.items():
                if w.outcome is None:
                    self.unacked.setdefault(w.topic, {})[rid] = w
        pending = list(self._txn_pending.values())
        for inv in pending:
            for s in inv["value"].get("sends") or []:
                w = self._txn_write(s, None, inv, None)
                self.unacked.setdefault(w.topic, {})[s["id"]] = w
        self._txn_pending = {}
        return len(pending)

"""Single-pass streaming index over a history, shared by every checker.

Contract
--------
``HistoryIndex(ops)`` (or :meth:`HistoryIndex.from_path`, which streams a
history.jsonl in chunks) reads each op once, in history order, and keeps only
compact state -- never the high-volume op dicts (send, poll, final-read,
commit, assign, revoke, txn, checkpoint):

* writes: one list per write (see :mod:`.digests`), by id, split per topic
  into ``acked`` (send ok, txn ok), ``unacked`` (send fail/info/in flight,
  txn info/in flight) and ``aborted`` (txn fail = abort confirmed); ack and
  invoke times in lists; producer-order violations found online
  (``reorders``; ``unsorted`` = producer/key pairs whose acks arrived out of
  seq order and need a full sort);
* ``final_read(topic)``: the authoritative final read -- the last ``ok`` one
  with ``read_committed`` isolation, else the last of any; ``final_reads``
  holds every one;
* ``polls(topic)``: partition -> offset -> rid over all polls, conflicts,
  poll times with cumulative record counts;
* ``order_events``: per consumer process, between rebalance callbacks of a
  partition, every non-contiguous step ``(kind "gap"|"back", index, time,
  process, topic, partition, previous offset, offset)``;
* ``first_polls``: for each partition assigned to a group member, the first
  offset it polled and the group's commit state at that moment;
* any other op (fault-*, deploy, savepoint, restore, ...) as is: :meth:`get`.

Checkers accept a list of ops or a HistoryIndex (:func:`as_index`).
"""
from __future__ import annotations

import gc
import os
from typing import Any, Iterable

from harness.history import loads

from .digests import (S_DI, S_DT, S_IT, S_KEY, S_O, S_P, S_PROC, S_SEQ, S_TOPIC,
                      S_TXN, S_TYPE, FinalRead, PollDigest, raw_rid)
from .examples import ExampleMixin
from .groupstate import GroupState

__all__ = ["HistoryIndex", "as_index"]

_TYPES = {"ok": "ok", "fail": "fail", "info": "info", "invoke": "invoke"}
_DIGESTED = frozenset(("commit", "assign", "revoke", "txn", "checkpoint"))


class HistoryIndex(ExampleMixin):
    def __init__(self, ops: Iterable[dict] | None = None):
        self.n = 0
        self.start_time: int | None = None
        self.end_time = 0
        self.end_wall: float | None = None
        self.walls: list[tuple[int, float]] = []
        self.small: dict[str, list[dict]] = {}
        self.sends: dict[str, list] = {}
        self.txn_sends: dict[str, list] = {}
        self.acked: dict[str, dict[str, list]] = {}
        self.unacked: dict[str, dict[str, list]] = {}
        self.aborted: dict[str, dict[str, list]] = {}
        self.ok_t: list[int] = []      # ack times, history order
        self.ok_lat: list[int] = []    # invoke -> ack latency (-1: unknown/txn)
        self.inv_t: list[int] = []     # send invoke times
        self.reorders: list[tuple[list, list]] = []
        self.unsorted: set[tuple] = set()
        self._porder: dict[str, dict] = {}
        self.final_reads: list[FinalRead] = []
        self._final: dict[str, FinalRead] = {}
        self._polls: dict[str, PollDigest] = {}
        self.order_events: list[tuple] = []
        self.group = GroupState()
        self.checkpoint_times: list[int] = []
        self.counts: dict[str, int] = {}
        self._txn_pending: dict[tuple, dict] = {}
        self._strs: dict[str, str] = {}
        self._cons: dict[str, dict[str, dict[int, int]]] = {}
        self._cache: dict[str, Any] = {}
        self.finished = False
        if ops is not None:
            self.feed(ops)
            self.finish()

    @property
    def first_polls(self) -> list[dict]:
        return self.group.first_polls

    @classmethod
    def from_path(cls, path: str | os.PathLike, chunk_bytes: int = 4 << 20) -> "HistoryIndex":
        """Stream a history.jsonl (a truncated last line is tolerated)."""
        idx = cls()
        enabled = gc.isenabled()
        gc.disable()
        try:
            with open(path, "r", encoding="utf-8") as fh:
                pending: list[str] = []
                size = 0
                for line in fh:
                    if len(line) < 3 and not line.strip():
                        continue
                    pending.append(line)
                    size += len(line)
                    if size >= chunk_bytes:
                        last = pending.pop()
                        idx._feed_lines(pending, False)
                        pending, size = [last], len(last)
                idx._feed_lines(pending, True)
        finally:
            if enabled:
                gc.enable()
        return idx.finish()

    def _feed_lines(self, lines: list[str], at_end: bool) -> None:
        if not lines:
            return
        try:
            ops = loads(lines[0]) if len(lines) == 1 else \
                loads("[" + ",".join(lines) + "]")
            if len(lines) == 1:
                ops = [ops]
        except ValueError:
            ops = []
            for i, ln in enumerate(lines):
                try:
                    ops.append(loads(ln))
                except ValueError:
                    if at_end and i == len(lines) - 1:
                        break
                    raise ValueError(f"corrupt history line near op {self.n + i}") from None
        self.feed(ops)

    # -- the single pass -----------------------------------------------------
    def feed(self, ops: Iterable[dict]) -> None:
        sends, acked, unacked, strs = self.sends, self.acked, self.unacked, self._strs
        small, inv_t, ok_t, ok_lat = self.small, self.inv_t, self.ok_t, self.ok_lat
        porder = self._porder
        n_inv = n_done = n = 0
        last_tp = acc = last_pr = po = None
        op = None
        if not isinstance(ops, list):
            ops = list(ops)
        if self.start_time is None and ops:
            self.start_time = ops[0]["time"]
            self.walls.append((ops[0]["time"], ops[0].get("wall")))
        for op in ops:
            n += 1
            f = op["f"]
            if f == "send":
                v = op["value"]
                rid = v["id"]
                t = op["time"]
                if op["type"] == "invoke":
                    pr = op["process"]
                    tp = v.get("topic")
                    k = v.get("key")
                    sends[rid] = [t, strs.setdefault(pr, pr), strs.setdefault(tp, tp),
                                  strs.setdefault(k, k), v.get("seq", -1), None, None, None,
                                  None, None, op.get("index"), None, rid]
                    inv_t.append(t)
                    n_inv += 1
                    continue
                S = sends.get(rid)
                if S is None:
                    S = sends[rid] = self._orphan(op)
                n_done += 1
                S[S_DT] = t
                S[S_DI] = op.get("index")
                if op["type"] == "ok":
                    S[S_TYPE] = "ok"
                    S[S_P] = v.get("partition")
                    S[S_O] = v.get("offset")
                    tp = S[S_TOPIC]
                    if tp is not last_tp:
                        acc = acked.get(tp)
                        if acc is None:
                            acc = acked[tp] = {}
                        last_tp = tp
                    acc[rid] = S
                    ok_t.append(t)
                    ok_lat.append(t - S[S_IT] if S[S_IT] is not None else -1)
                    pr = S[S_PROC]                  # online producer-order check
                    if pr is not last_pr:
                        po = porder.get(pr)
                        if po is None:
                            po = porder[pr] = {}
                        last_pr = pr
                    k = S[S_KEY]
                    prev = po.get(k)
                    po[k] = S
                    if prev is not None and prev[S_P] == S[S_P] and prev[S_TOPIC] is tp:
                        if S[S_SEQ] > prev[S_SEQ]:
                            if S[S_O] is not None and prev[S_O] is not None and S[S_O] <= prev[S_O]:
                                self.reorders.append((prev, S))
                        else:
                            self.unsorted.add((pr, tp, k))
                else:
                    S[S_TYPE] = _TYPES.get(op["type"], "info")
                    unacked.setdefault(S[S_TOPIC], {})[rid] = S
            elif f == "poll":
                self._poll(op)
            elif f == "final-read":
                self._final_read(op)
            else:
                self.walls.append((op["time"], op.get("wall")))
                if f in _DIGESTED:
                    self._small_digest(f, op)
                else:
                    b = small.get(f)
                    if b is None:
                        b = small[f] = []
                    b.append(op)
        if op is None:
            return
        self.end_time = max(self.end_time, op["time"])
        self.end_wall = op.get("wall")
        self.walls.append((op["time"], op.get("wall")))
        self.n += n
        self._count("send-invoke", n_inv)
        self._count("send-done", n_done)

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def _acked(self, S: list) -> None:
        """Record a txn ack: time series and the online producer-order check
        (the same as inlined in :meth:`feed` for plain sends)."""
        t = S[S_DT]
        self.ok_t.append(t)
        self.ok_lat.append(t - S[S_IT] if S[S_IT] is not None and S[S_TXN] is None else -1)
        po = self._porder.get(S[S_PROC])
        if po is None:
            po = self._porder[S[S_PROC]] = {}
        k = S[S_KEY]
        prev = po.get(k)
        po[k] = S
        if prev is None or prev[S_P] != S[S_P] or prev[S_TOPIC] != S[S_TOPIC]:
            return
        if S[S_SEQ] > prev[S_SEQ]:
            if S[S_O] is not None and prev[S_O] is not None and S[S_O] <= prev[S_O]:
                self.reorders.append((prev, S))
        else:
            self.unsorted.add((S[S_PROC], S[S_TOPIC], k))

    def _orphan(self, op: dict) -> list:
        v, s = op["value"], self._strs
        pr, tp, k = op["process"], v.get("topic"), v.get("key")
        return [None, s.setdefault(pr, pr), s.setdefault(tp, tp), k,
                v.get("seq"), None, None, None, None, None, None, None, v["id"]]

    def _small_digest(self, f: str, op: dict) -> None:
        typ = op["type"]
        self._count(f"{f}-{typ}")
        if f == "txn":
            self._txn(op)
        elif f == "checkpoint":
            if typ == "ok":
                self.checkpoint_times.append(op["time"])
        else:
            self.group.op(op, self._cons)

    def _txn(self, op: dict) -> None:
        v = op.get("value") or {}
        key = (op["process"], v.get("txn"))
        if op["type"] == "invoke":
            self._txn_pending[key] = op
            return
        inv = self._txn_pending.pop(key, None)
        sends = v.get("sends") or (inv["value"].get("sends") if inv else None) or []
        t = op["type"]
        dest = self.acked if t == "ok" else self.aborted if t == "fail" else self.unacked
        for s in sends:
            S = self._txn_send(s, op, inv, t)
            dest.setdefault(S[S_TOPIC], {})[s["id"]] = S
            if t == "ok":
                self._acked(S)

    def _txn_send(self, s: dict, done: dict | None, inv: dict | None, t: str | None) -> list:
        base = done or inv
        st = self._strs
        pr, tp, k = base["process"], s["topic"], s.get("key")
        S = [inv["time"] if inv else None, st.setdefault(pr, pr), st.setdefault(tp, tp),
             st.setdefault(k, k) if isinstance(k, str) else k, s.get("seq"), t,
             s.get("partition") if t == "ok" else None,
             s.get("offset") if t == "ok" else None, done["time"] if done else None,
             done["index"] if done else None, inv["index"] if inv else None,
             base["value"].get("txn"), s["id"]]
        self.txn_sends[s["id"]] = S
        return S

    def _poll(self, op: dict) -> None:
        if op["type"] != "ok":
            self._count("poll-" + op["type"])
            return
        v = op["value"]
        topic = v["topic"]
        recs = v["records"]
        proc = op["process"]
        g = self._polls.get(topic)
        if g is None:
            g = self._polls[topic] = PollDigest(topic)
        g.n_polls += 1
        if not recs:
            return
        self.walls.append((op["time"], op.get("wall")))
        g.n_records += len(recs)
        g.processes.add(proc)
        g.times.append(op["time"])
        g.cum.append(g.n_records)
        cons = self._cons.get(proc)
        if cons is None:
            cons = self._cons[proc] = {}
        lastm = cons.get(topic)
        if lastm is None:
            lastm = cons[topic] = {}
        gl, pend, grp = self.group.poll_state(proc, topic, v)
        polled, conflicts, events = g.polled, g.conflicts, self.order_events
        lastp, pm, prev = None, None, None
        for r in recs:
            p = r["partition"]
            o = r["offset"]
            if p != lastp:
                if lastp is not None:
                    lastm[lastp] = prev
                    if gl is not None and prev > gl.get(lastp, -1):
                        gl[lastp] = prev
                pm = polled.get(p)
                if pm is None:
                    pm = polled[p] = {}
                prev = lastm.get(p)
                if pend and p in pend:
                    self.group.first_poll(op, grp, topic, p, o, pend.pop(p), gl.get(p))
                lastp = p
            if prev is not None and o != prev + 1:
                events.append(("gap" if o > prev else "back", op["index"], op["time"],
                               proc, topic, p, prev, o))
            prev = o
            val = r.get("value")
            rid = val.get("id") if val.__class__ is dict else raw_rid(val)
            x = pm.setdefault(o, rid)
            if x is not rid and x != rid:
                conflicts.append((p, o, x, rid, op["index"], op["time"], proc))
        lastm[lastp] = prev
        if gl is not None and prev > gl.get(lastp, -1):
            gl[lastp] = prev

    def _final_read(self, op: dict) -> None:
        if op["type"] != "ok" or not isinstance(op.get("value"), dict):
            self._count("final-read-" + op["type"])
            return
        self.walls.append((op["time"], op.get("wall")))
        fr = FinalRead(op)
        self.final_reads.append(fr)
        cur = self._final.get(fr.topic)
        if cur is None or fr.isolation == "read_committed" or cur.isolation != "read_committed":
            self._final[fr.topic] = fr

    def finish(self) -> "HistoryIndex":
        """Resolve in-flight sends and transactions (idempotent)."""
        if self.finished:
            return self
        self.finished = True
        if self.counts.get("send-invoke", 0) > self.counts.get("send-done", 0):
            for rid, S in self.sends.items():
                if S[S_TYPE] is None:
                    self.unacked.setdefault(S[S_TOPIC], {})[rid] = S
        for inv in self._txn_pending.values():
            self._count("txn-pending")
            for s in inv["value"].get("sends") or []:
                S = self._txn_send(s, None, inv, None)
                self.unacked.setdefault(S[S_TOPIC], {})[s["id"]] = S
        self._txn_pending = {}
        return self

    # -- queries -------------------------------------------------------------
    def __len__(self) -> int:
        return self.n

    def get(self, f: str) -> list[dict]:
        """Retained ops of kind ``f`` (not the digested high-volume kinds)."""
        return self.small.get(f, [])

    def write(self, rid: Any) -> list | None:
        S = self.sends.get(rid)
        return S if S is not None else self.txn_sends.get(rid)

    @property
    def txn_topics(self) -> set:
        r = self._cache.get("txn_topics")
        if r is None:
            r = self._cache["txn_topics"] = {S[S_TOPIC] for S in self.txn_sends.values()}
        return r

    @property
    def send_topics(self) -> set:
        """Topics written by plain (non-transactional) sends."""
        r = self._cache.get("send_topics")
        if r is None:
            r = self._cache["send_topics"] = {S[S_TOPIC] for S in self.sends.values()}
        return r

    def write_topics(self) -> set:
        return set(self.acked) | set(self.unacked) | set(self.aborted)

    def is_transactional(self, topic: str, declared: Iterable[str] | None = None) -> bool:
        """Transactional if txn ops write it, it is declared so, or -- when
        nothing is declared -- no plain harness ``send`` writes it."""
        key = ("txn?", topic, None if declared is None else tuple(declared))
        r = self._cache.get(key)
        if r is None:
            if topic in self.txn_topics:
                r = True
            elif declared is not None:
                r = topic in set(declared)
            else:
                r = topic not in self.send_topics
            self._cache[key] = r
        return r

    def final_read(self, topic: str) -> FinalRead | None:
        return self._final.get(topic)

    def final_read_topics(self) -> list[str]:
        return list(self._final)

    def polls(self, topic: str) -> PollDigest | None:
        return self._polls.get(topic)

    def poll_topics(self) -> list[str]:
        return list(self._polls)

    def gap_explained(self, topic: str, p: int, lo: int, hi: int) -> bool | None:
        """True if offsets ``[lo, hi)`` hold nothing readable: none is in the
        final read, or (read_uncommitted final read) the ones present belong to
        aborted transactions.  None if the topic has no final read."""
        if hi <= lo:
            return True
        fr = self.final_read(topic)
        if fr is None:
            return None
        present = fr.offsets_in(p, lo, hi)
        if not present:
            return True
        aborted = self.aborted.get(topic)
        if not aborted:
            return False
        pm = fr.at[p]
        return all(pm[o] in aborted for o in present)


def as_index(history: "HistoryIndex | Iterable[dict]") -> HistoryIndex:
    if isinstance(history, HistoryIndex):
        return history.finish()
    return HistoryIndex(history)

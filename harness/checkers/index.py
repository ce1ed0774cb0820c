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
* ``polls(topic)``: every polled record as flat columns (partition ->
  offset -> rid and conflicts derived on demand), poll times with
  cumulative record counts (see :class:`.digests.PollDigest`);
* ``order_events``: per consumer process, between rebalance callbacks of a
  partition, every non-contiguous step ``(kind "gap"|"back", index, time,
  process, topic, partition, previous offset, offset)``;
* ``first_polls``: for each partition assigned to a group member, the first
  offset it polled and the group's commit state at that moment;
* any other op (fault-*, deploy, savepoint, restore, ...) as is: :meth:`get`.

Checkers accept a list of ops or a HistoryIndex (:func:`as_index`).

Derived queries shared by checkers are cached (:meth:`lookup`, :meth:`absent`,
:meth:`acks_in_place`): the index must not change once finished.

Speed: the work is bound by memory access, so each op is touched once while
it is hot: polls and group ops are consumed in small batches, in history
order (:mod:`.consumers`); records of polls and final reads are digested
with whole-list operations; acks keep compact partition/offset columns for
the final-read comparison; :meth:`from_path` parses and digests small
sub-batches (:mod:`.stream`); the garbage collector is paused while feeding
(the digest holds no reference cycles).
"""
from __future__ import annotations

import gc
import os
from array import array
from itertools import compress, repeat
from operator import is_, itemgetter
from typing import Any, Iterable

from .consumers import ConsumerDigest
from .digests import (S_DI, S_DT, S_IT, S_KEY, S_O, S_P, S_PROC, S_SEQ, S_TOPIC,
                      S_TXN, S_TYPE, FinalRead, PollDigest)
from .examples import ExampleMixin
from .stream import feed_file

__all__ = ["HistoryIndex", "as_index"]

_TYPES = {"ok": "ok", "fail": "fail", "info": "info", "invoke": "invoke"}
_GROUP = frozenset(("commit", "assign", "revoke"))
_SP, _SO = itemgetter(S_P), itemgetter(S_O)
_BATCH = 8192    # poll records per consumer batch (kept small enough to stay in cache)


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
        self._ackpos: dict[Any, tuple | None] = {}   # topic -> (partitions, offsets) of acks
        self.final_reads: list[FinalRead] = []
        self._final: dict[str, FinalRead] = {}
        self._polls: dict[str, PollDigest] = {}
        self.consumers = ConsumerDigest(self._polls, self.walls)
        self.group = self.consumers.group
        self.order_events = self.consumers.events
        self.checkpoint_times: list[int] = []
        self.counts: dict[str, int] = {}
        self._txn_pending: dict[tuple, dict] = {}
        self._strs: dict[str, str] = {}
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
        """Stream a history.jsonl (a truncated last line is tolerated); see
        :mod:`.stream`."""
        idx = cls()
        enabled = gc.isenabled()
        gc.disable()
        try:
            feed_file(idx, path, chunk_bytes)
        finally:
            if enabled:
                gc.enable()
        return idx.finish()

    # -- the single pass -----------------------------------------------------
    def feed(self, ops: Iterable[dict]) -> None:
        """Digest ``ops`` (the next ops of the history, in order)."""
        if not isinstance(ops, list):
            ops = list(ops)
        if not ops:
            return
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._feed(ops)
        finally:
            if enabled:
                gc.enable()

    def _feed(self, ops: list[dict], sample_last: bool = True) -> None:
        """Digest a non-empty batch (``sample_last``: sample the wall clock
        of its last op, as a :meth:`feed` batch does)."""
        sends, acked, unacked = self.sends, self.acked, self.unacked
        small, polls, porder = self.small, self._polls, self._porder
        sget, sd = sends.get, self._strs.setdefault
        inv_ap, ok_ap, lat_ap = self.inv_t.append, self.ok_t.append, self.ok_lat.append
        walls_ap = self.walls.append
        n_inv0 = len(self.inv_t)
        n_done = 0
        last_tp = acc = last_pr = po = pa = oa = None
        deferred: list[dict] = []       # polls with records + group ops, for the batch
        recs: list[dict] = []           # ... and those polls' records
        dap, run = deferred.append, self.consumers.run
        if self.start_time is None:
            self.start_time = ops[0]["time"]
            walls_ap((ops[0]["time"], ops[0].get("wall")))
        for op in ops:
            f = op["f"]
            if f == "send":
                v = op["value"]
                rid = v["id"]
                typ = op["type"]
                t = op["time"]
                if typ == "invoke":     # (process, topic, key interned: memory)
                    try:
                        pr, tp, k = op["process"], v["topic"], v["key"]
                        sends[rid] = [t, sd(pr, pr), sd(tp, tp), sd(k, k), v["seq"], None,
                                      None, None, None, None, op["index"], None, rid]
                    except KeyError:
                        pr, tp, k = op["process"], v.get("topic"), v.get("key")
                        sends[rid] = [t, sd(pr, pr), sd(tp, tp), sd(k, k), v.get("seq", -1),
                                      None, None, None, None, None, op.get("index"), None, rid]
                    inv_ap(t)
                    continue
                S = sget(rid)
                if S is None:
                    S = sends[rid] = self._orphan(op)
                n_done += 1
                if typ != "ok":
                    S[S_DT] = t
                    S[S_DI] = op.get("index")
                    S[S_TYPE] = _TYPES.get(typ, "info")
                    unacked.setdefault(S[S_TOPIC], {})[rid] = S
                    continue
                try:
                    p, o = v["partition"], v["offset"]
                    S[5:10] = "ok", p, o, t, op["index"]    # S_TYPE, S_P, S_O, S_DT, S_DI
                except KeyError:
                    p, o = v.get("partition"), v.get("offset")
                    S[5:10] = "ok", p, o, t, op.get("index")
                tp = S[2]                                    # S_TOPIC
                if acc is None or tp != last_tp:
                    acc = acked.get(tp)
                    if acc is None:
                        acc = acked[tp] = {}
                    last_tp = tp
                    pa, oa = self._ack_cols(tp)
                n0 = len(acc)
                acc[S[12]] = S                               # (the invoke's id string)
                if pa is not None:                           # compact (p, o) per ack
                    try:
                        if len(acc) == n0:
                            raise TypeError                  # acked twice
                        pa(p)
                        oa(o)
                    except (TypeError, OverflowError):
                        pa = self._no_ack_cols(tp)
                ok_ap(t)
                it = S[0]                                    # S_IT
                lat_ap(t - it if it is not None else -1)
                pr = S[1]                                    # online producer-order check
                if po is None or pr != last_pr:
                    po = porder.get(pr)
                    if po is None:
                        po = porder[pr] = {}
                    last_pr = pr
                k = S[3]                                     # S_KEY
                prev = po.get(k)
                po[k] = S
                if prev is not None and prev[6] == p and prev[2] == tp:
                    if S[4] > prev[4]:                       # S_SEQ
                        if o is not None and prev[7] is not None and o <= prev[7]:
                            self.reorders.append((prev, S))
                    else:
                        self.unsorted.add((pr, tp, k))
            elif f == "poll":
                typ = op["type"]
                if typ != "ok":
                    self._count("poll-" + typ)
                    continue
                v = op["value"]
                topic = v["topic"]
                g = polls.get(topic)
                if g is None:
                    g = polls[topic] = PollDigest(topic)
                g.n_polls += 1
                r = v["records"]
                if r:
                    recs += r
                    dap(op)
                    if len(recs) >= _BATCH:     # consume while the records are hot
                        run(deferred, recs)
                        deferred.clear()
                        recs.clear()
            elif f == "final-read":
                self._final_read(op)
            else:
                walls_ap((op["time"], op.get("wall")))
                if f in _GROUP:
                    self._count(f + "-" + op["type"])
                    dap(op)
                elif f == "txn":
                    self._count("txn-" + op["type"])
                    self._txn(op)
                elif f == "checkpoint":
                    self._count("checkpoint-" + op["type"])
                    if op["type"] == "ok":
                        self.checkpoint_times.append(op["time"])
                else:
                    b = small.get(f)
                    if b is None:
                        b = small[f] = []
                    b.append(op)
        op = ops[-1]
        self.end_time = max(self.end_time, op["time"])
        self.end_wall = op.get("wall")
        if sample_last:
            walls_ap((op["time"], op.get("wall")))
        self.n += len(ops)
        self._count("send-invoke", len(self.inv_t) - n_inv0)
        self._count("send-done", n_done)
        run(deferred, recs)

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
        v = op["value"]
        return [None, op["process"], v.get("topic"), v.get("key"), v.get("seq"), None, None,
                None, None, None, None, None, v["id"]]

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
            d = dest.setdefault(S[S_TOPIC], {})
            n0 = len(d)
            d[s["id"]] = S
            if t == "ok":
                pa, oa = self._ack_cols(S[S_TOPIC])
                if pa is not None:
                    try:
                        if len(d) == n0:
                            raise TypeError
                        pa(S[S_P])
                        oa(S[S_O])
                    except (TypeError, OverflowError):
                        self._no_ack_cols(S[S_TOPIC])
                self._acked(S)

    def _ack_cols(self, topic: Any) -> tuple:
        """Appenders of the topic's compact ack partition/offset columns
        (parallel to ``acked[topic]``), or (None, None) once unusable."""
        cols = self._ackpos.get(topic, False)
        if cols is False:
            cols = self._ackpos[topic] = (array("q"), array("q"))
        return (None, None) if cols is None else (cols[0].append, cols[1].append)

    def _no_ack_cols(self, topic: Any) -> None:
        self._ackpos[topic] = None
        return None

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

    def lookup(self, a: dict, b: dict) -> list:
        """``b.get(k)`` for every key ``k`` of ``a``, in ``a``'s order (cached:
        checkers share these joins; the index is immutable once finished)."""
        key = ("lookup", id(a), id(b))
        r = self._cache.get(key)
        if r is None or r[0] is not a or r[1] is not b:
            r = self._cache[key] = (a, b, list(map(b.get, a)))
        return r[2]

    def acks_in_place(self, topic: Any) -> bool:
        """True if the final read of ``topic`` holds every acked write's id
        at the write's partition and offset (whole-list check, cached; False
        means "not shown").  Then no acked write is lost or misplaced."""
        key = ("in-place", topic)
        r = self._cache.get(key)
        if r is None:
            r = False
            acked, fr = self.acked.get(topic), self.final_read(topic)
            if acked and fr is not None:
                cols = self._ackpos.get(topic)
                if cols is not None and len(cols[0]) == len(cols[1]) == len(acked):
                    got = fr.rids_at(cols[0], cols[1])
                else:
                    ws = list(acked.values())
                    got = fr.rids_at(list(map(_SP, ws)), list(map(_SO, ws)))
                r = got is not None and got == list(acked)
            self._cache[key] = r
        return r

    def absent(self, a: dict, b: dict) -> list:
        """Keys of ``a`` missing from ``b`` (whose values are never None),
        in ``a``'s order."""
        return list(compress(a, map(is_, self.lookup(a, b), repeat(None))))

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

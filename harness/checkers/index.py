"""Single-pass streaming index over a history, shared by every checker.

Contract
--------
``HistoryIndex(ops)`` (or :meth:`HistoryIndex.from_path`, which streams a
history.jsonl in chunks) reads each op once, in history order, and keeps only
compact state -- never the ``send``/``poll``/``final-read`` op dicts:

* writes: one list per write (see :mod:`.digests`), by id, split per topic
  into ``acked`` (send ok, txn ok), ``unacked`` (send fail/info/in flight,
  txn info/in flight) and ``aborted`` (txn fail = abort confirmed);
* ``final_read(topic)``: the authoritative final read -- the last ``ok`` one
  with ``read_committed`` isolation, else the last of any isolation;
  ``final_reads`` holds every one;
* ``polls(topic)``: partition -> offset -> rid over all polls, conflicts,
  poll times with cumulative record counts;
* ``order_events``: per consumer process, between rebalance callbacks of a
  partition, every non-contiguous step ``("gap"|"back", index, time, process,
  topic, partition, previous offset, offset)``;
* ``first_polls``: for each partition assigned to a group member, the first
  offset it polled and the group's commit state at that moment;
* every other op (commit, assign, revoke, txn, fault-*, flink ops...) as is,
  via :meth:`get`.

Checkers accept a list of ops or a HistoryIndex (:func:`as_index`).
"""
from __future__ import annotations

import gc
import json
import os
from typing import Any, Iterable

from .digests import (S_DI, S_DT, S_ID, S_II, S_IT, S_KEY, S_O, S_P, S_PROC, S_SEQ,
                      S_TOPIC, S_TXN, S_TYPE, FinalRead, PollDigest, pos, raw_rid, unpos)
from .faults import FaultWindow, fault_windows as _fault_windows, overlapping

__all__ = ["HistoryIndex", "as_index"]

_TYPES = {"ok": "ok", "fail": "fail", "info": "info", "invoke": "invoke"}


class HistoryIndex:
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
        self.final_reads: list[FinalRead] = []
        self._final: dict[str, FinalRead] = {}
        self._polls: dict[str, PollDigest] = {}
        self.order_events: list[tuple] = []
        self.first_polls: list[dict] = []
        self.counts = {"send-invoke": 0, "send-done": 0, "poll-not-ok": 0,
                       "final-read-not-ok": 0}
        self._strs: dict[str, str] = {}
        self._cons: dict[str, dict[str, dict[int, int]]] = {}
        self._g = {"proc_group": {}, "proc_topic": {}, "committed": {}, "maybe": {},
                   "inflight": {}, "last": {}, "pending": {}}
        self._cache: dict[str, Any] = {}
        self.finished = False
        if ops is not None:
            self.feed(ops)
            self.finish()

    @classmethod
    def from_path(cls, path: str | os.PathLike, chunk_bytes: int = 4 << 20) -> "HistoryIndex":
        """Stream a history.jsonl (truncated last line tolerated)."""
        idx = cls()
        enabled = gc.isenabled()
        gc.disable()
        try:
            with open(path, "r", encoding="utf-8") as fh:
                pending: list[str] = []
                size = 0
                for line in fh:
                    if len(line) > chunk_bytes:      # e.g. a big final read
                        idx._feed_lines(pending, False)
                        pending, size = [], 0
                        pending.append(line)
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
        idx.finish()
        return idx

    def _feed_lines(self, lines: list[str], at_end: bool) -> None:
        lines = [ln for ln in lines if ln.strip()]
        if not lines:
            return
        if len(lines) == 1:
            try:
                self.feed([json.loads(lines[0])])
            except ValueError:
                if not at_end:
                    raise
            return
        try:
            ops = json.loads("[" + ",".join(lines) + "]")
        except ValueError:
            ops = []
            for i, ln in enumerate(lines):
                try:
                    ops.append(json.loads(ln))
                except ValueError:
                    if at_end and i == len(lines) - 1:
                        break
                    raise ValueError(f"corrupt history line near op {self.n + i}") from None
        self.feed(ops)

    # -- the single pass -----------------------------------------------------
    def feed(self, ops: Iterable[dict]) -> None:
        sends, acked, unacked, strs = self.sends, self.acked, self.unacked, self._strs
        small = self.small
        n_inv = n_done = n = 0
        last_tp, acc = None, None
        op = None
        if self.start_time is None:
            if not isinstance(ops, list):
                ops = list(ops)
            if ops:
                self.start_time = ops[0]["time"]
                self.walls.append((ops[0]["time"], ops[0].get("wall")))
        for op in ops:
            n += 1
            f = op["f"]
            if f == "send":
                v = op["value"]
                rid = v["id"]
                if op["type"] == "invoke":
                    pr = op["process"]
                    tp = v["topic"]
                    k = v["key"]
                    sends[rid] = [op["time"], strs.setdefault(pr, pr),
                                  strs.setdefault(tp, tp), strs.setdefault(k, k),
                                  v["seq"], None, None, None, None, None, op["index"], None,
                                  rid]
                    n_inv += 1
                    continue
                S = sends.get(rid)
                if S is None:
                    S = sends[rid] = self._orphan(op)
                n_done += 1
                S[S_DT] = op["time"]
                S[S_DI] = op["index"]
                if op["type"] == "ok":
                    S[S_TYPE] = "ok"
                    S[S_P] = v["partition"]
                    S[S_O] = v["offset"]
                    tp = S[S_TOPIC]
                    if tp is not last_tp:
                        acc = acked.get(tp)
                        if acc is None:
                            acc = acked[tp] = {}
                        last_tp = tp
                    acc[rid] = S
                else:
                    S[S_TYPE] = _TYPES.get(op["type"], "info")
                    unacked.setdefault(S[S_TOPIC], {})[rid] = S
            elif f == "poll":
                self._poll(op)
            elif f == "final-read":
                self._final_read(op)
            else:
                b = small.get(f)
                if b is None:
                    b = small[f] = []
                b.append(op)
                self.walls.append((op["time"], op.get("wall")))
                if f == "assign" or f == "revoke" or f == "commit":
                    self._group_op(op)
        if op is None:
            return
        self.end_time = max(self.end_time, op["time"])
        self.end_wall = op.get("wall")
        self.walls.append((op["time"], op.get("wall")))
        self.n += n
        self.counts["send-invoke"] += n_inv
        self.counts["send-done"] += n_done

    def _orphan(self, op: dict) -> list:
        v, s = op["value"], self._strs
        pr, tp, k = op["process"], v.get("topic"), v.get("key")
        return [None, s.setdefault(pr, pr), s.setdefault(tp, tp) if tp else tp, k,
                v.get("seq"), None, None, None, None, None, None, None, v["id"]]

    def _poll(self, op: dict) -> None:
        if op["type"] != "ok":
            self.counts["poll-not-ok"] += 1
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
        G = self._g
        grp = v.get("group", G["proc_group"].get(proc))
        gl = None
        if grp is not None:
            gl = G["last"].get((grp, topic))
            if gl is None:
                gl = G["last"][(grp, topic)] = {}
        pend = G["pending"].get(proc)
        pend = pend.get(topic) if pend and gl is not None else None
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
                    self._first_poll(op, grp, topic, p, o, pend.pop(p), gl.get(p))
                lastp = p
            if prev is not None and o != prev + 1:
                events.append(("gap" if o > prev else "back", op["index"], op["time"],
                               proc, topic, p, prev, o))
            prev = o
            val = r["value"]
            rid = val.get("id") if val.__class__ is dict else raw_rid(val)
            x = pm.setdefault(o, rid)
            if x != rid:
                conflicts.append((p, o, x, rid, op["index"], op["time"], proc))
        lastm[lastp] = prev
        if gl is not None and prev > gl.get(lastp, -1):
            gl[lastp] = prev

    def _group_op(self, op: dict) -> None:
        G = self._g
        f, typ, proc = op["f"], op["type"], op["process"]
        val = op.get("value") or {}
        if f == "commit":
            grp = val.get("group")
            t = val.get("topic") or G["proc_topic"].get(proc)
            offs = {(t, int(p)): o for p, o in (val.get("offsets") or {}).items()
                    if o is not None}
            if typ == "invoke":
                G["inflight"][(proc, grp)] = offs
                return
            G["inflight"].pop((proc, grp), None)
            for (t2, p), o in offs.items():
                k = (grp, t2, p)
                if typ == "ok":
                    G["committed"][k] = o
                elif typ == "info":
                    G["maybe"][k] = max(G["maybe"].get(k, o), o)
            return
        if typ != "ok":
            return
        topic = val.get("topic")
        if "group" in val:
            G["proc_group"][proc] = val.get("group")
        if topic is not None:
            G["proc_topic"][proc] = topic
        parts = val.get("partitions")
        cons = self._cons.get(proc, {})
        for t, lastm in cons.items():        # rebalance callbacks reset order tracking
            if topic is None or t == topic:
                for p in (parts if parts is not None else list(lastm)):
                    lastm.pop(p, None)
        if f == "assign":
            if val.get("group") is None:
                return
            positions = val.get("positions") or {}
            pend = G["pending"].setdefault(proc, {}).setdefault(topic, {})
            for p in parts or ():
                pend[p] = (op["index"], op["time"], positions.get(str(p), positions.get(p)))
        else:
            pend = G["pending"].get(proc, {}).get(topic)
            if pend:
                for p in (parts if parts is not None else list(pend)):
                    pend.pop(p, None)

    def _first_poll(self, op: dict, grp: Any, topic: str, p: int, first: int,
                    ctx: tuple, last_polled: int | None) -> None:
        G = self._g
        k = (grp, topic, p)
        infl = [offs[(topic, p)] for (pr, g2), offs in G["inflight"].items()
                if g2 == grp and (topic, p) in offs]
        self.first_polls.append({
            "index": op["index"], "time": op["time"], "wall": op.get("wall"),
            "process": op["process"], "group": grp, "topic": topic, "partition": p,
            "first": first, "position": ctx[2], "commit_ok": G["committed"].get(k),
            "commit_maybe": G["maybe"].get(k), "commit_inflight": max(infl) if infl else None,
            "last_polled": last_polled, "assign_index": ctx[0], "assign_time": ctx[1]})

    def _final_read(self, op: dict) -> None:
        if op["type"] != "ok" or not isinstance(op.get("value"), dict):
            self.counts["final-read-not-ok"] += 1
            return
        self.walls.append((op["time"], op.get("wall")))
        fr = FinalRead(op)
        self.final_reads.append(fr)
        cur = self._final.get(fr.topic)
        if cur is None or fr.isolation == "read_committed" or cur.isolation != "read_committed":
            self._final[fr.topic] = fr

    def finish(self) -> "HistoryIndex":
        """Resolve transactions and in-flight sends (idempotent)."""
        if self.finished:
            return self
        self.finished = True
        if self.counts["send-invoke"] > self.counts["send-done"]:
            for rid, S in self.sends.items():
                if S[S_TYPE] is None:
                    self.unacked.setdefault(S[S_TOPIC], {})[rid] = S
        pending: dict[Any, dict] = {}
        self.txn_counts = c = {"ok": 0, "aborted": 0, "info": 0, "pending": 0}
        for op in self.get("txn"):
            v = op.get("value") or {}
            if op["type"] == "invoke":
                pending[(op["process"], v.get("txn"))] = op
                continue
            inv = pending.pop((op["process"], v.get("txn")), None)
            sends = v.get("sends") or (inv["value"].get("sends") if inv else None) or []
            t = op["type"]
            dest = self.acked if t == "ok" else self.aborted if t == "fail" else self.unacked
            c["ok" if t == "ok" else "aborted" if t == "fail" else "info"] += 1
            for s in sends:
                self._txn_send(s, op, inv, t, dest)
        for inv in pending.values():
            c["pending"] += 1
            for s in inv["value"].get("sends") or []:
                self._txn_send(s, None, inv, None, self.unacked)
        return self

    def _txn_send(self, s: dict, done: dict | None, inv: dict | None, t: str | None,
                  dest: dict) -> None:
        base = done or inv
        S = [inv["time"] if inv else None, base["process"], s["topic"], s.get("key"),
             s.get("seq"), t, s.get("partition") if t == "ok" else None,
             s.get("offset") if t == "ok" else None, done["time"] if done else None,
             done["index"] if done else None, inv["index"] if inv else None,
             base["value"].get("txn"), s["id"]]
        self.txn_sends[s["id"]] = S
        dest.setdefault(s["topic"], {})[s["id"]] = S

    # -- queries -------------------------------------------------------------
    def __len__(self) -> int:
        return self.n

    def get(self, f: str) -> list[dict]:
        """Ops of a kind other than send/poll/final-read, in history order."""
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

    # -- time and faults -------------------------------------------------------
    def wall_at(self, t: int | None) -> float | None:
        """Wall clock of monotonic time ``t`` (from the nearest sampled op)."""
        if t is None or not self.walls:
            return None
        best = min(self.walls, key=lambda tw: abs(tw[0] - t))
        return None if best[1] is None else round(best[1] + (t - best[0]) / 1e9, 6)

    @property
    def fault_windows(self) -> list[FaultWindow]:
        w = self._cache.get("faults")
        if w is None:
            w = self._cache["faults"] = _fault_windows(
                sorted(self.get("fault-start") + self.get("fault-stop"),
                       key=lambda o: o.get("index", 0)), self.end_time, self.end_wall)
        return w

    def windows_at(self, t0: int, t1: int | None = None) -> list[dict]:
        return overlapping(self.fault_windows, t0, t1)

    def example(self, op: dict | None = None, t0: int | None = None,
                t1: int | None = None, **fields: Any) -> dict:
        """An anomaly example: ``fields`` plus op index/process/time/wall and
        the fault windows overlapping ``[t0, t1]`` (default: the op's time)."""
        ex = dict(fields)
        if op is not None:
            for k in ("index", "process", "time", "wall"):
                if op.get(k) is not None:
                    ex.setdefault(k, op.get(k))
        if ex.get("time") is not None and ex.get("wall") is None:
            ex["wall"] = self.wall_at(ex["time"])
        a = t0 if t0 is not None else ex.get("time")
        b = t1 if t1 is not None else ex.get("time")
        ex["fault_windows"] = [] if a is None else self.windows_at(a, b if b is not None else a)
        return ex

    def write_example(self, rid: Any, **fields: Any) -> dict:
        """Example for a harness write: its times span invoke..completion."""
        S = self.write(rid)
        if S is None:
            return self.example(None, id=rid, **fields)
        t = S[S_DT] if S[S_DT] is not None else S[S_IT]
        ex = self.example(None, t0=S[S_IT] if S[S_IT] is not None else t, t1=t, id=rid,
                          process=S[S_PROC], time=t, index=S[S_DI] if S[S_DI] is not None
                          else S[S_II], outcome=S[S_TYPE], **fields)
        ex.setdefault("key", S[S_KEY])
        ex.setdefault("seq", S[S_SEQ])
        if S[S_P] is not None:
            ex.setdefault("partition", S[S_P])
            ex.setdefault("offset", S[S_O])
        if S[S_IT] is not None:
            ex["invoke_time"], ex["invoke_wall"] = S[S_IT], self.wall_at(S[S_IT])
        if S[S_TXN] is not None:
            ex["txn"] = S[S_TXN]
        return ex


def as_index(history: "HistoryIndex | Iterable[dict]") -> HistoryIndex:
    if isinstance(history, HistoryIndex):
        return history.finish()
    return HistoryIndex(history)


# re-exported for checkers
__all__ += ["pos", "unpos", "S_ID", "S_DI", "S_DT", "S_II", "S_IT", "S_KEY", "S_O", "S_P",
            "S_PROC", "S_SEQ", "S_TOPIC", "S_TXN", "S_TYPE"]

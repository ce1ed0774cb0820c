"""Synthetic histories from a tiny in-memory Kafka model (tests, benchmarks).

Contract
--------
:class:`Sim` models topics/partitions as logs of records, transaction
markers and aborted records, idempotent producers, transactional producers,
consumer groups with eager rebalances and commits, a Flink-like exactly-once
counting job and nemesis faults, and records every step through
:class:`kfchaos.history.History` (fake clock, 1 ms per op by default) using
exactly the operation vocabulary of the real clients.  Any history it emits
is *valid*: the checkers must report no anomaly on it.  :func:`generate`
drives a random Sim to a target number of ops.  :class:`Builder` writes
hand-made histories (any content, valid or not) with the same op shapes.
"""
from __future__ import annotations

import random
import zlib
from collections import deque
from typing import Any

from kfchaos.history import History

__all__ = ["Sim", "generate", "record", "Builder"]

PLAIN, COMMITTED, ABORTED, MARKER = 0, 1, 2, 3


def record(p: int, o: int, value: Any, key: str | None = None) -> dict:
    return {"partition": p, "offset": o,
            "key": key if key is not None else (value.get("key") if isinstance(value, dict) else None),
            "value": value}


class Sim:
    def __init__(self, seed: int = 0, step_ns: int = 1_000_000,
                 history: History | None = None):
        self.rng = random.Random(seed)
        self.now = 1_000_000_000_000
        self.t0 = self.now
        self.step = step_ns
        self.h = history or History(clock=self._clock)
        self.logs: dict[str, list[list]] = {}
        self.seqs: dict[tuple, int] = {}
        self.counters: dict[str, int] = {}
        self.inflight: dict[str, deque] = {}
        self.groups: dict[str, dict] = {}
        self.members: dict[str, dict] = {}
        self.nfault = 0
        self.flink: dict | None = None

    # -- plumbing ----------------------------------------------------------
    def _clock(self) -> tuple[int, float]:
        self.now += self.step
        return self.now, 1.7e9 + (self.now - self.t0) / 1e9

    def sleep(self, ms: float) -> None:
        self.now += int(ms * 1e6)

    @property
    def ops(self) -> list[dict]:
        return self.h.ops

    def topic(self, name: str, partitions: int = 3) -> None:
        self.logs.setdefault(name, [[] for _ in range(partitions)])

    def partition_for(self, topic: str, key: str) -> int:
        return zlib.crc32(key.encode()) % len(self.logs[topic])

    def _next_id(self, proc: str) -> str:
        n = self.counters.get(proc, 0)
        self.counters[proc] = n + 1
        return f"{proc}-{n}"

    def _next_seq(self, proc: str, key: str) -> int:
        s = self.seqs.get((proc, key), 0)
        self.seqs[(proc, key)] = s + 1
        return s

    # -- producers ---------------------------------------------------------
    def send(self, proc: str, key: str, topic: str = "t", outcome: str = "ok",
             defer: bool = False) -> dict:
        """outcome: ok | fail | info | info-written | fail-written | pending."""
        val = {"topic": topic, "key": key, "id": self._next_id(proc),
               "seq": self._next_seq(proc, key)}
        self.h.invoke(proc, "send", val)
        done = dict(val)
        if outcome in ("ok", "info-written", "fail-written"):
            p = self.partition_for(topic, key)
            log = self.logs[topic][p]
            done["partition"], done["offset"] = p, len(log)
            log.append([{"id": val["id"], "key": key, "seq": val["seq"], "producer": proc},
                        PLAIN])
        if outcome != "ok":
            done.pop("partition", None)
            done.pop("offset", None)
            done["error"] = "KafkaError{code=_MSG_TIMED_OUT}"
        typ = {"ok": "ok", "info": "info", "info-written": "info", "fail": "fail",
               "fail-written": "fail"}.get(outcome)
        if typ is not None:
            if defer:
                self.inflight.setdefault(proc, deque()).append((typ, done))
            else:
                self.h.append({"process": proc, "type": typ, "f": "send", "value": done})
        return val

    def drain(self, proc: str | None = None, n: int | None = None) -> None:
        """Complete deferred sends (FIFO per producer)."""
        for pr in ([proc] if proc else list(self.inflight)):
            q = self.inflight.get(pr)
            k = 0
            while q and (n is None or k < n):
                typ, val = q.popleft()
                self.h.append({"process": pr, "type": typ, "f": "send", "value": val})
                k += 1

    def txn(self, proc: str, keys: list[str], topic: str = "t",
            outcome: str = "ok") -> dict:
        """outcome: ok | abort | info-committed | info-aborted | pending."""
        n = self.counters.get(proc + "#txn", 0)
        self.counters[proc + "#txn"] = n + 1
        name = f"{proc}-t{n}"
        sends = [{"topic": topic, "key": k, "id": self._next_id(proc),
                  "seq": self._next_seq(proc, k)} for k in keys]
        self.h.invoke(proc, "txn", {"txn": name, "sends": sends})
        state = COMMITTED if outcome in ("ok", "info-committed") else ABORTED
        touched, done = set(), []
        for s in sends:
            p = self.partition_for(topic, s["key"])
            log = self.logs[topic][p]
            done.append({**s, "partition": p, "offset": len(log)})
            log.append([{"id": s["id"], "key": s["key"], "seq": s["seq"], "producer": proc},
                        state])
            touched.add(p)
        for p in sorted(touched):
            self.logs[topic][p].append([None, MARKER])
        if outcome == "ok":
            self.h.ok(proc, "txn", {"txn": name, "sends": done})
        elif outcome == "abort":
            self.h.fail(proc, "txn", {"txn": name, "sends": sends, "error": "aborted"})
        elif outcome.startswith("info"):
            self.h.info(proc, "txn", {"txn": name, "sends": sends, "error": "timeout"})
        return {"txn": name, "sends": done}

    # -- consumers ---------------------------------------------------------
    def join(self, proc: str, group: str, topic: str = "t",
             isolation: str = "read_committed") -> None:
        g = self.groups.setdefault(group, {"members": [], "committed": {}, "topic": topic})
        self.members[proc] = {"group": group, "topic": topic, "isolation": isolation,
                              "parts": [], "pos": {}}
        g["members"].append(proc)
        self.rebalance(group)

    def leave(self, proc: str) -> None:
        m = self.members.pop(proc)
        g = self.groups[m["group"]]
        self._revoke(proc, m)
        g["members"].remove(proc)
        self.rebalance(m["group"], skip_revoke={proc})

    def _revoke(self, proc: str, m: dict) -> None:
        self.h.ok(proc, "revoke", {"group": m["group"], "topic": m["topic"],
                                   "partitions": list(m["parts"])})
        m["parts"], m["pos"] = [], {}

    def rebalance(self, group: str, skip_revoke: set | None = None) -> None:
        g = self.groups[group]
        for proc in g["members"]:
            if proc not in (skip_revoke or ()):
                self._revoke(proc, self.members[proc])
        nparts = len(self.logs[g["topic"]])
        members = list(g["members"])
        self.rng.shuffle(members)
        for i, proc in enumerate(members):
            m = self.members[proc]
            m["parts"] = [p for p in range(nparts) if p % len(members) == i]
            m["pos"] = {p: g["committed"].get(p, 0) for p in m["parts"]}
            self.h.ok(proc, "assign", {
                "group": group, "topic": g["topic"], "partitions": list(m["parts"]),
                "positions": {str(p): g["committed"].get(p) for p in m["parts"]}})

    def poll(self, proc: str, max_records: int = 10) -> list[dict]:
        m = self.members[proc]
        logs = self.logs[m["topic"]]
        visible = (PLAIN, COMMITTED) if m["isolation"] == "read_committed" \
            else (PLAIN, COMMITTED, ABORTED)
        out: list[dict] = []
        parts = list(m["parts"])
        self.rng.shuffle(parts)
        for p in parts:
            log, pos = logs[p], m["pos"][p]
            while pos < len(log) and len(out) < max_records:
                val, st = log[pos]
                if st in visible:
                    out.append(record(p, pos, val))
                pos += 1
            m["pos"][p] = pos
        if out:
            self.h.ok(proc, "poll", {"topic": m["topic"], "group": m["group"],
                                     "records": out})
        return out

    def commit(self, proc: str, outcome: str = "ok") -> None:
        """outcome: ok | fail | info (applied) | info-lost (not applied)."""
        m = self.members[proc]
        g = self.groups[m["group"]]
        offs = {str(p): m["pos"][p] for p in m["parts"]}
        val = {"group": m["group"], "topic": m["topic"], "offsets": offs}
        self.h.invoke(proc, "commit", val)
        if outcome in ("ok", "info"):
            for p in m["parts"]:
                g["committed"][p] = m["pos"][p]
        self.h.append({"process": proc, "type": "info" if outcome.startswith("info")
                       else outcome, "f": "commit", "value": val})

    # -- final read, faults, flink -------------------------------------------
    def final_read(self, topic: str = "t", isolation: str = "read_committed") -> dict:
        visible = (PLAIN, COMMITTED) if isolation == "read_committed" \
            else (PLAIN, COMMITTED, ABORTED)
        recs = []
        for p, log in enumerate(self.logs[topic]):
            recs.extend(record(p, o, e[0]) for o, e in enumerate(log) if e[1] in visible)
        return self.h.ok("final-reader", "final-read", {
            "topic": topic, "isolation": isolation,
            "start_offsets": {str(p): 0 for p in range(len(self.logs[topic]))},
            "end_offsets": {str(p): len(log) for p, log in enumerate(self.logs[topic])},
            "records": recs})

    def fault_start(self, fault: str = "partition", target: Any = None) -> str:
        fid = f"f{self.nfault}"
        self.nfault += 1
        val = {"fault": fault, "fault_id": fid, "target": target, "detail": None,
               "proof": None}
        self.h.invoke("nemesis", "fault-start", val)
        self.h.ok("nemesis", "fault-start", dict(val, proof="applied"))
        return fid

    def fault_stop(self, fid: str, fault: str = "partition") -> None:
        val = {"fault": fault, "fault_id": fid, "target": None, "detail": None,
               "proof": None}
        self.h.invoke("nemesis", "fault-stop", val)
        self.h.ok("nemesis", "fault-stop", val)

    def flink_deploy(self, input_topic: str = "t", output_topic: str = "out",
                     partitions: int = 2) -> None:
        self.topic(output_topic, partitions)
        self.flink = {"in": input_topic, "out": output_topic, "pos": {}, "counts": {},
                      "pending": set(), "ckpt": 0}
        self.h.ok("flink", "deploy", {"input_topic": input_topic,
                                      "output_topic": output_topic})

    def flink_step(self, max_records: int = 50, checkpoint: bool = True) -> int:
        """Process committed input records; a checkpoint commits the output
        transaction (one marker per touched output partition)."""
        fl = self.flink
        assert fl is not None, "flink_deploy first"
        n = 0
        for p, log in enumerate(self.logs[fl["in"]]):
            pos = fl["pos"].get(p, 0)
            while pos < len(log) and n < max_records:
                val, st = log[pos]
                if st in (PLAIN, COMMITTED):
                    k = val["key"]
                    c = fl["counts"][k] = fl["counts"].get(k, 0) + 1
                    op_ = self.partition_for(fl["out"], k)
                    self.logs[fl["out"]][op_].append([
                        {"id": val["id"], "key": k, "count": c, "seq": val["seq"],
                         "in_partition": p, "in_offset": pos}, COMMITTED])
                    fl["pending"].add(op_)
                    n += 1
                pos += 1
            fl["pos"][p] = pos
        if checkpoint and fl["pending"]:
            for op_ in sorted(fl["pending"]):
                self.logs[fl["out"]][op_].append([None, MARKER])
            fl["pending"].clear()
            fl["ckpt"] += 1
            self.h.invoke("flink", "checkpoint", {"id": fl["ckpt"]})
            self.h.ok("flink", "checkpoint", {"id": fl["ckpt"]})
        return n


def generate(seed: int = 0, n_ops: int = 2000, *, producers: int = 3, keys: int = 6,
             partitions: int = 3, consumers: int = 2, txn: bool = True,
             faults: int = 2, flink: bool = False, poll_size: int = 10,
             unknown_rate: float = 0.05) -> Sim:
    """Drive a random valid Sim until it holds about ``n_ops`` ops, then
    finish every in-flight op and take the final reads."""
    sim = Sim(seed)
    rng = sim.rng
    sim.topic("t", partitions)
    prods = [f"producer-{i}" for i in range(producers)]
    keyset = [f"k{i}" for i in range(keys)]
    if flink:
        sim.flink_deploy("t", "out")
    members: list[str] = []
    nc = 0
    fault_at = sorted(rng.randrange(max(1, n_ops)) for _ in range(faults))
    open_faults: list[str] = []
    outcomes = ["ok"] * 20 + ["info", "info-written", "fail", "fail-written"]
    while len(sim.h) < n_ops:
        r = rng.random()
        if fault_at and len(sim.h) >= fault_at[0]:
            fault_at.pop(0)
            open_faults.append(sim.fault_start(rng.choice(["kill", "partition", "pause"])))
        elif open_faults and r < 0.01:
            sim.fault_stop(open_faults.pop(0))
        elif r < 0.60:
            pr = rng.choice(prods)
            oc = "ok" if rng.random() >= unknown_rate else rng.choice(outcomes[20:])
            sim.send(pr, rng.choice(keyset), outcome=oc, defer=True)
            if rng.random() < 0.3:
                sim.drain(pr, rng.randint(1, 3))
        elif r < 0.64 and txn:
            pr = "txn-" + rng.choice(prods)
            sim.txn(pr, rng.sample(keyset, rng.randint(1, min(3, len(keyset)))),
                    outcome=rng.choice(["ok", "ok", "abort", "info-committed",
                                        "info-aborted"]))
        elif r < 0.80 and members:
            sim.poll(rng.choice(members), rng.randint(1, poll_size))
        elif r < 0.86 and members:
            sim.commit(rng.choice(members),
                       rng.choice(["ok", "ok", "ok", "fail", "info", "info-lost"]))
        elif r < 0.88 and consumers:
            if len(members) < consumers:
                members.append(f"consumer-{nc}")
                nc += 1
                sim.join(members[-1], "g1")
            elif len(members) > 1:
                sim.leave(members.pop(rng.randrange(len(members))))
        elif r < 0.90 and flink:
            sim.flink_step(rng.randint(1, 20))
        else:
            sim.drain()
    sim.drain()
    for fid in open_faults:
        sim.fault_stop(fid)
    for m in members:
        while sim.poll(m, 100):
            pass
    if flink:
        while sim.flink_step(1000):
            pass
        sim.final_read("out")
    sim.final_read("t")
    return sim


class Builder:
    """Hand-written histories with a fake clock (1 ms per op by default).

    Records are given as ``(partition, offset, id)`` tuples (value
    ``{"id", "key", "seq", "producer"}``) or ``(partition, offset, value)``
    with a dict/str/None value."""

    def __init__(self, step_ms: float = 1.0):
        self.now = 1_000_000_000_000
        self.step = int(step_ms * 1e6)
        self.h = History(clock=self._clock)

    def _clock(self) -> tuple[int, float]:
        self.now += self.step
        return self.now, 1.7e9 + (self.now - 1_000_000_000_000) / 1e9

    @property
    def ops(self) -> list[dict]:
        return self.h.ops

    def sleep(self, ms: float) -> "Builder":
        self.now += int(ms * 1e6)
        return self

    def op(self, process: str, type_: str, f: str, value: Any) -> dict:
        return self.h.append({"process": process, "type": type_, "f": f, "value": value})

    @staticmethod
    def rec(r: tuple) -> dict:
        p, o, x = r[0], r[1], r[2]
        val = x if not isinstance(x, str) or len(r) > 3 else \
            {"id": x, "key": "k", "seq": 0, "producer": "producer-0"}
        return record(p, o, val)

    def send(self, rid: str, key: str = "k", seq: int = 0, p: int | None = 0,
             o: int | None = None, type_: str | None = "ok", topic: str = "t",
             process: str = "producer-0") -> "Builder":
        val = {"topic": topic, "key": key, "id": rid, "seq": seq}
        self.op(process, "invoke", "send", val)
        if type_ == "ok":
            self.op(process, "ok", "send", dict(val, partition=p, offset=o))
        elif type_ is not None:
            self.op(process, type_, "send", dict(val, error="boom"))
        return self

    def poll(self, recs: list[tuple], process: str = "consumer-0", topic: str = "t",
             group: str | None = "g") -> "Builder":
        self.op(process, "ok", "poll", {"topic": topic, "group": group,
                                        "records": [self.rec(r) for r in recs]})
        return self

    def assign(self, parts: list[int], process: str = "consumer-0", topic: str = "t",
               group: str | None = "g", positions: dict | None = None) -> "Builder":
        val: dict = {"group": group, "topic": topic, "partitions": parts}
        if positions is not None:
            val["positions"] = {str(k): v for k, v in positions.items()}
        self.op(process, "ok", "assign", val)
        return self

    def revoke(self, parts: list[int], process: str = "consumer-0", topic: str = "t",
               group: str | None = "g") -> "Builder":
        self.op(process, "ok", "revoke", {"group": group, "topic": topic, "partitions": parts})
        return self

    def commit(self, offsets: dict, type_: str = "ok", process: str = "consumer-0",
               topic: str = "t", group: str = "g") -> "Builder":
        val = {"group": group, "topic": topic,
               "offsets": {str(k): v for k, v in offsets.items()}}
        self.op(process, "invoke", "commit", val)
        if type_ is not None:
            self.op(process, type_, "commit", val)
        return self

    def txn(self, name: str, sends: list[tuple], type_: str | None = "ok",
            topic: str = "t", process: str = "txn-producer-0") -> "Builder":
        """sends: (id, key, seq, partition, offset)."""
        inv = [{"topic": topic, "key": k, "id": i, "seq": s} for i, k, s, _, _ in sends]
        self.op(process, "invoke", "txn", {"txn": name, "sends": inv})
        if type_ == "ok":
            done = [dict(v, partition=p, offset=o) for v, (_, _, _, p, o) in zip(inv, sends)]
            self.op(process, "ok", "txn", {"txn": name, "sends": done})
        elif type_ is not None:
            self.op(process, type_, "txn", {"txn": name, "sends": inv, "error": "x"})
        return self

    def final(self, recs: list[tuple], topic: str = "t",
              isolation: str = "read_committed", end: dict | None = None,
              start: dict | None = None, past_end: list[tuple] | None = None,
              listed_at: int | None = None) -> "Builder":
        """A final read; ``past_end`` records were served beyond the listed ``end`` (read
        after the listing, answered at ``listed_at``, default: now)."""
        rr = [self.rec(r) for r in recs]
        if end is None:
            end = {}
            for r in rr:
                end[r["partition"]] = max(end.get(r["partition"], 0), r["offset"] + 1)
        start = start if start is not None else {p: 0 for p in end}
        self.op("final-reader", "ok", "final-read", {
            "topic": topic, "isolation": isolation,
            "start_offsets": {str(k): v for k, v in start.items()},
            "end_offsets": {str(k): v for k, v in end.items()}, "records": rr,
            **({} if past_end is None else self._past_end(past_end, listed_at))})
        return self

    def _past_end(self, recs: list[tuple], listed_at: int | None) -> dict:
        past = [self.rec(r) for r in recs]
        fetch_end: dict[str, int] = {}
        for r in past:
            fetch_end[str(r["partition"])] = max(fetch_end.get(str(r["partition"]), 0), r["offset"] + 1)
        return {"past_end": past, "fetch_end_offsets": fetch_end,
                "listed_at": self.now if listed_at is None else listed_at}

    def fault(self, fid: str, fault: str = "kill", stop: bool = False,
              type_: str = "ok") -> "Builder":
        f = "fault-stop" if stop else "fault-start"
        val = {"fault": fault, "fault_id": fid, "target": "broker-1", "detail": None,
               "proof": None}
        self.op("nemesis", "invoke", f, val)
        if type_ is not None:
            self.op("nemesis", type_, f, val)
        return self

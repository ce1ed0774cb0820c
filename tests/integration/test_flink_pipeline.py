"""The Flink pipeline under test, on the real container platform.

The reference job (``flink-job/``, ``harness.job.ExactlyOnceJob``) reads JSON input records
``{"id", "key", "seq", "producer"}`` (record key = ``key``) from an input topic and writes one
output record per input (``{"id", "key", "count", ...}``, a running per-key count) to an output
topic, checkpointing to MinIO (``s3://flink/``). Every test records its lifecycle (JobLifecycle),
the input sends, the TaskManager faults and the final reads into one history
(``<run_dir>/flink/<test>/history.jsonl``) and judges the output with the exactly-once checker
(:mod:`kfchaos.checkers.exactly_once`), read with ``isolation.level=read_committed``.

1. the good job: N inputs -> exactly N outputs; checkpoints complete and land in the bucket;
2. stop-with-savepoint + upgrade to a compatible variant keeps the output exact;
3. the crash variant fails on the poison record; rollback() brings back an exact good job;
4. at-least-once under a TaskManager kill duplicates output and the checker says so;
5. the good job under a TaskManager kill stays exact; its recovery is measured.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from kfchaos.checkers import INVALID, VALID, exactly_once
from kfchaos.flink import (TERMINAL_STATES, FlinkRest, FlinkRestError, JobLifecycle,
                           build_job_jar)
from kfchaos.history import History, load
from kfchaos.platform.kafka_config import client_config
from kfchaos.platform.producer_state import record_open_transactions

pytestmark = [pytest.mark.platform, pytest.mark.flink]

KEYS = tuple(f"k{i}" for i in range(8))
CHECKPOINT_MS = 1000            # good jobs: output becomes visible at each checkpoint
OUTPUT_TIMEOUT = 90.0           # waiting for expected output records
STALL_S = 15.0                  # the output watcher silent this long: cross-check with a fresh read


# --------------------------------------------------------------------------- kafka clients
class InputProducer:
    """Idempotent acks=all producer of the job's input, recording every send in the history
    (``send`` invoke ``{"id","topic","key","seq"}``, ok adds ``partition``/``offset``)."""

    def __init__(self, bootstrap: str, topic: str, history: History, name: str, tag: str):
        self.topic, self.history, self.name, self.tag = topic, history, name, tag
        self.p = Producer(client_config(bootstrap, acks="all", **{
            "enable.idempotence": True, "linger.ms": 5, "delivery.timeout.ms": 60000}))
        self.seq = 0
        self.acked: list[str] = []
        self.sent_at: dict[str, float] = {}       # id -> wall time of produce()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _done(self, rid: str, key: str, seq: int, err, msg) -> None:
        base = {"id": rid, "topic": self.topic, "key": key, "seq": seq}
        if err is not None:
            self.errors.append(str(err))
            self.history.info(self.name, "send", {**base, "error": str(err)})
        else:
            self.history.ok(self.name, "send", {**base, "partition": msg.partition(),
                                                "offset": msg.offset()})
            self.acked.append(rid)

    def send(self, key: str | None = None) -> str:
        seq = self.seq
        self.seq += 1
        key = key or KEYS[seq % len(KEYS)]
        rid = f"{self.tag}-{seq}"
        self.history.invoke(self.name, "send", {"id": rid, "topic": self.topic, "key": key,
                                                "seq": seq})
        value = json.dumps({"id": rid, "key": key, "seq": seq, "producer": self.name})
        self.sent_at[rid] = time.time()
        self.p.produce(self.topic, key=key.encode(), value=value.encode(),
                       on_delivery=lambda err, msg: self._done(rid, key, seq, err, msg))
        self.p.poll(0)
        return rid

    def send_batch(self, n: int, key: str | None = None) -> list[str]:
        ids = [self.send(key) for _ in range(n)]
        self.flush()
        return ids

    def flush(self) -> None:
        left = self.p.flush(60)
        assert left == 0 and not self.errors, (
            f"input producer: {left} undelivered, errors {self.errors[:3]}")

    def start(self, rate: float) -> None:
        """Produce ``rate`` records/s in a background thread until :meth:`stop`."""
        def loop() -> None:
            nxt = time.monotonic()
            while not self._stop.is_set():
                self.send()
                nxt += 1.0 / rate
                time.sleep(max(0.0, nxt - time.monotonic()))
            self.p.flush(60)
        self._stop.clear()
        self._thread = threading.Thread(target=loop, name=f"{self.name}-bg", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:
            self._stop.set()
            self._thread.join(90)
            self._thread = None
        self.flush()


class OutputWatcher:
    """Background consumer of the output topic (read_committed, from the beginning): first
    time each output id was seen (wall clock) and how many copies."""

    def __init__(self, bootstrap: str, topic: str):
        self.bootstrap, self.topic = bootstrap, topic
        # earliest: a position reset (e.g. after a leader change) goes back, never past what it has not read
        self.c = Consumer(client_config(bootstrap, **{
            "group.id": f"watch-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest"}))
        parts = self.c.list_topics(topic, timeout=10).topics[topic].partitions
        self.c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        self.first_seen: dict[str, float] = {}
        self.copies: Counter = Counter()
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch-{topic}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for m in self.c.consume(500, timeout=0.3):
                    if m.error():
                        self.errors.append(f"{m.topic()}[{m.partition()}]: {m.error()}")
                        continue
                    rid = json.loads(m.value())["id"]
                    with self._lock:
                        self.copies[rid] += 1
                        self.first_seen.setdefault(rid, time.time())
            except Exception as exc:        # kept for the failure message, never a silent stop
                self.errors.append(repr(exc))
                time.sleep(0.3)

    def wait_for(self, ids, timeout: float = OUTPUT_TIMEOUT) -> None:
        """Until every id has a committed output. When the live consumer has seen nothing new
        for STALL_S, a fresh read_committed read of the topic is taken as well: a long-lived
        librdkafka consumer was seen to stay silent on committed output that any new reader
        got (the stall is kept in ``errors``; the verdict always comes from the final read)."""
        want = set(ids)
        deadline = time.monotonic() + timeout
        last_seen, since = -1, time.monotonic()
        while True:
            with self._lock:
                missing = want - self.first_seen.keys()
                seen = len(self.first_seen)
            if not missing:
                return
            if seen != last_seen:
                last_seen, since = seen, time.monotonic()
            elif time.monotonic() - since >= STALL_S:
                self._fresh_read(missing)
                since = time.monotonic()
            if time.monotonic() >= deadline:
                raise AssertionError(f"{len(missing)} of {len(want)} inputs have no committed "
                                     f"output after {timeout:.0f}s, e.g. {sorted(missing)[:5]}")
            time.sleep(0.2)

    def _fresh_read(self, missing: set) -> None:
        found = {json.loads(v)["id"] for v in read_values(self.bootstrap, self.topic)} & missing
        if found:
            self.errors.append(f"live watcher stalled: a fresh read found {len(found)} committed outputs it had not seen")
            now = time.time()
            with self._lock:
                for rid in found:
                    self.copies[rid] += 1
                    self.first_seen.setdefault(rid, now)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.c.close()


def final_read(bootstrap: str, topic: str, history: History, isolation: str = "read_committed",
               timeout: float = 60.0) -> list[dict]:
    """Read ``topic`` from the beginning to its end (recorded as a ``final-read`` op)."""
    c = Consumer(client_config(bootstrap, **{
        "group.id": f"final-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": isolation, "enable.partition.eof": True}))
    history.invoke("final-reader", "final-read", {"topic": topic, "isolation": isolation})
    try:
        parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
        hi = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
              for p in parts}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        records: list[dict] = []
        at_end: dict[int, int] = {}
        deadline = time.monotonic() + timeout
        while not all(at_end.get(p, -1) >= hi[p] for p in parts):
            assert time.monotonic() < deadline, (
                f"final read of {topic} ({isolation}) stuck: at {at_end}, end {hi}")
            for m in c.consume(1000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        at_end[m.partition()] = m.offset()
                    continue
                records.append({"partition": m.partition(), "offset": m.offset(),
                                "key": m.key().decode() if m.key() else None,
                                "value": json.loads(m.value())})
    except BaseException as e:
        history.info("final-reader", "final-read", {"topic": topic, "isolation": isolation,
                                                    "error": str(e)})
        raise
    finally:
        c.close()
    history.ok("final-reader", "final-read", {
        "topic": topic, "isolation": isolation, "records": records,
        "start_offsets": {p: 0 for p in parts}, "end_offsets": hi})
    return records


def read_values(bootstrap: str, topic: str, isolation: str = "read_committed", timeout: float = 20.0) -> list[bytes]:
    """The values ``topic`` holds now, read with ``isolation`` by a new consumer from the start."""
    c = Consumer(client_config(bootstrap, **{
        "group.id": f"read-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": isolation, "enable.partition.eof": True}))
    try:
        parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        values, at_end, deadline = [], set(), time.monotonic() + timeout
        while len(at_end) < len(parts) and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.5):
                if m.error() is None:
                    values.append(m.value())
                elif m.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(m.partition())
        return values
    finally:
        c.close()


def output_diagnosis(pl) -> str:
    """Why output may be missing: the watcher's health, committed vs written records, the open
    transactions on each output partition (Kafka's transactions tool), the job's state."""
    bs, lines = pl.platform.bootstrap_servers, []
    lines.append(f"watcher alive={pl.watcher._thread.is_alive()} seen={len(pl.watcher.first_seen)} "
                 f"errors ({len(pl.watcher.errors)}): {pl.watcher.errors[:5]}")
    for iso in ("read_uncommitted", "read_committed"):
        try:
            lines.append(f"{pl.output_topic} {iso}: {len(read_values(bs, pl.output_topic, iso))} records")
        except Exception as exc:
            lines.append(f"{pl.output_topic} {iso}: {exc!r}")
    from kfchaos.platform.reassign import bootstrap as tool_bootstrap   # the REPLICATION listener
    zone = pl.platform.zones[0]
    for part in range(3):
        try:
            rc, out = pl.platform.run_tool("transactions", [
                "--bootstrap-server", tool_bootstrap(pl.platform, zone),
                "describe-producers", "--topic", pl.output_topic, "--partition", str(part)], zone=zone)
            lines.append(f"producers on {pl.output_topic}-{part} (rc {rc}):\n{out.strip()[-1500:]}")
        except Exception as exc:
            lines.append(f"producers on {pl.output_topic}-{part}: {exc!r}")
    try:
        job = pl.lifecycle.job_id
        lines.append(f"job {job}: {pl.rest.job_state(job)}, checkpoints {pl.rest.checkpoints(job)}")
    except Exception as exc:
        lines.append(f"job: {exc!r}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the pipeline
@dataclass
class Pipeline:
    platform: object
    rest: FlinkRest
    lifecycle: JobLifecycle
    history: History
    dir: Path
    input_topic: str
    output_topic: str
    producer: InputProducer
    watcher: OutputWatcher
    timings: dict[str, float] = field(default_factory=dict)

    def produce(self, n: int, key: str | None = None) -> list[str]:
        return self.producer.send_batch(n, key)

    def wait_output(self, timeout: float = OUTPUT_TIMEOUT) -> None:
        """Every acked input has a committed output record (if not: what the output topic,
        its open transactions and the job looked like, in the failure)."""
        try:
            self.watcher.wait_for(self.producer.acked, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{output_diagnosis(self)}") from None

    def check(self):
        """Final reads of input and output, then the exactly-once checker over the history
        file. Returns (verdict, output records)."""
        bs = self.platform.bootstrap_servers
        final_read(bs, self.input_topic, self.history)
        out = final_read(bs, self.output_topic, self.history)
        self.history.flush()
        verdict = exactly_once.check(load(self.history.path), input_topic=self.input_topic,
                                     output_topic=self.output_topic)
        (self.dir / "exactly-once.json").write_text(json.dumps(verdict.to_dict(), indent=1,
                                                               default=str))
        return verdict, out

    def assert_exact(self) -> list[dict]:
        verdict, out = self.check()
        ids = Counter(r["value"]["id"] for r in out)
        acked = set(self.producer.acked)
        # our own cross-check of the checker: one output per acked input, no other output
        assert verdict.valid == VALID, f"exactly-once: {verdict.reason} {verdict.stats}"
        assert set(ids) == acked and max(ids.values(), default=1) == 1, (
            f"{len(out)} outputs for {len(acked)} inputs, {len(set(ids) - acked)} unexpected, "
            f"{sum(1 for c in ids.values() if c > 1)} duplicated")
        assert verdict.stats["output-records"] == len(acked) == verdict.stats["required"]
        return out


@pytest.fixture(scope="module")
def job_jar() -> Path:
    return build_job_jar()


@pytest.fixture
def pipeline(platform, new_topic, job_jar, run_dir, request):
    t0 = time.monotonic()
    name = request.node.name
    tag = uuid.uuid4().hex[:6]
    d = Path(run_dir) / "flink" / name
    d.mkdir(parents=True, exist_ok=True)
    history = History(d / "history.jsonl")
    in_topic, out_topic = new_topic("in"), new_topic("out")
    rest = FlinkRest(platform.flink_rest_url)
    lc = JobLifecycle(rest, job_jar, history=history, job_args={
        "bootstrap": platform.internal_bootstrap_servers, "input-topic": in_topic,
        "output-topic": out_topic, "group": f"g-{tag}", "txn-prefix": f"tx-{tag}",
        "checkpoint-interval-ms": CHECKPOINT_MS, "job-name": f"{name[:40]}-{tag}"})
    producer = InputProducer(platform.bootstrap_servers, in_topic, history, "producer-0", tag)
    watcher = OutputWatcher(platform.bootstrap_servers, out_topic)
    pl = Pipeline(platform, rest, lc, history, d, in_topic, out_topic, producer, watcher)
    try:
        yield pl
    finally:
        try:
            producer.stop()
        except Exception:
            pass
        watcher.close()
        try:
            if lc.job_id and rest.job_state(lc.job_id) not in TERMINAL_STATES:
                lc.cancel()
        finally:
            history.close()
            if lc.jar_id:
                try:
                    rest.delete_jar(lc.jar_id)
                except Exception:
                    pass
            print(f"\n[{name}] {time.monotonic() - t0:.1f}s; "
                  + ", ".join(f"{k} {v:.1f}s" for k, v in pl.timings.items())
                  + f"; history {history.path}"
                  + (f"; watcher: {watcher.errors[:3]}" if watcher.errors else ""))


@contextmanager
def taskmanager_killed(platform, history: History):
    """SIGKILL the TaskManager, then start it again on exit; through the Nemesis (recorded
    as fault-start/fault-stop) when the fault registry is there, else directly, recorded the
    same way."""
    try:
        from kfchaos.faults import registry  # noqa: F401
    except ImportError:
        registry = None
    if registry is not None:
        from kfchaos.faults.base import FaultSpec
        from kfchaos.faults.nemesis import Nemesis
        nem = Nemesis(platform, history)
        try:
            with nem.fault(FaultSpec("flink-kill", "taskmanager")):
                yield
        finally:
            nem.close()
        return
    tm = platform.flink_taskmanagers[0]
    base = {"fault": "flink-kill", "fault_id": "flink-kill-1",
            "spec": {"fault": "flink-kill", "target": "taskmanager"}}
    history.invoke("nemesis", "fault-start", base)
    tm.kill()
    history.ok("nemesis", "fault-start", {**base, "target": tm.name, "detail": f"SIGKILL {tm.name}",
                                          "proof": {"container_status": tm.state()}})
    try:
        yield
    finally:
        history.invoke("nemesis", "fault-stop", {"fault": "flink-kill", "fault_id": "flink-kill-1"})
        tm.start()
        history.ok("nemesis", "fault-stop", {"fault": "flink-kill", "fault_id": "flink-kill-1",
                                             "detail": f"started {tm.name}",
                                             "proof": {"container_status": tm.state()}})


def wait_tasks_restarted(rest: FlinkRest, job_id: str, since_ms: int, timeout: float = 150.0):
    """Wait until every subtask of the job runs in an attempt that started RUNNING after
    ``since_ms`` (epoch ms); returns (wall time seen, newest subtask RUNNING time in ms)."""
    deadline = time.monotonic() + timeout
    while True:
        job = rest.job(job_id)
        assert job.state not in TERMINAL_STATES, f"job {job_id} went {job.state}"
        if job.all_tasks_running:
            running = [ts.get("RUNNING") or 0 for v in job.vertices
                       for ts in rest.subtask_times(job_id, v.id).values()]
            if running and min(running) > since_ms:
                return time.time(), max(running)
        assert time.monotonic() < deadline, (
            f"job {job_id} not fully running again {timeout:.0f}s after the kill ({job.state})")
        time.sleep(0.25)


def save_rest_replies(rest: FlinkRest, job_id: str, d: Path) -> None:
    """The job's REST replies after recovery, as artefacts of the run."""
    replies = {"job": rest.get(f"/jobs/{job_id}"),
               "checkpoints": rest.get(f"/jobs/{job_id}/checkpoints"),
               "exceptions": rest.get(f"/jobs/{job_id}/exceptions", maxExceptions=10)}
    for v in rest.job(job_id).vertices:
        replies[f"subtasktimes-{v.id}"] = rest.get(f"/jobs/{job_id}/vertices/{v.id}/subtasktimes")
    (d / "rest").mkdir(exist_ok=True)
    for k, body in replies.items():
        (d / "rest" / f"{k}.json").write_text(json.dumps(body, indent=1))


# --------------------------------------------------------------------------- tests
def test_good_job_exactly_once_with_s3_checkpoints(pipeline, platform):
    pl, lc = pipeline, pipeline.lifecycle
    t0 = time.monotonic()
    dep = lc.deploy("good")
    pl.timings["deploy"] = time.monotonic() - t0
    pl.produce(300)
    t1 = time.monotonic()
    pl.wait_output()
    pl.timings["output"] = time.monotonic() - t1

    stats = pl.rest.wait_for_checkpoints(dep.job_id, 1, timeout=60)
    assert stats.completed > 0, stats
    # triggers fail while the tasks are still initializing; none may fail after one completed
    assert stats.latest_failed is None or stats.latest_failed.id < stats.latest_completed.id, (
        stats.latest_failed)
    path = stats.latest_completed.external_path
    assert path and path.startswith(f"s3://flink/checkpoints/{dep.job_id}/chk-"), path
    keys = [o["Key"] for o in platform.s3_client().list_objects_v2(
        Bucket="flink", Prefix=f"checkpoints/{dep.job_id}/").get("Contents", [])]
    assert any(k.endswith("/_metadata") for k in keys), f"no checkpoint metadata in bucket: {keys}"

    out = pl.assert_exact()
    assert len(out) == 300
    per_key = Counter(r["value"]["key"] for r in out)
    assert all(max(r["value"]["count"] for r in out if r["value"]["key"] == k) == n
               for k, n in per_key.items())

    # the producers and open transactions of every output partition, as Kafka's tool reports them
    c = Consumer(client_config(platform.bootstrap_servers, **{"group.id": f"parts-{uuid.uuid4().hex[:6]}"}))
    try:
        parts = sorted(c.list_topics(pl.output_topic, timeout=10).topics[pl.output_topic].partitions)
    finally:
        c.close()
    op = record_open_transactions(pl.history, platform, pl.output_topic, parts)
    assert op["type"] == "ok", op["value"]
    assert [s["partition"] for s in op["value"]["partitions"]] == parts
    for state in op["value"]["partitions"]:
        assert isinstance(state["producers"], list), state
        for prod in state["producers"]:
            assert isinstance(prod["producer_id"], int) and prod["producer_id"] >= 0, prod
            assert prod["txn_start_offset"] is None or isinstance(prod["txn_start_offset"], int), prod
    assert any(state["producers"] for state in op["value"]["partitions"]), op["value"]   # the sink wrote
    pl.history.flush()
    assert exactly_once.check(load(pl.history.path), input_topic=pl.input_topic,
                              output_topic=pl.output_topic).valid == VALID


def test_upgrade_with_savepoint_keeps_output_exact(pipeline):
    pl, lc = pipeline, pipeline.lifecycle
    first = lc.deploy("good")
    pl.produce(150)
    pl.wait_output()
    t0 = time.monotonic()
    # a compatible new version: same operator uids and state layout, different behaviour
    dep = lc.upgrade("slow", args={"slow-ms": 2})
    pl.timings["upgrade"] = time.monotonic() - t0
    assert dep.savepoint and dep.savepoint.startswith("s3://flink/savepoints/"), dep.savepoint
    assert pl.rest.job_state(first.job_id) == "FINISHED"
    assert lc.savepoints[-1].good and lc.savepoints[-1].kind == "stop"
    restored = pl.rest.checkpoints(dep.job_id).latest_restored
    assert restored is not None and restored.is_savepoint and restored.external_path == dep.savepoint

    pl.produce(150)
    pl.wait_output()
    out = pl.assert_exact()
    # the per-key counts went on from the savepoint's state (no reset to 1 after the upgrade)
    assert len(out) == 300 and max(r["value"]["count"] for r in out) > 300 // len(KEYS)
    ops = load(pl.history.path)
    assert [o["type"] for o in ops if o["f"] == "upgrade"] == ["invoke", "ok"]


def test_crash_variant_fails_and_rollback_restores_exact_output(pipeline):
    pl, lc = pipeline, pipeline.lifecycle
    lc.deploy("good")
    pl.produce(100)
    pl.wait_output()
    good_sp_count = len(lc.savepoints)
    crash = lc.upgrade("crash", args={"restart-attempts": 1, "restart-delay-ms": 500})
    good = lc.last_good
    assert len(lc.savepoints) == good_sp_count + 1 and good is not None and good.variant == "good"

    t0 = time.monotonic()
    poison = pl.producer.send(key="poison")
    pl.producer.flush()
    assert pl.rest.wait_for_state(crash.job_id, ("FAILED",), timeout=60).state == "FAILED"
    pl.timings["crash-to-failed"] = time.monotonic() - t0
    excs = pl.rest.exceptions(crash.job_id)
    assert excs and "PoisonRecordException" in excs[0].root_cause, excs[:1]

    t1 = time.monotonic()
    back = lc.rollback()
    pl.timings["rollback"] = time.monotonic() - t1
    assert back.variant == "good" and back.savepoint == good.path
    pl.produce(100)
    pl.wait_output()
    out = pl.assert_exact()
    assert poison in {r["value"]["id"] for r in out} and len(out) == 201
    fs = [(o["f"], o["type"]) for o in load(pl.history.path) if o["process"] == "flink"]
    assert ("rollback", "ok") in fs and fs.index(("upgrade", "ok")) < fs.index(("rollback", "ok"))


def test_at_least_once_under_taskmanager_kill_duplicates_are_detected(pipeline, platform):
    pl, lc = pipeline, pipeline.lifecycle
    # checkpoints only when asked for, so exactly one batch lies between checkpoint and kill
    dep = lc.deploy("at-least-once", args={"checkpoint-interval-ms": 3_600_000})
    pl.produce(100)
    pl.wait_output()
    cid = lc.checkpoint()
    batch_b = pl.produce(100)
    pl.wait_output()                    # written (no transactions), not yet checkpointed

    kill_ms = int(time.time() * 1000)
    t0 = time.monotonic()
    with taskmanager_killed(platform, pl.history):
        pass
    wait_tasks_restarted(pl.rest, dep.job_id, kill_ms)
    pl.timings["kill-to-running"] = time.monotonic() - t0
    restored = pl.rest.checkpoints(dep.job_id).latest_restored
    assert restored is not None and restored.id == cid and not restored.is_savepoint

    pl.produce(50)
    pl.wait_output()
    verdict, out = pl.check()
    counts = verdict.counts()
    assert verdict.valid == INVALID, verdict.to_dict()
    assert counts.get("duplicate-output", 0) > 0 and counts.get("missing-output", 0) == 0, counts
    dup_ids = {rid for rid, n in Counter(r["value"]["id"] for r in out).items() if n > 1}
    # exactly the records processed after the restored checkpoint were written twice
    assert dup_ids == set(batch_b), (len(dup_ids), len(set(batch_b) & dup_ids))


def test_good_job_under_taskmanager_kill_stays_exact_and_recovery_is_measured(pipeline, platform):
    pl, lc, rest = pipeline, pipeline.lifecycle, pipeline.rest
    dep = lc.deploy("good")
    pl.producer.start(rate=50)
    rest.wait_for_checkpoints(dep.job_id, 2, timeout=60, new=True)
    pl.watcher.wait_for(pl.producer.acked[:20])
    offsets_before: dict = {}
    deadline = time.monotonic() + 30    # the JobManager's metric fetcher lags (10 s)
    while time.monotonic() < deadline:
        try:
            offsets_before = rest.source_offsets(dep.job_id)
        except FlinkRestError:
            offsets_before = {}
        if offsets_before and all(o.get("committed", -1) >= 0 for o in offsets_before.values()):
            break
        time.sleep(1)

    kill_wall = time.time()
    with taskmanager_killed(platform, pl.history):
        pass
    running_wall, _ = wait_tasks_restarted(rest, dep.job_id, int(kill_wall * 1000))
    time.sleep(3)                       # input keeps coming after the recovery
    pl.producer.stop()
    pl.wait_output()

    m = lc.recovery_metrics(failure_time_ms=int(kill_wall * 1000), offsets_before=offsets_before)
    after_kill = [rid for rid, t in pl.producer.sent_at.items() if t > kill_wall]
    first_new = min(pl.watcher.first_seen[rid] for rid in after_kill) - kill_wall
    save_rest_replies(rest, dep.job_id, pl.dir)
    out_uncommitted = final_read(platform.bootstrap_servers, pl.output_topic, pl.history,
                                 isolation="read_uncommitted")
    replayed_from_data = sum(1 for n in Counter(r["value"]["id"] for r in out_uncommitted
                                                ).values() if n > 1)
    report = {"recovery_metrics": m.to_dict(), "kill_wall": kill_wall,
              "seconds_to_all_tasks_running_seen": round(running_wall - kill_wall, 2),
              "seconds_to_first_new_output": round(first_new, 2),
              "replayed_from_data": replayed_from_data, "inputs": len(pl.producer.acked)}
    pl.history.invoke("measure", "recovery", {"job_id": dep.job_id})
    pl.history.ok("measure", "recovery", report)
    (pl.dir / "recovery.json").write_text(json.dumps(report, indent=1))
    pl.timings.update(kill_to_running=m.time_to_running_ms / 1000 if m.time_to_running_ms else -1,
                      first_new_output=first_new)

    # the job recovered from a checkpoint, and that is visible over REST
    assert m.state == "RUNNING" and m.all_tasks_running, m
    assert m.restored_checkpoint_id is not None and m.restored_from_savepoint is False, m
    assert m.failures_recorded >= 1 and m.failure, m
    # time to RUNNING: present, after the kill, not later than when we saw it ourselves
    assert m.time_to_running_ms is not None and m.time_to_running_ms > 0, m.notes
    assert m.time_to_running_ms / 1000 <= running_wall - kill_wall + 1.0
    # first new output: after the job runs again (plus at most a checkpoint), within the wait
    assert m.time_to_running_ms / 1000 - 1.0 <= first_new <= OUTPUT_TIMEOUT + 60
    # replay: the restored checkpoint was triggered before the kill, within a few intervals
    assert m.replay_window_ms is not None and 0 <= m.replay_window_ms < 30_000, m
    n_in = len(pl.producer.acked)
    assert m.replayed_estimate is not None and 0 <= m.replayed_estimate <= n_in, offsets_before
    assert 0 <= replayed_from_data <= n_in
    assert m.source_records_since_restart is None or m.source_records_since_restart >= 0

    pl.assert_exact()                   # and the committed output is still exact

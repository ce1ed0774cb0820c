"""Moving the Flink reference job from the source platform to the target, through a
savepoint, as a *drained cut-over*; recorded as a ``job-move`` op for
:mod:`kfchaos.checkers.job_move`.

1. on the source, after the load: wait until the job's committed output holds every input
   (the producers are quiet), then stop it with a savepoint (the lifecycle's ``stop`` op);
2. copy the savepoint's objects from the source's object store to the target's, same
   bucket and keys (Flink savepoints are relocatable): a ``savepoint-copy`` op with bytes;
3. where the job starts on the target: per partition, the record just before what the job
   had read on the source (its group's committed offsets, which the stop's savepoint
   commits; the topic's end offsets when none) is looked up by its harness id in the
   mirrored topic, and the job starts after the *last* copy of it there. This is exact
   whatever MirrorMaker's offset syncs say (its translated offsets for the job's group,
   sparse by design, are recorded beside for comparison) and skips the copies MirrorMaker
   re-sent before that point;
4. on the target: the job restored from the savepoint (the lifecycle's ``restore`` op) with
   its source on ``source.<topic>``, a new source uid (the old source's state is for
   another topic: ``allowNonRestoredState``), those start offsets, a new transactional id
   prefix and its own output topic on the target. Its keyed state (per-key counts) moves;
5. the caller sends more input to the source; MirrorMaker brings it to the target job.
   :meth:`JobMove.finish` waits for the output of both sides to hold every input, reads
   both outputs (``read_committed``) and appends the ``job-move`` op.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaError, TopicPartition

from kfchaos import observe
from kfchaos.clients import final_read
from kfchaos.clients.codec import decode_value
from kfchaos.flink.jobjar import build_job_jar
from kfchaos.flink.lifecycle import JobLifecycle
from kfchaos.flink.rest import FlinkRest
from kfchaos.platform import topics
from kfchaos.platform.kafka_config import client_config
from kfchaos.workload import committed_offsets, high_watermarks

from .mirror import mirrored

log = logging.getLogger("chaos.migrate")
MOVE_F, COPY_F = "job-move", "savepoint-copy"
SOURCE_UID_ON_TARGET = "kafka-source-moved"
LOOKUP_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 150.0
COMMIT_WAIT_S = 10.0


#: where the moved job starts on the target: after the last mirrored copy of what it read on the
#: source (the sound move), or at the mirrored topic's start (the detection matrix's weakened move:
#: a job redeployed from scratch on the new platform, so every input before the move is read twice)
START_MODES = ("positions", "earliest")


class JobMove:
    """The reference job of ``pipeline`` (a :class:`FlinkPipeline` on the source) moved to ``target``."""

    def __init__(self, run, pipeline, target, target_profile, start: str = START_MODES[0]):
        if start not in START_MODES:
            raise ValueError(f"job start {start!r}: use one of {', '.join(START_MODES)}")
        self.start = start
        self.run, self.pipeline, self.source, self.target = run, pipeline, run.platform, target
        self.input_topic, self.output_topic = pipeline.input_topic, pipeline.output_topic
        self.target_input = mirrored(self.input_topic)
        self.target_output = f"{self.output_topic}.moved"
        topics.create_topic(target, self.target_output, target_profile.partitions,
                            target_profile.replication_factor, target_profile.topic_config)
        self.value: dict = {"input_topic": self.input_topic, "target_input_topic": self.target_input,
                            "output_topics": [self.output_topic, self.target_output]}
        self.type = "info"
        self._first = threading.Event()
        self._stop = threading.Event()

    @property
    def job_group(self) -> str:
        return self.pipeline.lifecycle.job_args["group"]

    def move(self) -> None:
        """Steps 1-4; raises on a failure (recorded first). The ``job-move`` op comes with finish()."""
        self.pipeline.drain(timeout=DRAIN_TIMEOUT_S)
        self.value["stopped_at"] = time.monotonic_ns()
        stages = self.value["stages_s"] = {}
        t = time.monotonic()
        sp = self.pipeline.lifecycle.stop()
        t = _stage(stages, "stop", t)
        self.value["savepoint"] = sp.path
        self.value["savepoint_bytes"] = self._copy_savepoint(sp.path)
        t = _stage(stages, "copy", t)
        src_pos, dst_pos = self._positions()
        t = _stage(stages, "positions", t)
        method = ("earliest: the mirrored topic from its start" if self.start == "earliest"
                  else "last mirrored copy of the last record read, by id")
        self.value.update(source_positions=_json(src_pos), target_positions=_json(dst_pos),
                          mm2_translated=_json(_translated(self.target, self.target_input, self.job_group)),
                          method=method)
        self._watcher = threading.Thread(target=self._watch_first_output, name="job-move-first", daemon=True)
        self._watcher.start()
        tag = uuid.uuid4().hex[:6]
        self.lifecycle = JobLifecycle(FlinkRest(self.target.flink_rest_url), _jar(self.target),
                                      history=self.run.history, job_args={
                                          **self.pipeline.lifecycle.job_args,
                                          "bootstrap": self.target.internal_bootstrap_servers,
                                          "input-topic": self.target_input, "output-topic": self.target_output,
                                          "group": f"{self.job_group}-moved", "txn-prefix": f"tx-moved-{tag}",
                                          "source-uid": SOURCE_UID_ON_TARGET,
                                          "start-offsets": ",".join(f"{p}:{o}" for p, o in sorted(dst_pos.items()))})
        dep = self.lifecycle.deploy("good", savepoint=sp.path, allow_non_restored_state=True)
        self.value["restored_job"] = dep.job_id
        _stage(stages, "restore", t)
        self.type = "ok"
        log.info("job moved: %s from %s, starting at %s on %s", dep.job_id, sp.path, dst_pos, self.target_input)

    def _copy_savepoint(self, path: str) -> int:
        """Every object under the savepoint's prefix, from the source's store to the target's."""
        bucket, _, prefix = path.removeprefix("s3://").partition("/")
        self.run.history.invoke(observe.PROCESS, COPY_F, {"path": path})
        src, dst = self.source.s3_client(), self.target.s3_client()
        n = size = 0
        for page in src.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = src.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                dst.put_object(Bucket=bucket, Key=obj["Key"], Body=body)
                n, size = n + 1, size + len(body)
        if n == 0:
            self.run.history.fail(observe.PROCESS, COPY_F, {"path": path, "error": "no object under the savepoint"})
            raise RuntimeError(f"savepoint {path} has no object in the source's object store")
        self.run.history.ok(observe.PROCESS, COPY_F, {"path": path, "objects": n, "bytes": size})
        return size

    def _positions(self) -> tuple[dict[int, int], dict[int, int]]:
        """(what the job read on the source, where it starts on the target), per partition."""
        ends = high_watermarks(self.source.bootstrap_servers, self.input_topic)
        deadline = time.monotonic() + COMMIT_WAIT_S
        got = committed_offsets(self.source.bootstrap_servers, self.input_topic, self.job_group)
        while any(got.get(p, -1) < o for p, o in ends.items()) and time.monotonic() < deadline:
            time.sleep(1.0)        # the stop's savepoint commits the source's offsets asynchronously
            got = committed_offsets(self.source.bootstrap_servers, self.input_topic, self.job_group)
        self.value["source_committed"] = _json(got)
        src = {p: (got[p] if got.get(p, -1) >= 0 else ends[p]) for p in ends}
        self.value["source_ends"] = _json(ends)
        if self.start == "earliest":          # no lookup: the weakened move ignores what was read
            return src, {p: 0 for p in src}
        dst = {}
        for p, o in src.items():
            dst[p] = 0 if o == 0 else self._after_last_copy(p, _id_at(self.source.bootstrap_servers,
                                                                       self.input_topic, p, o - 1))
        return src, dst

    def _after_last_copy(self, p: int, rid) -> int:
        """The offset after the last copy of ``rid`` in the mirrored partition ``p`` (waits for it)."""
        deadline = time.monotonic() + LOOKUP_TIMEOUT_S
        while True:
            last = _last_offset_of(self.target.bootstrap_servers, self.target_input, p, rid)
            if last is not None:
                return last + 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"record {rid} of partition {p} never reached {self.target_input}")
            time.sleep(1.0)

    def _watch_first_output(self) -> None:
        c = Consumer(client_config(self.target.bootstrap_servers, **{
            "group.id": f"first-output-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
            "isolation.level": "read_committed", "enable.auto.commit": False}))
        c.subscribe([self.target_output])
        try:
            while not self._stop.is_set():
                m = c.poll(0.5)
                if m is not None and m.error() is None:
                    self.value["first_output_at"] = time.monotonic_ns()
                    return
        finally:
            c.close()

    def finish(self) -> None:
        """Wait for every input in one output or the other, read both, append the ``job-move`` op."""
        if self.type == "ok":
            self._drain()
        self._stop.set()
        if getattr(self, "_watcher", None) is not None:
            self._watcher.join(timeout=10)
        final_read(self.source.bootstrap_servers, self.output_topic, self.run.history, isolation="read_committed",
                   timeout=120)
        final_read(self.target.bootstrap_servers, self.target_output, self.run.history, isolation="read_committed",
                   timeout=120)
        (self.run.history.ok if self.type == "ok" else self.run.history.info)(observe.PROCESS, MOVE_F, self.value)

    def _drain(self) -> None:
        t0 = time.monotonic()
        want = sum(high_watermarks(self.source.bootstrap_servers, self.input_topic).values())
        ids: set = set()
        readers = [_reader(pl.bootstrap_servers, t) for pl, t in ((self.source, self.output_topic),
                                                                  (self.target, self.target_output))]
        try:
            while len(ids) < want and time.monotonic() - t0 < DRAIN_TIMEOUT_S:
                for c in readers:
                    for m in c.consume(1000, timeout=0.5):
                        val = decode_value(m.value()) if m.error() is None else None
                        if isinstance(val, dict):
                            ids.add(val.get("id"))
        finally:
            for c in readers:
                c.close()
        done = len(ids) >= want
        (self.run.history.ok if done else self.run.history.fail)(observe.PROCESS, "drain", {
            "what": "moved job output", "waited_s": round(time.monotonic() - t0, 2), "done": done,
            "detail": f"{len(ids)} of {want} inputs in the committed output of both sides"})

    def close(self) -> None:
        self._stop.set()
        lc = getattr(self, "lifecycle", None)
        if lc is not None and lc.current is not None:
            try:
                lc.cancel()
            except Exception as exc:
                log.info("cancel of the moved job failed: %s", exc)


def wait_last_mirrored(source, target, topic: str, timeout: float) -> bool:
    """Wait until the last record of every partition of ``topic`` on the source is in its
    mirror on the target (by id; per-partition order makes the rest follow)."""
    deadline = time.monotonic() + timeout
    ends = high_watermarks(source.bootstrap_servers, topic)
    last = {p: _id_at(source.bootstrap_servers, topic, p, o - 1) for p, o in ends.items() if o > 0}
    while time.monotonic() < deadline:
        if all(_last_offset_of(target.bootstrap_servers, mirrored(topic), p, rid) is not None
               for p, rid in last.items()):
            return True
        time.sleep(1.0)
    log.warning("the last records of %s did not reach its mirror in %.0fs", topic, timeout)
    return False


def _stage(stages: dict, name: str, t0: float) -> float:
    now = time.monotonic()
    stages[name] = round(now - t0, 2)
    return now


def _jar(platform):
    return build_job_jar(flink_version=getattr(platform.cfg, "versions", {}).get("flink"))


def _json(d: dict) -> dict:
    return {str(p): o for p, o in sorted(d.items())}


def _translated(target, topic: str, group: str) -> dict[int, int]:
    try:
        return committed_offsets(target.bootstrap_servers, topic, group)
    except Exception as exc:       # for comparison only
        log.info("MirrorMaker's translated offsets of %s not readable: %s", group, exc)
        return {}


def _reader(bootstrap: str, topic: str) -> Consumer:
    c = Consumer(client_config(bootstrap, **{"group.id": f"move-drain-{uuid.uuid4().hex[:8]}",
                                             "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                             "isolation.level": "read_committed"}))
    c.subscribe([topic])
    return c


def _id_at(bootstrap: str, topic: str, p: int, offset: int):
    """The harness id of the record at ``offset`` of partition ``p``."""
    c = Consumer(client_config(bootstrap, **{"group.id": f"id-at-{uuid.uuid4().hex[:8]}",
                                             "enable.auto.commit": False}))
    try:
        c.assign([TopicPartition(topic, p, offset)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is not None and m.error() is None and m.offset() == offset:
                return (decode_value(m.value()) or {}).get("id")
        raise RuntimeError(f"offset {offset} of {topic}[{p}] not readable")
    finally:
        c.close()


def _last_offset_of(bootstrap: str, topic: str, p: int, rid) -> int | None:
    """The last offset of partition ``p`` holding harness id ``rid`` (a full read of it)."""
    c = Consumer(client_config(bootstrap, **{"group.id": f"last-of-{uuid.uuid4().hex[:8]}",
                                             "enable.auto.commit": False, "enable.partition.eof": True}))
    last = None
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if hi <= lo:
            return None
        c.assign([TopicPartition(topic, p, lo)])
        deadline = time.monotonic() + 60
        pos = lo
        while pos < hi and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=1.0):
                if m.error() is not None:
                    pos = hi if m.error().code() == KafkaError._PARTITION_EOF else pos
                    continue
                pos = m.offset() + 1
                val = decode_value(m.value())
                if isinstance(val, dict) and val.get("id") == rid:
                    last = m.offset()
        return last
    finally:
        c.close()

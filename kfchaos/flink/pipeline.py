"""The Flink pipeline a scenario runs: input and output topics, the job deployed through the
recorded lifecycle, a drain that waits for the output to catch up (then records the producers
and open transactions of every output partition, an ``open-transactions`` op:
:mod:`kfchaos.platform.producer_state`), and the final read of the output with
isolation.level=read_committed that the exactly-once checker needs.

The job is the reference job, or the team's own job when the profile names one (``job:``,
see :mod:`kfchaos.flink.userjob`): then the workload writes input in the job's format, its
releases are ``good`` (in production) and ``next``, the output is read as an
``output-read`` op and the job's output contract decides exactly-once.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from confluent_kafka import Consumer

from kfchaos import observe
from kfchaos.clients import final_read, records_read
from kfchaos.platform.producer_state import record_open_transactions
from kfchaos.platform.kafka_config import client_config

from .jobjar import build_job_jar
from .lifecycle import TERMINAL_STATES, JobLifecycle
from .rest import FlinkRest, FlinkRestError

CHECKPOINT_MS = 2000


log = logging.getLogger("chaos.flink")


class FlinkPipeline:
    def __init__(self, scenario, checkpoint_ms: int = CHECKPOINT_MS):
        self.scenario = scenario
        platform = scenario.platform
        self.platform = platform
        self.input_topic = scenario.topic("in")
        self.output_topic = scenario.topic("out")
        tag = uuid.uuid4().hex[:6]
        headers = platform.flink_headers() if hasattr(platform, "flink_headers") else None
        self.rest = FlinkRest(platform.flink_rest_url, headers=headers)
        self.user_job = getattr(scenario.profile, "job", None)
        job_args = {"bootstrap": platform.internal_bootstrap_servers, "input-topic": self.input_topic,
                    "output-topic": self.output_topic, "group": f"{scenario.name}-{tag}", "txn-prefix": f"tx-{tag}",
                    "checkpoint-interval-ms": checkpoint_ms, "job-name": f"{scenario.name}-{tag}"}
        if self.user_job is None:
            flink_version = getattr(getattr(platform, "cfg", None), "versions", {}).get("flink")
            self.lifecycle = JobLifecycle(self.rest, build_job_jar(flink_version=flink_version),
                                          history=scenario.history, job_args=job_args)
            scenario.check_options(input_topic=self.input_topic, output_topic=self.output_topic)
        else:
            job = self.user_job
            self.lifecycle = JobLifecycle(self.rest, history=scenario.history, job_args=job_args,
                                          releases=job.releases(), parallelism=job.parallelism)
            scenario.encoders[self.input_topic] = job.encode
            scenario.check_options(input_topic=self.input_topic, output_topic=self.output_topic,
                                   **job.check_options())

    def deploy(self, variant: str = "good", **kw: Any):
        """Deploy the reference job; "good" is the profile's production variant (``flink.job_variant``)."""
        if variant == "good" and self.user_job is None:   # the profile decides, whatever platform runs it
            variant = self.scenario.profile.platform.flink.job_variant
        d = self.lifecycle.deploy(variant, **kw)
        log.info(f"{variant} job {d.job_id} running")
        return d

    def wait_checkpoints(self, n: int = 1, timeout: float = 60.0) -> None:
        self.rest.wait_for_checkpoints(self.lifecycle.current.job_id, n, timeout)

    def drain(self, timeout: float = 120.0) -> float:
        """Wait until the committed output holds one record per input record (or timeout);
        recorded as a ``drain`` operation and the ``output_drain_s`` figure."""
        t0 = time.monotonic()
        wanted = self._input_count()
        seen: set[str] = set()
        c = Consumer(client_config(self.platform.bootstrap_servers, **{
            "group.id": f"drain-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "isolation.level": "read_committed"}))
        c.subscribe([self.output_topic])
        try:
            while len(seen) < wanted and time.monotonic() - t0 < timeout and not self._job_ended():
                for m in c.consume(1000, timeout=1.0):
                    if m.error() is None and m.value():
                        seen.add(self._output_id(m))
            partitions, why = _partitions(c, self.output_topic)
        finally:
            c.close()
        waited = time.monotonic() - t0
        log.info(f"output has {len(seen)} of {wanted} inputs after {waited:.1f}s")
        done = len(seen) >= wanted
        value = {"what": "output", "waited_s": round(waited, 2), "done": done,
                 "detail": f"{len(seen)} of {wanted} inputs in the committed output"}
        (self.scenario.history.ok if done else self.scenario.history.fail)(observe.PROCESS, "drain", value)
        self.scenario.measure("output_drain_s", round(waited, 2))
        record_open_transactions(self.scenario.history, self.platform, self.output_topic, partitions, why)
        return waited

    def _output_id(self, m) -> str | None:
        """The input id an output message carries (the job's output contract names where)."""
        if self.user_job is None:
            return json.loads(m.value())["id"]
        from kfchaos.checkers.output_contract import field_of
        from kfchaos.clients.codec import decode_value
        out = self.user_job.output
        if out.get("output_contract", out.get("contract")) != "exactly-once-by-id":
            return f"{m.partition()}:{m.offset()}"        # no id to match: count the records
        rec = {"key": m.key(), "value": decode_value(m.value()),
               "headers": {k: (v or b"").decode("utf-8", "replace") for k, v in (m.headers() or [])}}
        rid = field_of(rec, out.get("id_field", "id"), out.get("id_header"))
        return None if rid is None else str(rid)

    def _job_ended(self) -> bool:
        """The current job reached a terminal state (FAILED with no restart left): no output will come."""
        cur = self.lifecycle.current
        if cur is None or not cur.job_id:
            return False
        try:
            return self.rest.job_state(cur.job_id) in TERMINAL_STATES
        except FlinkRestError as e:     # 404: the JobManager does not know the job (lost without HA)
            return e.status == 404
        except Exception:      # REST briefly unreachable (a JobManager fault): keep waiting
            return False

    def _input_count(self) -> int:
        lo_hi = 0
        c = Consumer(client_config(self.platform.bootstrap_servers, **{"group.id": f"wm-{uuid.uuid4().hex[:8]}"}))
        try:
            md = c.list_topics(self.input_topic, timeout=10)
            from confluent_kafka import TopicPartition
            for p in md.topics[self.input_topic].partitions:
                lo, hi = c.get_watermark_offsets(TopicPartition(self.input_topic, p), timeout=10)
                lo_hi += hi - lo
        finally:
            c.close()
        return lo_hi

    def final_read_output(self) -> dict:
        """The committed output (an ``output-read`` op for a user's job: its values are its own)."""
        return final_read(self.platform.bootstrap_servers, self.output_topic, self.scenario.history,
                          isolation="read_committed", timeout=120,
                          f="final-read" if self.user_job is None else "output-read")

    def replayed_from_data(self) -> int:
        """Output records written in aborted transactions: the work a failover redid,
        counted from the data (read_uncommitted minus read_committed)."""
        from kfchaos.history import History
        scratch = History()
        everything = final_read(self.platform.bootstrap_servers, self.output_topic, scratch,
                                isolation="read_uncommitted", timeout=120)
        committed = final_read(self.platform.bootstrap_servers, self.output_topic, scratch,
                               isolation="read_committed", timeout=120)
        return records_read(everything) - records_read(committed)

    def checkpoint_counts(self) -> dict[str, int]:
        stats = self.rest.checkpoints(self.lifecycle.current.job_id)
        return {"checkpoints_completed": stats.completed, "failed_checkpoints": stats.failed,
                "restored": stats.restored}

    def record_checkpoint_figures(self) -> None:
        """Checkpoint counts of the current job and the records a failover redid, as measures."""
        try:
            counts = self.checkpoint_counts()
        except FlinkRestError as e:
            if e.status != 404:
                raise
            counts = {}                 # the job is gone: no checkpoint statistics
        for name, value in counts.items():
            self.scenario.measure(name, value)
        self.scenario.measure("records_replayed", self.replayed_from_data())

    def record_job_recovery(self, failed_at: float | None = None) -> None:
        """The job's state and time back to RUNNING after its fault, as a ``job-recovery`` op
        (the recovery checker decides on it: a job that never runs again has not recovered).
        ``failed_at`` (epoch s): when the fault struck, for a JobManager that lost its own
        exception history with its process; else the job's newest exception is the failure."""
        try:
            m = self.lifecycle.recovery_metrics(
                failure_time_ms=None if failed_at is None else int(failed_at * 1000))
        except FlinkRestError as e:
            if e.status != 404:
                raise
            observe.job_recovery(self.scenario.history, job_id=self.lifecycle.job_id, state="NOT FOUND",
                                 all_tasks_running=False, time_to_running_s=None)
            return
        ttr = m.time_to_running_ms / 1000 if m.time_to_running_ms is not None else None
        observe.job_recovery(self.scenario.history, job_id=m.job_id, state=m.state,
                             all_tasks_running=m.all_tasks_running, time_to_running_s=ttr)
        self.scenario.measure("source_records_since_restart", m.source_records_since_restart)

    def close(self) -> None:
        try:
            if self.lifecycle.current is not None:
                self.lifecycle.cancel()
        except Exception as exc:
            log.info(f"cancel failed: {exc}")


def _partitions(consumer, topic: str) -> tuple[list[int] | None, str | None]:
    """(the partitions of ``topic``, None), or (None, why they could not be listed)."""
    try:
        return sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions), None
    except Exception as exc:       # brokers not answering: the open transactions are unknown
        return None, f"the partitions of {topic} could not be listed: {type(exc).__name__}: {exc}"

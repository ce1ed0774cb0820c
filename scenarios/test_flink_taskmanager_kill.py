"""Flink TaskManager killed (SIGKILL) mid-stream.

Contracts: exactly-once output (every input record appears exactly once in the output
read with isolation.level=read_committed; per-key counts have no gap and no repeat),
recovery (output resumes within the budget).
Fault: SIGKILL of the only TaskManager while the reference job (keyed per-key counter,
transactional Kafka sink, checkpoints every 2 s on MinIO) processes live input; the
TaskManager is started again 5 s later. Expected recovery: the job restarts from the
latest completed checkpoint, replays the input since that checkpoint (records replayed
is reported), aborts the open transactions and resumes; no duplicate is visible to
read_committed readers.
"""
import pytest

from harness.faults.base import FaultSpec
from harness.flink.pipeline import FlinkPipeline
from harness.workload import WorkloadSpec

CONTRACTS = ("exactly-once", "recovery")
pytestmark = [pytest.mark.scenario, pytest.mark.platform, pytest.mark.flink]


def test_flink_taskmanager_kill(scenario):
    flink = FlinkPipeline(scenario)
    flink.deploy("good")
    try:
        scenario.workload(flink.input_topic, WorkloadSpec(duration_s=35, rate=100, consumers=0),
                          faults=[FaultSpec("flink-kill", "taskmanager", start=12, duration=5)])
        scenario.extra_figures["output_drain_s"] = round(flink.drain(timeout=150), 2)
        m = flink.lifecycle.recovery_metrics()
        scenario.extra_figures.update(records_replayed=flink.replayed_from_data(),
                                      source_records_since_restart=m.source_records_since_restart,
                                      flink_time_to_running_s=(m.time_to_running_ms or 0) / 1000 or None,
                                      **flink.checkpoint_counts())
        flink.final_read_output()
    finally:
        flink.close()
    scenario.conclude()

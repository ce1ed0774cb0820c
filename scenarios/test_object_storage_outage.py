"""Object storage down while Flink checkpoints, then back.

Contracts: exactly-once output, recovery (after the endpoint is back, checkpoints
complete again and the output catches up within the budget).
Fault: every zone's S3 proxy disabled for 20 s (connections to MinIO refused), while
the reference job checkpoints every 2 s to s3:// on MinIO. Expected: checkpoints fail
(counted: failed_checkpoints); with the default tolerance the job fails over and
restarts from the last completed checkpoint once S3 answers again; transactions of
failed checkpoints are aborted, so read_committed output stays exact.
"""
import pytest

from harness.faults.base import FaultSpec
from harness.flink.pipeline import FlinkPipeline
from harness.workload import WorkloadSpec

CONTRACTS = ("exactly-once", "recovery")
pytestmark = [pytest.mark.scenario, pytest.mark.platform, pytest.mark.flink]


def test_object_storage_outage(scenario):
    flink = FlinkPipeline(scenario)
    flink.deploy("good")
    try:
        flink.wait_checkpoints(1, timeout=60)
        scenario.workload(flink.input_topic, WorkloadSpec(duration_s=40, rate=100, consumers=0),
                          faults=[FaultSpec("s3-down", "all", start=10, duration=20)])
        scenario.extra_figures["output_drain_s"] = round(flink.drain(timeout=180), 2)
        scenario.extra_figures.update(flink.checkpoint_counts(), records_replayed=flink.replayed_from_data())
        flink.final_read_output()
    finally:
        flink.close()
    scenario.conclude()

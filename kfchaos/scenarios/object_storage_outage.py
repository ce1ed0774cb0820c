"""Object storage down while Flink checkpoints, then back.

Contracts: exactly-once output, recovery (after the endpoint is back, checkpoints
complete again and the output catches up within the budget).
Fault: every zone's S3 proxy disabled for 20 s (connections to MinIO refused), while
the reference job checkpoints every 2 s to s3:// on MinIO. Expected: checkpoints fail
(counted: failed_checkpoints); with the default tolerance the job fails over and
restarts from the last completed checkpoint once S3 answers again; transactions of
failed checkpoints are aborted, so read_committed output stays exact.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.flink.pipeline import FlinkPipeline
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    flink = FlinkPipeline(run)
    flink.deploy("good")
    try:
        flink.wait_checkpoints(1, timeout=60)
        run.workload(flink.input_topic, WorkloadSpec(duration_s=40, rate=100, consumers=0),
                     faults=[FaultSpec("s3-down", "all", start=10, duration=20)])
        flink.drain(timeout=180)
        flink.record_checkpoint_figures()
        flink.final_read_output()
    finally:
        flink.close()


SCENARIO = Scenario("object-storage-outage", __doc__, ("exactly-once", "recovery"), steps,
                    requires=("transactions",), tags=("flink", "fault"))

"""Flink TaskManager killed (SIGKILL) mid-stream.

Contracts: exactly-once output (every input record appears exactly once in the output
read with isolation.level=read_committed; per-key counts have no gap and no repeat),
recovery (output resumes and the job is RUNNING again within the budget; a job that
never runs again has not recovered).
Fault: SIGKILL of the only TaskManager while the reference job (keyed per-key counter,
transactional Kafka sink, checkpoints every 2 s on MinIO) processes live input; the
TaskManager is started again 5 s later. Expected recovery: the job restarts from the
latest completed checkpoint, replays the input since that checkpoint (records replayed
is reported), aborts the open transactions and resumes; no duplicate is visible to
read_committed readers.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.flink.pipeline import FlinkPipeline
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    flink = FlinkPipeline(run)
    flink.deploy("good")
    try:
        run.workload(flink.input_topic, WorkloadSpec(duration_s=35, rate=100, consumers=0),
                     faults=[FaultSpec("flink-kill", "taskmanager", start=12, duration=5)])
        flink.drain(timeout=150)
        flink.record_job_recovery()
        flink.record_checkpoint_figures()
        flink.final_read_output()
    finally:
        flink.close()


SCENARIO = Scenario("flink-taskmanager-kill", __doc__, ("exactly-once", "recovery"), steps,
                    requires=("transactions",), tags=("flink", "fault"))

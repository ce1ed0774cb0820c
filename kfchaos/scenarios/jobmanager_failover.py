"""Flink JobManager killed (SIGKILL) and replaced mid-stream: the HA service must bring the job back.

Contracts: exactly-once output (every input record exactly once in the output read with
isolation.level=read_committed; per-key counts have no gap and no repeat), recovery (the
same job is RUNNING again and its output resumes within the budget; a job the new
JobManager does not know has not recovered).
Fault: SIGKILL of the JobManager while the reference job processes live input; a new
JobManager process starts 5 s later in its place. With high availability (profile
``flink.ha: zookeeper``, the default) the new JobManager wins the leader election in
ZooKeeper, reads the job graph and the latest completed checkpoint from the HA store
(object storage) and restarts the job from that checkpoint; the TaskManager re-registers.
Without it the job is gone: recovery and exactly-once are violated, which is the finding.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.flink.pipeline import FlinkPipeline
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    flink = FlinkPipeline(run)
    flink.deploy("good")
    try:
        flink.wait_checkpoints(2, timeout=60)       # a checkpoint to come back to
        run.workload(flink.input_topic, WorkloadSpec(duration_s=40, rate=100, consumers=0),
                     faults=[FaultSpec("flink-kill", "jobmanager", start=12, duration=5)])
        flink.drain(timeout=150)
        flink.record_job_recovery(failed_at=run.nemesis.last_start_wall("flink-kill"))
        flink.record_checkpoint_figures()
        flink.final_read_output()
    finally:
        flink.close()


SCENARIO = Scenario("jobmanager-failover", __doc__, ("exactly-once", "recovery"), steps,
                    requires=("transactions",), tags=("flink", "fault"))

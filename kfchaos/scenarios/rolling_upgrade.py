"""Rolling upgrade of the brokers to another Kafka release under load, then the feature bump.

Contracts: durability, ordering, offset continuity (the consumer group's committed offsets
survive every broker's move), exactly-once (the Flink job's transactional sink keeps
working across the move: read_committed sees every committed record once, no transaction
hangs), recovery.
Fault: broker by broker, a clean shutdown, a restart on the release of
``platform.upgrade.kafka`` with the same data, a wait for a full ISR; then
``kafka-features upgrade --release-version`` to that release (see
``kfchaos/faults/upgrade.py``). Expected: clients see only retriable errors, no write is
lost, the group resumes from its commits, the job's output stays exact. Needs
``platform.upgrade.kafka`` (left out of a certification without it, with the reason); the
downgrade before finalising is not exercised.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.flink.pipeline import FlinkPipeline
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    flink = FlinkPipeline(run)
    flink.deploy("good")
    try:
        run.workload(flink.input_topic, WorkloadSpec(duration_s=40, rate=100, consumers=1),
                     faults=[FaultSpec("kafka-upgrade", "all", start=8, duration=1)])
        flink.drain(timeout=150)
        flink.record_job_recovery()
        flink.final_read_output()
    finally:
        flink.close()


SCENARIO = Scenario("rolling-upgrade", __doc__,
                    ("durability", "ordering", "offset-continuity", "exactly-once", "recovery"), steps,
                    requires=("transactions", "replication"), only_with=("upgrade-release",), tags=("fault",))

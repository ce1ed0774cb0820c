"""Object storage slow (400 ms +/- 100 ms per response) under live traffic and Flink checkpoints.

Contracts: durability and ordering of the live writes, exactly-once output of the reference
job (read_committed), recovery (producers and the job's output back within the profile's
budget once storage answers at full speed again).
Fault: a latency toxic on every zone's S3 proxy for 25 s, so every S3 request of the
platform (tiered segment uploads, shared-storage brokers' log writes, Flink's checkpoints
to s3://) is slowed. Expected: broker-local Kafka is untouched on its write path; tiered
Kafka's uploads lag and catch up; shared-storage brokers' produce latency follows the
storage latency without losing acknowledged writes; Flink checkpoints take longer or time
out (10 s) and the job fails over from the last completed one with exact output. On a
platform without Kafka transactions the Flink part cannot run and exactly-once is unknown,
with the reason.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.flink.pipeline import FlinkPipeline
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec

SLOW = FaultSpec("s3-latency", "all", start=10, duration=25, params={"latency_ms": 400, "jitter_ms": 100})


def steps(run: ScenarioRun) -> None:
    lacking = run.platform.flavor.missing("transactions")
    if lacking:
        run.note("exactly-once", f"the Flink job cannot run: {lacking}")
        run.workload(run.topic(), WorkloadSpec(duration_s=45, rate=100), faults=[SLOW])
        return
    flink = FlinkPipeline(run)
    flink.deploy("good")
    try:
        flink.wait_checkpoints(1, timeout=60)
        run.workload(flink.input_topic, WorkloadSpec(duration_s=45, rate=100), faults=[SLOW])
        flink.drain(timeout=180)
        flink.record_checkpoint_figures()
        flink.final_read_output()
    finally:
        flink.close()


SCENARIO = Scenario("object-storage-slowness", __doc__, ("durability", "ordering", "exactly-once", "recovery"),
                    steps, tags=("flink", "fault"))

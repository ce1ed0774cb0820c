"""Bad deploy (a job version that crashes), then rollback to the last good savepoint.

Contracts: exactly-once output across upgrade, crash and rollback; recovery (time to
roll back is reported).
Fault: the good job is upgraded (stop-with-savepoint) to the `crash` variant, which
throws on a poison record and fails; the harness rolls back: the good variant restarts
from the last known-good savepoint. Input is paused while the bad version runs (it
processes only the poison record), so the rollback replays nothing that the bad
version committed; live input runs before and after. Expected: the poison record is
processed once by the good job after rollback; every other record exactly once.
"""
import time

from harness.clients import RecordingProducer
from harness.flink.pipeline import FlinkPipeline
from harness.scenario import Scenario, ScenarioRun, elapsed
from harness.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    flink = FlinkPipeline(run)
    flink.deploy("good")
    spec = WorkloadSpec(duration_s=12, rate=100, consumers=0, quiet_s=1)
    try:
        run.workload(flink.input_topic, spec)
        flink.drain(timeout=90)
        bad = flink.lifecycle.upgrade("crash", args={"restart-attempts": 1, "restart-delay-ms": 500})
        with RecordingProducer(run.platform.bootstrap_servers, flink.input_topic, run.history,
                               "producer-poison") as p:
            p.send("poison")
        t0 = time.monotonic()
        flink.rest.wait_for_state(bad.job_id, ("FAILED",), timeout=90)
        run.measure("bad_version_failed_after_s", elapsed(t0))
        t1 = time.monotonic()
        flink.lifecycle.rollback()
        run.measure("rollback_s", elapsed(t1))
        run.workload(flink.input_topic, spec)
        flink.drain(timeout=120)
        flink.final_read_output()
    finally:
        flink.close()


SCENARIO = Scenario("bad-deploy-rollback", __doc__, ("exactly-once", "recovery"), steps,
                    requires=("transactions",), tags=("flink", "fault"))

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

import pytest

from harness.flink.pipeline import FlinkPipeline
from harness.workload import WorkloadSpec

CONTRACTS = ("exactly-once", "recovery")
pytestmark = [pytest.mark.scenario, pytest.mark.platform, pytest.mark.flink]


def test_bad_deploy_rollback(scenario):
    flink = FlinkPipeline(scenario)
    flink.deploy("good")
    spec = WorkloadSpec(duration_s=12, rate=100, consumers=0, quiet_s=1)
    try:
        scenario.workload(flink.input_topic, spec)
        flink.drain(timeout=90)
        bad = flink.lifecycle.upgrade("crash", args={"restart-attempts": 1, "restart-delay-ms": 500})
        from harness.clients import RecordingProducer
        with RecordingProducer(scenario.platform.bootstrap_servers, flink.input_topic, scenario.history,
                               "producer-poison") as p:
            p.send("poison")
        t0 = time.monotonic()
        flink.rest.wait_for_state(bad.job_id, ("FAILED",), timeout=90)
        scenario.extra_figures["bad_version_failed_after_s"] = round(time.monotonic() - t0, 2)
        t1 = time.monotonic()
        flink.lifecycle.rollback()
        scenario.extra_figures["rollback_s"] = round(time.monotonic() - t1, 2)
        scenario.workload(flink.input_topic, spec)
        scenario.extra_figures["output_drain_s"] = round(flink.drain(timeout=120), 2)
        flink.final_read_output()
    finally:
        flink.close()
    scenario.conclude()

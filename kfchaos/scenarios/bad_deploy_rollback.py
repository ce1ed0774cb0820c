"""Bad deploy (a job version that crashes), then rollback to the last good savepoint.

Contracts: exactly-once output across upgrade, crash and rollback; recovery (time to
roll back is reported).
Fault: the good job is upgraded (stop-with-savepoint) to the `crash` variant, which
throws on a poison record and fails; the harness rolls back: the good variant restarts
from the last known-good savepoint. Input is paused while the bad version runs (it
processes only the poison record), so the rollback replays nothing that the bad
version committed; live input runs before and after. Expected: the poison record is
processed once by the good job after rollback; every other record exactly once.

With the team's own job (profile ``job:``), the bad deploy is the move to its next release
(``job.next_jar``): upgrade with a savepoint, wait up to 30 s for it to fail (a failed
restore counts), then roll back to the last good savepoint either way, with input paused
meanwhile; not applicable when the profile names no next release.
"""
import time

from kfchaos.clients import RecordingProducer
from kfchaos.flink.pipeline import FlinkPipeline
from kfchaos.flink.lifecycle import DeploymentFailed
from kfchaos.scenario import NotApplicable, Scenario, ScenarioRun, elapsed
from kfchaos.workload import WorkloadSpec

NEXT_RELEASE_WATCH_S = 30.0


def steps(run: ScenarioRun) -> None:
    _needs_next_release(run)
    flink = FlinkPipeline(run)
    flink.deploy("good")
    spec = WorkloadSpec(duration_s=12, rate=100, consumers=0, quiet_s=1)
    try:
        run.workload(flink.input_topic, spec)
        flink.drain(timeout=90)
        if flink.user_job is not None:
            _deploy_next_release(run, flink)
        else:
            _deploy_crashing_variant(run, flink)
        t1 = time.monotonic()
        flink.lifecycle.rollback()
        run.measure("rollback_s", elapsed(t1))
        run.workload(flink.input_topic, spec)
        flink.drain(timeout=120)
        flink.final_read_output()
    finally:
        flink.close()


def _deploy_crashing_variant(run: ScenarioRun, flink: FlinkPipeline) -> None:
    """The reference job's crash variant, failed by one poison record."""
    bad = flink.lifecycle.upgrade("crash", args={"restart-attempts": 1, "restart-delay-ms": 500})
    with RecordingProducer(run.platform.bootstrap_servers, flink.input_topic, run.history,
                           "producer-poison") as p:
        p.send("poison")
    t0 = time.monotonic()
    flink.rest.wait_for_state(bad.job_id, ("FAILED",), timeout=90)
    run.measure("bad_version_failed_after_s", elapsed(t0))


def _deploy_next_release(run: ScenarioRun, flink: FlinkPipeline) -> None:
    """The team's next release as the deploy under test (a rollback to the good savepoint follows)."""
    t0 = time.monotonic()
    try:
        nxt = flink.lifecycle.upgrade("next")
        try:
            flink.rest.wait_for_state(nxt.job_id, ("FAILED",), timeout=NEXT_RELEASE_WATCH_S)
            run.measure("bad_version_failed_after_s", elapsed(t0))
        except Exception:      # still running after the watch: a healthy release, rolled back anyway
            run.note("recovery", f"the next release ran healthy for {NEXT_RELEASE_WATCH_S:.0f}s; "
                                 "rolled back as a rehearsal")
    except DeploymentFailed as e:
        run.measure("bad_version_failed_after_s", elapsed(t0))
        run.note("recovery", f"the next release did not start: {str(e)[:200]}")


def _needs_next_release(run: ScenarioRun) -> None:
    job = getattr(run.profile, "job", None)
    if job is not None and not job.has_next:
        raise NotApplicable("the profile's job names no next release (job.next_jar or job.next_maven)")


SCENARIO = Scenario("bad-deploy-rollback", __doc__, ("exactly-once", "recovery"), steps,
                    requires=("transactions",), tags=("flink", "fault"))

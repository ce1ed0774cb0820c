"""The Flink job moved to another Flink release through a savepoint, under live input.

Contracts: exactly-once output across the move (every input record once in the committed
output, before and after), recovery (the job runs again on the new release).
Fault: the job (the reference job, or the profile's own job) runs on the platform's Flink
release while input arrives; it is stopped with a savepoint; the JobManager and
TaskManagers are recreated from the image of ``platform.upgrade.flink`` (same
configuration, checkpoints and savepoints in object storage); the job is restored from the
savepoint on the new release (the reference job rebuilt against that release and its Kafka
connector), and more input follows. Expected: the restore succeeds and the output stays
exact. Recovery times the restore (submission to every subtask RUNNING) against the
budget; the whole planned downtime (savepoint, new cluster, restore) is the figure
``flink_move_s``. A release that cannot restore the savepoint is reported with Flink's own
error (the ``restore`` op and a note): the records sent after the move then show up as
missing, and recovery is violated. Needs ``platform.upgrade.flink`` (left out without it, with the reason).
"""
import time

from kfchaos import observe
from kfchaos.flink.jobjar import build_job_jar
from kfchaos.images.versions import platform_versions
from kfchaos.flink.lifecycle import DeploymentFailed
from kfchaos.flink.pipeline import FlinkPipeline
from kfchaos.platform.flink_release import move_flink_release
from kfchaos.scenario import Scenario, ScenarioRun, elapsed
from kfchaos.workload import WorkloadSpec

MOVE_F = "flink-release"


def steps(run: ScenarioRun) -> None:
    flink = FlinkPipeline(run)
    flink.deploy("good")
    spec = WorkloadSpec(duration_s=12, rate=100, consumers=0, quiet_s=1)
    try:
        run.workload(flink.input_topic, spec)
        flink.drain(timeout=90)
        t0 = time.monotonic()
        savepoint = flink.lifecycle.stop()
        _move(run, flink)
        _restore(run, flink, savepoint.path, t0)
        run.workload(flink.input_topic, spec)
        flink.drain(timeout=120)
        flink.final_read_output()
    finally:
        flink.close()


def _move(run: ScenarioRun, flink: FlinkPipeline) -> None:
    """Recreate the Flink cluster on the new release (an op with its proof), and point the
    reference job at its build for that release."""
    to = run.platform.cfg.upgrade["flink"]
    frm = platform_versions(run.platform.cfg.versions)["flink"]
    image = run.platform.upgrade_images[f"flink {to}"]
    value = {"from": frm, "to": to, "image": image}
    run.history.invoke(observe.PROCESS, MOVE_F, value)
    try:
        proof = move_flink_release(run.platform, image)
    except Exception as e:
        run.history.info(observe.PROCESS, MOVE_F, {**value, "error": str(e).splitlines()[0][:300]})
        raise
    run.history.ok(observe.PROCESS, MOVE_F, {**value, "proof": proof})
    flink.lifecycle.forget_uploads(build_job_jar(flink_version=to) if flink.user_job is None else None)


def _restore(run: ScenarioRun, flink: FlinkPipeline, savepoint: str, t0: float) -> None:
    """The job from the savepoint on the new release; Flink's own error if it cannot."""
    variant = flink.lifecycle.current.variant
    try:
        dep = flink.lifecycle.deploy(variant, savepoint=savepoint)
    except DeploymentFailed as e:
        run.note("recovery", f"the new Flink release did not restore the savepoint: {str(e)[:300]}")
        observe.job_recovery(run.history, job_id=e.deployment.job_id if e.deployment else None,
                             state=(e.deployment.state if e.deployment else None) or "REJECTED",
                             all_tasks_running=False, time_to_running_s=None)
        return
    run.measure("flink_move_s", elapsed(t0))     # the planned downtime: savepoint, new cluster, restore
    observe.job_recovery(run.history, job_id=dep.job_id, state=dep.state, all_tasks_running=True,
                         time_to_running_s=round(dep.running_at - dep.submitted_at, 3))


SCENARIO = Scenario("flink-upgrade", __doc__, ("exactly-once", "recovery"), steps,
                    requires=("transactions",), only_with=("flink-upgrade-release",), tags=("flink", "fault"))

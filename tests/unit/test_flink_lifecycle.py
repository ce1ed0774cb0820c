"""kfchaos.flink.lifecycle: history recording, known-good tracking, recovery metrics.

``FakeRest`` stands in for FlinkRest (same method names) and answers with job/exception
shapes parsed from the replies recorded from a real Flink 2.2 (kfchaos/flink/recorded/).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kfchaos.flink import lifecycle as L
from kfchaos.flink import rest as R
from kfchaos.flink.lifecycle import DeploymentFailed, JobLifecycle, LifecycleError
from kfchaos.flink.rest import FlinkRestError, FlinkTimeout, JobTerminated

RECORDED = Path(R.__file__).parent / "recorded"


def rec(name: str):
    return json.loads((RECORDED / f"{name}.json").read_text())


def job_shape(name: str, jid: str, **over):
    raw = rec(name)
    raw["jid"] = jid
    raw.update(over)
    return raw


class FakeRest:
    """Scripted cluster: each submitted job follows ``self.plan`` for its variant."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.jobs: dict[str, str] = {}             # job id -> state
        self.exc: dict[str, dict] = {}             # job id -> exceptions reply
        self.plan: dict[str, object] = {}          # variant -> "RUNNING" | exception to raise
        self.wait_plan: dict[str, object] = {}     # variant -> exception from wait_for_state
        self.variant_of: dict[str, str] = {}
        self.n = 0

    # jars / jobs
    def upload_jar(self, path):
        self.calls.append(("upload", str(path)))
        return "abc_job.jar"

    def run_jar(self, jar_id, **kw):
        self.calls.append(("run", jar_id, kw))
        variant = kw["args"][kw["args"].index("--variant") + 1]
        outcome = self.plan.get(variant, "RUNNING")
        if isinstance(outcome, Exception):
            raise outcome
        self.n += 1
        jid = f"{self.n:032x}"
        self.jobs[jid] = "RUNNING"
        self.variant_of[jid] = variant
        self.exc[jid] = rec("exceptions_empty")
        return jid

    def job(self, jid):
        st = self.jobs[jid]
        name = {"RUNNING": "job_running", "FAILED": "job_failed", "CANCELED": "job_canceled",
                "FINISHED": "job_finished", "RESTARTING": "job_restarting"}[st]
        return R.parse_job(job_shape(name, jid))

    def job_state(self, jid):
        return self.jobs[jid]

    def exceptions(self, jid, max_exceptions=20):
        return R.parse_exceptions(self.exc[jid])[:max_exceptions]

    def wait_for_state(self, jid, states, timeout=60, **kw):
        self.calls.append(("wait", jid, tuple(states) if not isinstance(states, str) else states))
        w = self.wait_plan.get(self.variant_of.get(jid))
        if isinstance(w, Exception):
            if isinstance(w, JobTerminated):
                self.jobs[jid] = w.state
            raise w
        if self.jobs[jid] == "CANCELLING":
            self.jobs[jid] = "CANCELED"
        return self.job(jid)

    def cancel(self, jid):
        self.calls.append(("cancel", jid))
        self.jobs[jid] = "CANCELLING"

    def stop_with_savepoint(self, jid, target_directory=None, drain=False, timeout=120):
        self.calls.append(("stop", jid, target_directory, drain))
        self.jobs[jid] = "FINISHED"
        return f"s3://b/savepoints/savepoint-{jid[-6:]}-stop"

    def savepoint(self, jid, target_directory=None, timeout=120):
        self.calls.append(("savepoint", jid))
        return f"s3://b/savepoints/savepoint-{jid[-6:]}-sp"

    def checkpoint(self, jid, timeout=120):
        return 42

    def checkpoints(self, jid):
        return R.parse_checkpoints(rec("checkpoints_restored"))


@pytest.fixture
def hist():
    from kfchaos.history import History
    h = History()
    yield h
    h.close()


@pytest.fixture
def fake():
    return FakeRest()


BASE = {"bootstrap": "kafka-a:9092", "input-topic": "in", "output-topic": "out",
        "group": "g", "txn-prefix": "t"}


def make(fake, hist, **kw):
    return JobLifecycle(fake, "/x/job.jar", job_args=BASE, history=hist, parallelism=2,
                        savepoint_dir="s3://b/savepoints", **kw)


def ops(hist):
    return [(o["type"], o["f"]) for o in hist.ops]


def test_deploy_records_invoke_ok_and_builds_args(fake, hist):
    lc = make(fake, hist)
    dep = lc.deploy("good", {"checkpoint-interval-ms": 1000})
    assert dep.state == "RUNNING" and dep.job_id and lc.job_id == dep.job_id
    run = [c for c in fake.calls if c[0] == "run"][0][2]
    args = run["args"]
    assert args[args.index("--variant") + 1] == "good"
    assert args[args.index("--bootstrap") + 1] == "kafka-a:9092"
    assert args[args.index("--checkpoint-interval-ms") + 1] == "1000"
    assert run["entry_class"] == "harness.job.ExactlyOnceJob" and run["parallelism"] == 2
    assert run["savepoint_path"] is None
    assert ops(hist) == [("invoke", "deploy"), ("ok", "deploy")]
    assert all(o["process"] == "flink" for o in hist.ops)
    assert hist.ops[1]["value"]["job_id"] == dep.job_id
    # the jar is uploaded once
    lc.cancel()
    lc.deploy("slow")
    assert sum(1 for c in fake.calls if c[0] == "upload") == 1


def test_deploy_from_savepoint_is_restore(fake, hist):
    lc = make(fake, hist)
    lc.deploy("good", savepoint="s3://b/sp-1")
    assert ops(hist) == [("invoke", "restore"), ("ok", "restore")]
    assert hist.ops[1]["value"]["restored"]["id"] == 39


def test_deploy_refuses_while_running(fake, hist):
    lc = make(fake, hist)
    lc.deploy("good")
    with pytest.raises(LifecycleError, match="still RUNNING"):
        lc.deploy("slow")


def test_unknown_variant(fake, hist):
    with pytest.raises(ValueError):
        make(fake, hist).deploy("nope")


def test_deploy_job_fails_after_submit(fake, hist):
    fake.wait_plan["crash"] = JobTerminated("x", "FAILED", "PoisonRecordException: boom")
    lc = make(fake, hist)
    with pytest.raises(DeploymentFailed, match="went FAILED") as ei:
        lc.deploy("crash")
    assert ei.value.deployment.state == "FAILED"
    assert ops(hist) == [("invoke", "deploy"), ("fail", "deploy")]
    assert "PoisonRecordException" in hist.ops[1]["value"]["error"]


def test_timeout_is_info(fake, hist):
    fake.wait_plan["slow"] = FlinkTimeout("not RUNNING after 1s")
    lc = make(fake, hist)
    with pytest.raises(FlinkTimeout):
        lc.deploy("slow")
    assert ops(hist)[-1] == ("info", "deploy")


def test_upgrade_to_incompatible_fails_then_rollback(fake, hist):
    lc = make(fake, hist)
    good = lc.deploy("good", {"slow-ms": 7})
    fake.plan["incompatible-state"] = FlinkRestError(
        "POST", "/jars/abc_job.jar/run", 400,
        R.error_message(rec("jar_run_error_400")["errors"]))
    with pytest.raises(DeploymentFailed, match="Cannot map checkpoint/savepoint state"):
        lc.upgrade("incompatible-state")
    sp = lc.last_good
    assert sp is not None and sp.kind == "stop" and sp.variant == "good" and sp.good
    assert ("stop", good.job_id, "s3://b/savepoints", False) in fake.calls
    fail = hist.ops[-1]
    assert (fail["type"], fail["f"]) == ("fail", "upgrade")
    assert fail["value"]["stage"] == "restore" and fail["value"]["savepoint"] == sp.path
    assert lc.deployments[-1].state == "REJECTED"

    dep = lc.rollback()
    assert dep.variant == "good" and dep.savepoint == sp.path
    run = [c for c in fake.calls if c[0] == "run"][-1][2]
    assert run["savepoint_path"] == sp.path
    assert run["args"][run["args"].index("--slow-ms") + 1] == "7"   # the good job's args
    assert not any(c[0] == "cancel" for c in fake.calls)           # old job already FINISHED
    assert ops(hist)[-2:] == [("invoke", "rollback"), ("ok", "rollback")]
    assert hist.ops[-1]["value"]["cancelled"] == "FINISHED"


def test_upgrade_ok_carries_args_over(fake, hist):
    lc = make(fake, hist)
    lc.deploy("good", {"checkpoint-interval-ms": 500})
    dep = lc.upgrade("slow", {"slow-ms": 20})
    assert dep.args["checkpoint-interval-ms"] == "500" and dep.args["slow-ms"] == "20"
    assert dep.args["variant"] == "slow"
    assert ops(hist)[-2:] == [("invoke", "upgrade"), ("ok", "upgrade")]
    v = hist.ops[-1]["value"]
    assert v["from_variant"] == "good" and v["to_variant"] == "slow" and v["savepoint_good"]


def test_rollback_cancels_running_bad_job(fake, hist):
    lc = make(fake, hist)
    lc.deploy("good")
    lc.upgrade("at-least-once")
    bad = lc.job_id
    dep = lc.rollback()
    assert ("cancel", bad) in fake.calls and fake.jobs[bad] == "CANCELED"
    assert dep.variant == "good"


def test_rollback_without_good_savepoint(fake, hist):
    lc = make(fake, hist)
    lc.deploy("good")
    with pytest.raises(LifecycleError, match="no known-good savepoint"):
        lc.rollback()
    assert ops(hist)[-2:] == [("invoke", "rollback"), ("fail", "rollback")]


def test_savepoint_of_recently_failed_job_is_not_good(fake, hist):
    lc = make(fake, hist, healthy_window_s=30)
    dep = lc.deploy("good")
    exc = rec("exceptions")
    # job_running's server clock ("now") is within 30 s of these failures
    fake.exc[dep.job_id] = exc
    now = rec("job_running")["now"]
    newest = max(e["timestamp"] for e in exc["exceptionHistory"]["entries"])
    assert 0 < now - newest < 30_000
    sp = lc.savepoint()
    assert not sp.good and "PoisonRecordException" in sp.reason
    assert hist.ops[-1]["value"]["good"] is False
    assert lc.last_good is None
    lc.mark_good("s3://b/external")
    assert lc.last_good.path == "s3://b/external"


def test_healthy_savepoint_and_checkpoint(fake, hist):
    lc = make(fake, hist)
    lc.deploy("good")
    sp = lc.savepoint()
    assert sp.good and sp.kind == "savepoint" and lc.last_good == sp
    assert lc.checkpoint() == 42
    assert ops(hist)[-4:] == [("invoke", "savepoint"), ("ok", "savepoint"),
                              ("invoke", "checkpoint"), ("ok", "checkpoint")]


def test_is_healthy_reasons(fake):
    jid = "f" * 32
    fake.jobs[jid] = "RESTARTING"
    fake.exc[jid] = rec("exceptions_empty")
    ok, why = L.is_healthy(fake, jid)
    assert not ok and "RESTARTING" in why
    fake.jobs[jid] = "RUNNING"
    assert L.is_healthy(fake, jid)[0]


def test_actions_need_a_job(fake, hist):
    lc = make(fake, hist)
    for action in (lc.cancel, lc.savepoint, lc.checkpoint, lambda: lc.upgrade("good")):
        with pytest.raises(LifecycleError, match="no job deployed"):
            action()


# --------------------------------------------------------------------------- recovery
def test_estimate_replayed():
    assert L.estimate_replayed({("t", 0): {"current": 99, "committed": 90},
                                ("t", 1): {"current": 399, "committed": 360}}) == 50
    assert L.estimate_replayed({("t", 0): {"current": 5, "committed": -1}}) is None
    assert L.estimate_replayed({("t", 0): {"current": 5, "committed": 9}}) == 0


class MetricsRest(FakeRest):
    """Adds the metric endpoints recovery_metrics() reads."""

    def __init__(self, state, exceptions, numrestarts="job_metrics", tasks_after_ms=2000):
        super().__init__()
        self.jid = "e52c49a28671f7e2c20f2bb4a02d4b37"
        self.jobs[self.jid] = state
        self.exc[self.jid] = rec(exceptions)
        self._restarts = rec(numrestarts)
        # subtasks RUNNING this long after the job entered RUNNING; None: endpoint fails
        self.tasks_after_ms = tasks_after_ms

    def subtask_times(self, jid, vid):
        if self.tasks_after_ms is None:
            raise FlinkRestError("GET", f"/jobs/{jid}/vertices/{vid}/subtasktimes", 500,
                                 "Internal server error.")
        raw = rec("subtasktimes")
        raw["subtasks"][0]["timestamps"]["RUNNING"] = (
            rec("job_running")["timestamps"]["RUNNING"] + self.tasks_after_ms)
        return R.parse_subtask_times(raw)

    def get(self, path, **params):
        assert path == f"/jobs/{self.jid}/metrics" and params == {"get": "numRestarts"}
        return self._restarts

    def vertex_metrics(self, jid, vid, names, agg="sum"):
        return R.parse_metric_values(rec("vertex_metrics_agg_multi"))

    def source_offsets(self, jid, source_name="kafka-source"):
        return R.parse_source_offsets(R.parse_metric_values(rec("vertex_metrics_agg")))


def test_recovery_metrics_failed_crash_job():
    fr = MetricsRest("FAILED", "exceptions")
    m = L.recovery_metrics(fr, fr.jid)
    assert m.state == "FAILED" and not m.all_tasks_running
    assert m.failure.startswith("harness.job.PerKeyCounter$PoisonRecordException")
    assert m.failures_recorded == 4 and m.restarts == 1
    assert m.time_to_running_ms is None
    assert m.source_records_since_restart is None
    assert any("source metrics not available" in n for n in m.notes)


def test_recovery_metrics_recovered_job():
    fr = MetricsRest("RUNNING", "exceptions")
    m = L.recovery_metrics(fr, fr.jid, offsets_before={("t", 0): {"current": 9, "committed": 5}})
    running = rec("job_running")["timestamps"]["RUNNING"]
    newest = max(e["timestamp"] for e in rec("exceptions")["exceptionHistory"]["entries"])
    assert m.failure_time_ms == newest and m.running_since_ms == running
    # recovered = every subtask RUNNING again (2 s after the job itself re-entered RUNNING)
    assert m.tasks_running_since_ms == running + 2000
    assert m.time_to_running_ms == running + 2000 - newest
    assert m.restored_checkpoint_id == 39 and m.restored_from_savepoint
    # checkpoint 39 is older than the retained history (40..42): no trigger time, a note
    assert m.restored_checkpoint_trigger_ms is None and m.replay_window_ms is None
    assert any("no longer in the checkpoint history" in n for n in m.notes)
    assert m.source_records_since_restart == 100
    assert m.source_offsets == {"sc-in-d27361a0-0": {"current": 39, "committed": -1},
                                "sc-in-d27361a0-1": {"current": 159, "committed": -1}}
    assert m.replayed_estimate == 5
    d = m.to_dict()
    assert json.loads(json.dumps(d))["job_id"] == fr.jid


def test_recovery_metrics_with_injected_failure_time():
    fr = MetricsRest("RUNNING", "exceptions_empty")
    running = rec("job_running")["timestamps"]["RUNNING"]
    m = L.recovery_metrics(fr, fr.jid, failure_time_ms=running - 1500)
    assert m.time_to_running_ms == 3500 and m.failure is None


def test_recovery_metrics_falls_back_to_job_running_without_subtask_times():
    fr = MetricsRest("RUNNING", "exceptions_empty", tasks_after_ms=None)
    running = rec("job_running")["timestamps"]["RUNNING"]
    m = L.recovery_metrics(fr, fr.jid, failure_time_ms=running - 1500)
    assert m.time_to_running_ms == 1500 and m.tasks_running_since_ms is None
    assert any("subtask times unavailable" in n for n in m.notes)


def test_recovery_metrics_subtasks_still_on_old_attempt():
    """Subtasks RUNNING before the failure time: the failover has not happened yet."""
    fr = MetricsRest("RUNNING", "exceptions_empty", tasks_after_ms=0)
    running = rec("job_running")["timestamps"]["RUNNING"]
    m = L.recovery_metrics(fr, fr.jid, failure_time_ms=running + 10)
    assert m.time_to_running_ms is None
    assert any("not re-entered RUNNING" in n for n in m.notes)


def test_recovery_metrics_after_taskmanager_loss():
    fr = MetricsRest("RUNNING", "exceptions_taskmanager_lost")
    m = L.recovery_metrics(fr, fr.jid)
    assert m.failure.startswith("org.apache.flink.runtime.resourcemanager.exceptions."
                                "ResourceManagerException: TaskManager with id ")
    assert m.failure.endswith("is no longer reachable.") and m.failures_recorded == 1


def test_split_modules_keep_the_public_api():
    import kfchaos.flink as F
    from kfchaos.flink import recovery, restmodel
    assert F.recovery_metrics is L.recovery_metrics is recovery.recovery_metrics
    assert F.RecoveryMetrics is L.RecoveryMetrics and F.estimate_replayed is L.estimate_replayed
    assert R.parse_job is restmodel.parse_job and F.FlinkRestError is restmodel.FlinkRestError
    for name in F.__all__:
        assert getattr(F, name) is not None


def test_reuploads_jar_lost_by_a_restarted_jobmanager(fake, hist):
    lc = make(fake, hist)
    lc.deploy("good")
    lc.cancel()
    gone = iter([FlinkRestError("POST", "/jars/abc_job.jar/run", 500,
                                R.error_message(["Internal server error.",
                                                 "<Exception on server side:\njava.util."
                                                 "concurrent.CompletionException: org.apache."
                                                 "flink.runtime.rest.handler.RestHandlerException"
                                                 ": Jar file /t/abc_job.jar does not exist"])) ])
    run = fake.run_jar

    def run_once_missing(jar_id, **kw):
        e = next(gone, None)
        if e is not None:
            fake.calls.append(("run-missing", jar_id))
            raise e
        return run(jar_id, **kw)

    fake.run_jar = run_once_missing
    dep = lc.deploy("good")
    assert dep.state == "RUNNING"
    assert [c[0] for c in fake.calls].count("upload") == 2

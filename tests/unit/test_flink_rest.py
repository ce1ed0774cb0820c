"""kfchaos.flink.rest: request building and parsing of real Flink 2.2.1 replies.

The JSON files under kfchaos/flink/recorded/ were recorded from a real Flink 2.2.1 cluster
(see the README there). HTTP is replaced by a tiny in-process session that serves them, so
these tests check what we send and how we read what Flink really sends.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from kfchaos.flink import rest as R
from kfchaos.flink.rest import (FlinkRest, FlinkRestError, FlinkTimeout, FlinkUnavailable,
                                JobTerminated)

RECORDED = Path(R.__file__).parent / "recorded"


def rec(name: str):
    return json.loads((RECORDED / f"{name}.json").read_text())


class FakeSession:
    """Serves canned replies by (method, path regex); records every call."""

    def __init__(self, routes=None):
        self.routes: list = list(routes or [])
        self.calls: list[dict] = []

    def add(self, method, pattern, body=None, status=200):
        self.routes.insert(0, (method, re.compile(pattern), body, status))
        return self

    def request(self, method, url, params=None, json=None, files=None, timeout=None):
        path = url.split("://", 1)[1].split("/", 1)[1]
        path = "/" + path
        self.calls.append(dict(method=method, path=path, params=params, json=json,
                               files=files, timeout=timeout))
        for m, rx, body, status in self.routes:
            if m == method and rx.fullmatch(path):
                if isinstance(body, Exception):
                    raise body
                if callable(body):
                    body = body()
                resp = requests.models.Response()
                resp.status_code = status
                resp._content = b"" if body is None else json_dumps(body)
                resp.reason = "x"
                return resp
        raise AssertionError(f"unexpected {method} {path}")


def json_dumps(body) -> bytes:
    return json.dumps(body).encode()


def client(*routes) -> tuple[FlinkRest, FakeSession]:
    s = FakeSession()
    for r in routes:
        s.add(*r)
    return FlinkRest("http://127.0.0.1:38081/", session=s), s


JOB = "7859b7ad1637276ca1ce41d6647284bb"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(R.time, "sleep", lambda _s: None)


# --------------------------------------------------------------------------- errors
def test_error_message_picks_the_savepoint_restore_cause():
    msg = R.error_message(rec("jar_run_error_400")["errors"])
    assert msg.startswith("java.lang.IllegalStateException: Failed to rollback to "
                          "checkpoint/savepoint")
    assert "Cannot map checkpoint/savepoint state for operator" in msg
    assert "CompletionException" not in msg


def test_error_message_of_exception_in_main():
    assert R.error_message(rec("jar_run_error_500")["errors"]) == (
        "java.lang.IllegalArgumentException: --input-topic is required")


def test_error_message_skips_generic_first_entry():
    errors = ["Internal server error.",
              "<Exception on server side:\njava.util.concurrent.CompletionException: "
              "org.apache.flink.runtime.rest.handler.RestHandlerException: Jar file /x/nojar.jar "
              "does not exist\n\tat a.b(C.java:1)\n\nEnd of exception on server side>"]
    assert R.error_message(errors) == ("org.apache.flink.runtime.rest.handler."
                                       "RestHandlerException: Jar file /x/nojar.jar does not exist")


def test_root_cause_edge_cases():
    assert R.root_cause("") == ""
    assert R.root_cause("just one line") == "just one line"


def test_http_error_raises_one_line_with_status_and_detail():
    c, _ = client(("GET", r"/jobs/0+", rec("job_error_404"), 404))
    with pytest.raises(FlinkRestError) as ei:
        c.job("0" * 32)
    e = ei.value
    assert e.status == 404 and e.method == "GET"
    assert "FlinkJobNotFoundException: Could not find Flink job" in str(e)
    assert "\n" not in str(e) and "PekkoRpcActor" in e.detail


def test_connection_error_is_unavailable():
    c, _ = client(("GET", r"/overview", requests.ConnectionError("refused")))
    with pytest.raises(FlinkUnavailable) as ei:
        c.overview()
    assert ei.value.status is None and "127.0.0.1:38081" in str(ei.value)


# --------------------------------------------------------------------------- requests
def test_build_run_body_full_and_minimal():
    assert R.build_run_body() == {"programArgsList": []}
    body = R.build_run_body(entry_class="harness.job.ExactlyOnceJob",
                            args=["--variant", "good", "--x", "a b"], parallelism=2,
                            savepoint_path="s3://b/sp-1", allow_non_restored_state=False,
                            claim_mode="no_claim", flink_configuration={"a.b": 3})
    assert body == {"entryClass": "harness.job.ExactlyOnceJob",
                    "programArgsList": ["--variant", "good", "--x", "a b"], "parallelism": 2,
                    "savepointPath": "s3://b/sp-1", "allowNonRestoredState": False,
                    "claimMode": "NO_CLAIM", "flinkConfiguration": {"a.b": "3"}}


@pytest.mark.parametrize("kw", [{"parallelism": 0}, {"claim_mode": "LEGACY"}])
def test_build_run_body_rejects_bad_values(kw):
    with pytest.raises(ValueError):
        R.build_run_body(**kw)


def test_upload_and_run_jar(tmp_path):
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK\x03\x04")
    c, s = client(("POST", r"/jars/upload", rec("jar_upload")),
                  ("POST", r"/jars/[^/]+/run", rec("jar_run")))
    jar_id = c.upload_jar(jar)
    assert jar_id == "fddd0361-fa3f-488a-8545-be0f72d28abb_job.jar"
    name, fh, ctype = s.calls[0]["files"]["jarfile"]
    assert name == "job.jar" and ctype == "application/x-java-archive"
    job = c.run_jar(jar_id, entry_class="harness.job.ExactlyOnceJob", args=["--a", "1"],
                    parallelism=2, savepoint_path="file:/sp")
    assert job == rec("jar_run")["jobid"]
    call = s.calls[1]
    assert call["path"] == f"/jars/{jar_id}/run"
    assert call["json"]["savepointPath"] == "file:/sp" and call["json"]["parallelism"] == 2


def test_run_jar_restore_failure_raises_with_cause():
    c, _ = client(("POST", r"/jars/[^/]+/run", rec("jar_run_error_400"), 400))
    with pytest.raises(FlinkRestError, match="Cannot map checkpoint/savepoint state") as ei:
        c.run_jar("x.jar")
    assert ei.value.status == 400


def test_cancel_is_patch_with_mode():
    c, s = client(("PATCH", rf"/jobs/{JOB}", None, 202))
    c.cancel(JOB)
    assert s.calls[0]["params"] == {"mode": "cancel"}


def test_savepoint_sends_trigger_id_and_polls_until_completed():
    statuses = iter([rec("savepoint_status_in_progress"), rec("savepoint_status_completed")])
    c, s = client(("POST", rf"/jobs/{JOB}/savepoints", rec("savepoint_trigger")),
                  ("GET", rf"/jobs/{JOB}/savepoints/[0-9a-f]+", lambda: next(statuses)))
    loc = c.savepoint(JOB, target_directory="s3://b/sp", timeout=10)
    assert loc == rec("savepoint_status_completed")["operation"]["location"]
    body = s.calls[0]["json"]
    assert body["cancel-job"] is False and body["target-directory"] == "s3://b/sp"
    assert re.fullmatch(r"[0-9a-f]{32}", body["triggerId"])
    trig = rec("savepoint_trigger")["request-id"]
    assert s.calls[1]["path"] == s.calls[2]["path"] == f"/jobs/{JOB}/savepoints/{trig}"


def test_failed_savepoint_raises_root_cause():
    c, _ = client(("POST", rf"/jobs/{JOB}/savepoints", rec("savepoint_trigger")),
                  ("GET", rf"/jobs/{JOB}/savepoints/[0-9a-f]+", rec("savepoint_status_failed")))
    with pytest.raises(FlinkRestError, match="Failed to create savepoint directory"):
        c.savepoint(JOB, timeout=5)


def test_trigger_retries_once_with_same_trigger_id():
    c, s = client(("POST", rf"/jobs/{JOB}/stop", rec("stop_trigger")))
    flaky = iter([requests.ConnectionError("reset"), None])

    orig = s.request

    def request(method, url, **kw):
        e = next(flaky, None)
        if e is not None:
            s.calls.append(dict(method=method, path="(failed)", json=kw.get("json")))
            raise e
        return orig(method, url, **kw)

    s.request = request
    tid = c.trigger_stop(JOB, target_directory="s3://b/sp", drain=True)
    assert tid == rec("stop_trigger")["request-id"]
    assert s.calls[0]["json"]["triggerId"] == s.calls[1]["json"]["triggerId"]
    assert s.calls[1]["json"] == {"drain": True, "targetDirectory": "s3://b/sp",
                                  "triggerId": s.calls[0]["json"]["triggerId"]}


def test_stop_with_savepoint_waits_for_finished():
    c, s = client(("POST", rf"/jobs/{JOB}/stop", rec("stop_trigger")),
                  ("GET", rf"/jobs/{JOB}/savepoints/[0-9a-f]+", rec("savepoint_status_completed")),
                  ("GET", rf"/jobs/{JOB}", rec("job_finished")))
    loc = c.stop_with_savepoint(JOB, timeout=10)
    assert loc.startswith("file:/tmp/flinkdev/savepoints/")
    assert s.calls[-1]["path"] == f"/jobs/{JOB}"


def test_checkpoint_trigger_returns_id():
    st = iter([rec("checkpoint_trigger_status_in_progress"),
               rec("checkpoint_trigger_status_completed")])
    c, s = client(("POST", rf"/jobs/{JOB}/checkpoints", rec("checkpoint_trigger")),
                  ("GET", rf"/jobs/{JOB}/checkpoints/[0-9a-f]+", lambda: next(st)))
    assert c.checkpoint(JOB, checkpoint_type="full", timeout=10) == 11
    assert s.calls[0]["json"]["checkpointType"] == "FULL"


# --------------------------------------------------------------------------- parsing
def test_parse_job_running():
    j = R.parse_job(rec("job_running"))
    assert j.id == JOB and j.state == "RUNNING" and not j.terminal
    assert j.all_tasks_running
    assert [v.name for v in j.vertices] == [
        "Source: kafka-source", "per-key-counter -> kafka-sink: Writer -> kafka-sink: Committer"]
    assert j.vertex("kafka-source").parallelism == 2
    assert j.vertex("nope") is None
    assert set(j.timestamps) == {"CREATED", "INITIALIZING", "RUNNING"}  # zeros dropped
    assert j.end_time is None and j.start_time


def test_parse_job_restarting_and_failed():
    r = R.parse_job(rec("job_restarting"))
    assert r.state == "RESTARTING" and not r.all_tasks_running and not r.terminal
    f = R.parse_job(rec("job_failed"))
    assert f.terminal and f.state == "FAILED"
    assert f.timestamps["FAILED"] >= f.timestamps["FAILING"] >= f.timestamps["RUNNING"]
    for name in ("job_canceled", "job_finished"):
        assert R.parse_job(rec(name)).terminal


def test_parse_jobs_overview_shape():
    jobs = rec("jobs_overview")["jobs"]
    assert jobs and {"jid", "name", "state", "start-time"} <= set(jobs[0])


def test_parse_checkpoints_running_job():
    c = R.parse_checkpoints(rec("checkpoints"))
    assert c.completed == 10 and c.failed == 0 and c.restored == 0
    assert c.latest_restored is None and c.latest_failed is None
    lc = c.latest_completed
    assert lc.status == "COMPLETED" and not lc.is_savepoint and lc.checkpoint_type == "CHECKPOINT"
    assert lc.external_path.endswith(f"/chk-{lc.id}")
    assert c.history[0].id == lc.id


def test_parse_checkpoints_restored_from_savepoint():
    c = R.parse_checkpoints(rec("checkpoints_restored"))
    r = c.latest_restored
    assert r.id == 39 and r.is_savepoint and r.restore_timestamp
    assert r.external_path.startswith("file:/tmp/flinkdev/savepoints/savepoint-")
    assert c.restored == 1


def test_parse_checkpoints_failed():
    c = R.parse_checkpoints(rec("checkpoints_failed"))
    f = c.latest_failed
    assert f.status == "FAILED" and f.failure_message == "Checkpoint expired before completing."
    assert f.failure_timestamp and f.external_path is None
    assert c.failed >= 1


def test_parse_exceptions_crash_variant():
    ex = R.parse_exceptions(rec("exceptions"))
    assert len(ex) == 4
    assert [e.timestamp for e in ex] == sorted((e.timestamp for e in ex), reverse=True)
    final = ex[0]
    assert final.name == "org.apache.flink.runtime.JobException"
    assert final.message.startswith("org.apache.flink.runtime.JobException: Recovery is "
                                    "suppressed by FixedDelayRestartBackoffTimeStrategy")
    assert final.root_cause.startswith("harness.job.PerKeyCounter$PoisonRecordException")
    assert final.task_name is None and final.concurrent == 1
    assert all(e.name.endswith("PoisonRecordException") and e.task_name for e in ex[1:])
    assert R.parse_exceptions(rec("exceptions_empty")) == []


@pytest.mark.parametrize("name,status,ok,loc,cid", [
    ("savepoint_status_in_progress", "IN_PROGRESS", False, None, None),
    ("savepoint_status_completed", "COMPLETED", True, "file:/tmp/flinkdev/savepoints/", None),
    ("checkpoint_trigger_status_completed", "COMPLETED", True, None, 11),
    ("savepoint_status_failed", "COMPLETED", False, None, None),
])
def test_parse_async_operation(name, status, ok, loc, cid):
    op = R.parse_async_operation(rec(name))
    assert op.status == status and op.ok is ok and op.checkpoint_id == cid
    assert (op.location or "").startswith(loc or "")
    if name.endswith("failed"):
        assert op.failure == ("java.io.IOException: Failed to create savepoint directory at "
                              "file:/proc/definitely/not/writable")


def test_parse_metrics_and_source_offsets():
    assert R.parse_metric_values(rec("job_metrics")) == {"numRestarts": 1}
    multi = R.parse_metric_values(rec("vertex_metrics_agg_multi"))
    assert multi == {"numRecordsOut": {"max": 60, "sum": 100},
                     "numRecordsIn": {"max": 60, "sum": 100}}
    agg = R.parse_metric_values(rec("vertex_metrics_agg"))
    offs = R.parse_source_offsets(agg)
    assert offs == {("sc-in-d27361a0", 0): {"current": 39, "committed": -1},
                    ("sc-in-d27361a0", 1): {"current": 159, "committed": -1}}
    assert R.parse_source_offsets(multi) == {}
    # {agg: value} form picks max
    assert R.parse_source_offsets({"S.KafkaSourceReader.topic.a.b.partition.3.currentOffset":
                                   {"min": -1, "max": 7}}) == {("a.b", 3): {"current": 7}}


def test_source_offsets_via_client():
    listing = rec("vertex_metrics_list")
    c, s = client(("GET", rf"/jobs/{JOB}", rec("job_running")),
                  ("GET", rf"/jobs/{JOB}/vertices/[0-9a-f]+/subtasks/metrics",
                   lambda: listing if not s.calls[-1]["params"] else rec("vertex_metrics_agg")))
    offs = c.source_offsets(JOB)
    assert offs[("sc-in-d27361a0", 1)]["current"] == 159
    get = s.calls[-1]["params"]
    assert get["agg"] == "max" and len(get["get"].split(",")) == 4
    assert s.calls[-1]["path"].startswith(
        f"/jobs/{JOB}/vertices/{R.parse_job(rec('job_running')).vertices[0].id}/")


def test_parse_subtask_times_keeps_entered_states_of_current_attempt():
    times = R.parse_subtask_times(rec("subtasktimes"))
    assert list(times) == [0]
    ts = times[0]
    assert set(ts) == {"CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING"}
    assert ts["CREATED"] <= ts["SCHEDULED"] <= ts["DEPLOYING"] <= ts["INITIALIZING"] <= ts["RUNNING"]
    assert R.parse_subtask_times({}) == {}


def test_subtask_times_via_client():
    c, s = client(("GET", rf"/jobs/{JOB}/vertices/v1/subtasktimes", rec("subtasktimes")))
    assert c.subtask_times(JOB, "v1")[0]["RUNNING"] == 1795636791891
    assert s.calls[0]["path"] == f"/jobs/{JOB}/vertices/v1/subtasktimes"


def test_overview_taskmanagers_config_shapes():
    c, _ = client(("GET", r"/overview", rec("overview")),
                  ("GET", r"/taskmanagers", rec("taskmanagers")),
                  ("GET", r"/jobmanager/config", rec("jobmanager_config")))
    assert c.overview()["flink-version"] == "2.2.1"
    tms = c.taskmanagers()
    assert len(tms) == 1 and tms[0]["slotsNumber"] == 2
    assert c.cluster_config()["state.checkpoints.dir"] == "file:///tmp/flinkdev/ckpt"


# --------------------------------------------------------------------------- waits
def test_wait_for_state_running_requires_all_tasks(no_sleep):
    seq = iter([rec("job_restarting"), rec("job_running")])
    c, _ = client(("GET", rf"/jobs/[0-9a-f]+", lambda: next(seq)))
    j = c.wait_for_state(JOB, "RUNNING", timeout=10, all_tasks_running=True)
    assert j.all_tasks_running


def test_wait_for_state_terminal_raises_with_root_cause(no_sleep):
    c, _ = client(("GET", rf"/jobs/[0-9a-f]+", rec("job_failed")),
                  ("GET", rf"/jobs/[0-9a-f]+/exceptions", rec("exceptions")))
    with pytest.raises(JobTerminated) as ei:
        c.wait_for_state("e52c49a28671f7e2c20f2bb4a02d4b37", ("RUNNING",), timeout=10)
    assert ei.value.state == "FAILED"
    assert ei.value.cause.startswith("harness.job.PerKeyCounter$PoisonRecordException")


def test_wait_for_state_timeout(monkeypatch):
    clock = iter(range(0, 1000, 5))
    monkeypatch.setattr(R.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(R.time, "sleep", lambda _s: None)
    c, _ = client(("GET", rf"/jobs/[0-9a-f]+", rec("job_restarting")))
    with pytest.raises(FlinkTimeout, match="last seen: RESTARTING"):
        c.wait_for_state(JOB, "RUNNING", timeout=20)


def test_wait_for_checkpoints_new(no_sleep):
    base = rec("checkpoints")
    more = json.loads(json.dumps(base))
    more["counts"]["completed"] += 2
    seq = iter([base, base, more])
    c, _ = client(("GET", rf"/jobs/{JOB}/checkpoints", lambda: next(seq)),
                  ("GET", rf"/jobs/{JOB}", rec("job_running")))
    stats = c.wait_for_checkpoints(JOB, 2, timeout=10, new=True)
    assert stats.completed == base["counts"]["completed"] + 2


def test_wait_for_checkpoints_job_ended(no_sleep):
    c, _ = client(("GET", rf"/jobs/{JOB}/checkpoints", rec("checkpoints")),
                  ("GET", rf"/jobs/{JOB}", rec("job_failed")),
                  ("GET", rf"/jobs/{JOB}/exceptions", rec("exceptions_empty")))
    with pytest.raises(JobTerminated):
        c.wait_for_checkpoints(JOB, 100, timeout=10)

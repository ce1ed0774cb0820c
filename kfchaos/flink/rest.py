"""A small client for Flink's JobManager REST API (Flink 2.2), plus pure parsers for its replies.

Everything here talks HTTP/JSON only; there is no CLI scraping. The errors, request bodies,
reply shapes and pure parsers (``parse_*``, ``build_*``, ``root_cause``) live in
:mod:`kfchaos.flink.restmodel` and are re-exported here.

Endpoints used (all unversioned, i.e. REST API v1):

=========================================  =====================================================
``GET  /overview``                          cluster summary (task managers, slots, job counts)
``GET  /taskmanagers``                      registered task managers
``GET  /jobmanager/config``                 effective cluster configuration (key/value list)
``POST /jars/upload``                       multipart, field ``jarfile`` -> ``filename``
``GET  /jars`` / ``DELETE /jars/:jarid``    uploaded jars
``POST /jars/:jarid/run``                   JSON body, see :func:`build_run_body` -> ``jobid``
``GET  /jobs/overview``                     all jobs with state and times
``GET  /jobs/:jobid``                       details: state, timestamps per state, vertices
``PATCH /jobs/:jobid?mode=cancel``          cancel (202, empty body)
``POST /jobs/:jobid/stop``                  stop-with-savepoint -> ``request-id``
``POST /jobs/:jobid/savepoints``            trigger savepoint -> ``request-id``
``GET  /jobs/:jobid/savepoints/:triggerid`` status of a savepoint or stop
``POST /jobs/:jobid/checkpoints``           trigger a checkpoint -> ``request-id``
``GET  /jobs/:jobid/checkpoints/:triggerid`` status of a triggered checkpoint
``GET  /jobs/:jobid/checkpoints``           counts, latest completed/savepoint/failed/restored
``GET  /jobs/:jobid/exceptions``            exception history (root causes, timestamps)
``GET  /jobs/:jobid/vertices/:vid/subtasks/metrics?get=..&agg=..``  aggregated task metrics
``GET  /jobs/:jobid/vertices/:vid/subtasktimes``  per subtask: when its attempt entered each state
=========================================  =====================================================
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import requests

from .restmodel import (OFFSET_METRIC, TERMINAL_STATES, AsyncOperation, CheckpointInfo,
                        CheckpointStats, FlinkRestError, FlinkTimeout, FlinkUnavailable,
                        JobDetails, JobException, JobTerminated, RestoredCheckpoint, VertexInfo,
                        build_run_body, error_message, errors_of, new_trigger_id,
                        parse_async_operation, parse_checkpoints, parse_exceptions, parse_job,
                        parse_metric_values, parse_source_offsets, parse_subtask_times,
                        root_cause)

__all__ = [
    "TERMINAL_STATES", "FlinkRestError", "FlinkUnavailable", "FlinkTimeout", "JobTerminated",
    "FlinkRest", "JobDetails", "VertexInfo", "CheckpointInfo", "CheckpointStats",
    "RestoredCheckpoint", "JobException", "AsyncOperation", "root_cause", "error_message",
    "build_run_body", "parse_job", "parse_checkpoints", "parse_exceptions",
    "parse_async_operation", "parse_metric_values", "parse_source_offsets",
    "parse_subtask_times", "new_trigger_id",
]

ResponseHook = Callable[[str, str, int, Any], None]


# --------------------------------------------------------------------------- the client
class FlinkRest:
    """Flink JobManager REST client.

    ``base_url`` like ``http://127.0.0.1:38081``. ``on_response(method, path, status, body)``
    is called for every reply (used to record fixtures and for debugging).
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0,
                 session: requests.Session | None = None,
                 on_response: ResponseHook | None = None,
                 headers: Mapping[str, str] | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        if headers:                                          # e.g. an external target's auth header
            self.session.headers.update(dict(headers))
        self.on_response = on_response

    def __repr__(self) -> str:
        return f"FlinkRest({self.base_url!r})"

    # -- plumbing ------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, files: Any = None, timeout: float | None = None) -> Any:
        url = self.base_url + path
        try:
            resp = self.session.request(method, url, params=params, json=json, files=files,
                                        timeout=timeout or self.timeout)
        except requests.RequestException as e:
            raise FlinkUnavailable(method, path, None,
                                   f"{type(e).__name__}: {e} (is the JobManager up at "
                                   f"{self.base_url}?)") from e
        body: Any
        if resp.content:
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
        else:
            body = None
        if self.on_response:
            self.on_response(method, path, resp.status_code, body)
        if resp.status_code >= 400:
            errors = errors_of(body)
            detail = "\n".join(errors) if errors else (body if isinstance(body, str) else "")
            msg = error_message(errors) if errors else (resp.reason or "error")
            raise FlinkRestError(method, path, resp.status_code, msg, detail)
        return body

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    # -- cluster -------------------------------------------------------------
    def overview(self) -> dict:
        """``{"taskmanagers", "slots-total", "slots-available", "jobs-running", ...,
        "flink-version"}``."""
        return self.get("/overview")

    def taskmanagers(self) -> list[dict]:
        return list((self.get("/taskmanagers") or {}).get("taskmanagers") or [])

    def cluster_config(self) -> dict[str, str]:
        return {e["key"]: e["value"] for e in self.get("/jobmanager/config") or ()}

    # -- jars ----------------------------------------------------------------
    def upload_jar(self, path: str | Path) -> str:
        """Upload a jar; returns its id (``<uuid>_<filename>``) for :meth:`run_jar`."""
        path = Path(path)
        with open(path, "rb") as fh:
            body = self.request("POST", "/jars/upload",
                                files={"jarfile": (path.name, fh, "application/x-java-archive")},
                                timeout=max(self.timeout, 120))
        if not isinstance(body, dict) or body.get("status") != "success":
            raise FlinkRestError("POST", "/jars/upload", 200, f"unexpected reply {body!r}")
        return Path(str(body["filename"])).name

    def jars(self) -> list[dict]:
        return list((self.get("/jars") or {}).get("files") or [])

    def delete_jar(self, jar_id: str) -> None:
        self.request("DELETE", f"/jars/{jar_id}")

    def run_jar(self, jar_id: str, *, entry_class: str | None = None, args: Sequence[str] = (),
                parallelism: int | None = None, savepoint_path: str | None = None,
                allow_non_restored_state: bool | None = None, claim_mode: str | None = None,
                flink_configuration: Mapping[str, str] | None = None,
                timeout: float | None = None) -> str:
        """Submit a job from an uploaded jar; returns the job id.

        The job's ``main`` runs inside the JobManager and the JobMaster is started before this
        returns, so both an exception in ``main`` (bad arguments: HTTP 500) and a savepoint
        that cannot be restored (e.g. state of an operator uid missing from the new program
        without allowNonRestoredState: HTTP 400) come back as :class:`FlinkRestError` whose
        message is the root cause. Failures after start (a task throwing) show up later as
        job state FAILED/RESTARTING (see :meth:`wait_for_state`).
        """
        body = build_run_body(entry_class=entry_class, args=args, parallelism=parallelism,
                              savepoint_path=savepoint_path,
                              allow_non_restored_state=allow_non_restored_state,
                              claim_mode=claim_mode, flink_configuration=flink_configuration)
        reply = self.request("POST", f"/jars/{jar_id}/run", json=body,
                             timeout=timeout or max(self.timeout, 120))
        return str(reply["jobid"])

    # -- jobs ----------------------------------------------------------------
    def jobs(self) -> list[dict]:
        """``GET /jobs/overview``: ``[{"jid", "name", "state", "start-time", ...}]``."""
        return list((self.get("/jobs/overview") or {}).get("jobs") or [])

    def job_raw(self, job_id: str) -> dict:
        return self.get(f"/jobs/{job_id}")

    def job(self, job_id: str) -> JobDetails:
        return parse_job(self.job_raw(job_id))

    def job_state(self, job_id: str) -> str:
        return self.job(job_id).state

    def cancel(self, job_id: str) -> None:
        """Request cancellation (asynchronous: wait for CANCELED with :meth:`wait_for_state`)."""
        self.request("PATCH", f"/jobs/{job_id}", params={"mode": "cancel"})

    # async operations
    def _trigger(self, path: str, body: dict) -> str:
        """POST a trigger; on a connection error re-send once with the same triggerId."""
        try:
            reply = self.request("POST", path, json=body)
        except FlinkUnavailable:
            time.sleep(1.0)
            reply = self.request("POST", path, json=body)
        return str(reply["request-id"])

    def savepoint_status(self, job_id: str, trigger_id: str) -> AsyncOperation:
        return parse_async_operation(self.get(f"/jobs/{job_id}/savepoints/{trigger_id}"))

    def checkpoint_status(self, job_id: str, trigger_id: str) -> AsyncOperation:
        return parse_async_operation(self.get(f"/jobs/{job_id}/checkpoints/{trigger_id}"))

    def _await(self, poll: Callable[[], AsyncOperation], what: str, timeout: float,
               interval: float = 0.5) -> AsyncOperation:
        deadline = time.monotonic() + timeout
        while True:
            op = poll()
            if op.done:
                return op
            if time.monotonic() >= deadline:
                raise FlinkTimeout(f"{what} still {op.status or 'pending'} after {timeout:.0f}s")
            time.sleep(interval)

    def trigger_savepoint(self, job_id: str, *, target_directory: str | None = None,
                          cancel_job: bool = False, format_type: str | None = None,
                          trigger_id: str | None = None) -> str:
        """Start a savepoint; returns the trigger id (see :meth:`savepoint`)."""
        body: dict[str, Any] = {"cancel-job": bool(cancel_job),
                                "triggerId": trigger_id or new_trigger_id()}
        if target_directory:
            body["target-directory"] = target_directory
        if format_type:
            body["formatType"] = format_type.upper()
        return self._trigger(f"/jobs/{job_id}/savepoints", body)

    def savepoint(self, job_id: str, *, target_directory: str | None = None,
                  cancel_job: bool = False, format_type: str | None = None,
                  timeout: float = 120.0) -> str:
        """Take a savepoint and wait for it; returns its location. Raises
        :class:`FlinkRestError` (status None) with the root cause when it failed."""
        tid = self.trigger_savepoint(job_id, target_directory=target_directory,
                                     cancel_job=cancel_job, format_type=format_type)
        op = self._await(lambda: self.savepoint_status(job_id, tid),
                         f"savepoint {tid} of job {job_id}", timeout)
        if not op.ok or not op.location:
            raise FlinkRestError("POST", f"/jobs/{job_id}/savepoints", None,
                                 f"savepoint failed: {op.failure or 'no location'}")
        return op.location

    def trigger_stop(self, job_id: str, *, target_directory: str | None = None,
                     drain: bool = False, format_type: str | None = None,
                     trigger_id: str | None = None) -> str:
        body: dict[str, Any] = {"drain": bool(drain), "triggerId": trigger_id or new_trigger_id()}
        if target_directory:
            body["targetDirectory"] = target_directory
        if format_type:
            body["formatType"] = format_type.upper()
        return self._trigger(f"/jobs/{job_id}/stop", body)

    def stop_with_savepoint(self, job_id: str, *, target_directory: str | None = None,
                            drain: bool = False, format_type: str | None = None,
                            timeout: float = 120.0) -> str:
        """Stop the job with a final savepoint; returns the savepoint location once the job
        has reached FINISHED. If the savepoint fails the job keeps running and this raises."""
        tid = self.trigger_stop(job_id, target_directory=target_directory, drain=drain,
                                format_type=format_type)
        t0 = time.monotonic()
        op = self._await(lambda: self.savepoint_status(job_id, tid),
                         f"stop-with-savepoint {tid} of job {job_id}", timeout)
        if not op.ok or not op.location:
            raise FlinkRestError("POST", f"/jobs/{job_id}/stop", None,
                                 f"stop-with-savepoint failed: {op.failure or 'no location'}")
        self.wait_for_state(job_id, ("FINISHED",),
                            timeout=max(5.0, timeout - (time.monotonic() - t0)))
        return op.location

    def trigger_checkpoint(self, job_id: str, *, checkpoint_type: str | None = None,
                           trigger_id: str | None = None) -> str:
        """``checkpoint_type``: CONFIGURED (default) | FULL | INCREMENTAL."""
        body: dict[str, Any] = {"triggerId": trigger_id or new_trigger_id()}
        if checkpoint_type:
            body["checkpointType"] = checkpoint_type.upper()
        return self._trigger(f"/jobs/{job_id}/checkpoints", body)

    def checkpoint(self, job_id: str, *, checkpoint_type: str | None = None,
                   timeout: float = 120.0) -> int:
        """Trigger a checkpoint and wait for it; returns the checkpoint id."""
        tid = self.trigger_checkpoint(job_id, checkpoint_type=checkpoint_type)
        op = self._await(lambda: self.checkpoint_status(job_id, tid),
                         f"checkpoint {tid} of job {job_id}", timeout)
        if not op.ok or op.checkpoint_id is None:
            raise FlinkRestError("POST", f"/jobs/{job_id}/checkpoints", None,
                                 f"checkpoint failed: {op.failure or 'no checkpoint id'}")
        return op.checkpoint_id

    # statistics
    def checkpoints(self, job_id: str) -> CheckpointStats:
        return parse_checkpoints(self.get(f"/jobs/{job_id}/checkpoints"))

    def exceptions(self, job_id: str, max_exceptions: int = 20) -> list[JobException]:
        return parse_exceptions(self.get(f"/jobs/{job_id}/exceptions",
                                         maxExceptions=max_exceptions))

    def vertex_metrics(self, job_id: str, vertex_id: str, names: Iterable[str] | None = None,
                       *, agg: str | Sequence[str] | None = "sum") -> dict[str, Any]:
        """Task metrics of one vertex aggregated over its subtasks (``agg``: min, max, sum,
        avg, or several). ``names=None`` lists the available metric ids (values empty).

        Note: the JobManager caches metrics (``metrics.fetcher.update-interval``, 10 s by
        default), so values lag by up to that long.
        """
        path = f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/metrics"
        if names is None:
            return {m["id"]: None for m in self.get(path) or ()}
        params: dict[str, str] = {"get": ",".join(names)}
        if agg:
            params["agg"] = agg if isinstance(agg, str) else ",".join(agg)
        return parse_metric_values(self.get(path, **params))

    def subtask_times(self, job_id: str, vertex_id: str) -> dict[int, dict[str, int]]:
        """Per subtask, when its current attempt entered each state (see
        :func:`parse_subtask_times`)."""
        return parse_subtask_times(self.get(f"/jobs/{job_id}/vertices/{vertex_id}/subtasktimes"))

    def source_offsets(self, job_id: str, source_name: str = "kafka-source"
                       ) -> dict[tuple[str, int], dict[str, int]]:
        """Per-partition ``currentOffset``/``committedOffset`` gauges of a KafkaSource vertex
        (the owning subtask's value; ``{}`` if the vertex or metrics are not there yet)."""
        v = self.job(job_id).vertex(source_name)
        if v is None:
            return {}
        names = [n for n in self.vertex_metrics(job_id, v.id, None)
                 if OFFSET_METRIC.search(n)]
        if not names:
            return {}
        return parse_source_offsets(self.vertex_metrics(job_id, v.id, names, agg="max"))

    # waits
    def wait_for_state(self, job_id: str, states: str | Iterable[str], timeout: float = 60.0,
                       *, interval: float = 0.5, all_tasks_running: bool = False) -> JobDetails:
        """Poll until the job is in one of ``states``. With ``all_tasks_running`` a RUNNING job
        must also have every subtask RUNNING (the job reports RUNNING while tasks are still
        being deployed). Raises :class:`JobTerminated` if it reaches a terminal state not asked
        for (with the newest exception as cause), :class:`FlinkTimeout` on timeout."""
        wanted = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        last: JobDetails | None = None
        while True:
            try:
                last = self.job(job_id)
            except FlinkUnavailable:
                last = None  # JobManager restarting: keep polling until the deadline
            if last is not None:
                if last.state in wanted and (not all_tasks_running or last.state != "RUNNING"
                                             or last.all_tasks_running):
                    return last
                if last.terminal and last.state not in wanted:
                    raise JobTerminated(job_id, last.state, self._newest_cause(job_id))
            if time.monotonic() >= deadline:
                seen = last.state if last else "unreachable"
                raise FlinkTimeout(f"job {job_id} not in {sorted(wanted)} after {timeout:.0f}s "
                                   f"(last seen: {seen})")
            time.sleep(interval)

    def _newest_cause(self, job_id: str) -> str | None:
        try:
            ex = self.exceptions(job_id, max_exceptions=1)
        except FlinkRestError:
            return None
        return ex[0].root_cause if ex else None

    def wait_for_checkpoints(self, job_id: str, n: int = 1, timeout: float = 60.0, *,
                             new: bool = False, interval: float = 0.5) -> CheckpointStats:
        """Wait until the job has ``n`` completed checkpoints (``new=True``: ``n`` more than when
        called). Raises :class:`JobTerminated` if the job ends first."""
        base = self.checkpoints(job_id).completed if new else 0
        deadline = time.monotonic() + timeout
        while True:
            stats = self.checkpoints(job_id)
            if stats.completed >= base + n:
                return stats
            job = self.job(job_id)
            if job.terminal:
                raise JobTerminated(job_id, job.state, self._newest_cause(job_id))
            if time.monotonic() >= deadline:
                raise FlinkTimeout(
                    f"job {job_id}: {stats.completed - base} of {n} checkpoints completed after "
                    f"{timeout:.0f}s ({stats.failed} failed"
                    + (f", last failure: {stats.latest_failed.failure_message}"
                       if stats.latest_failed else "") + ")")
            time.sleep(interval)

"""A small client for Flink's JobManager REST API (Flink 2.2), plus pure parsers for its replies.

Everything here talks HTTP/JSON only; there is no CLI scraping. The parsers (``parse_*``,
``build_*``, ``root_cause``) are pure functions over the JSON shapes that a real Flink 2.2.1
returns (recorded in ``harness/flink/recorded/``), so they are unit-tested offline.

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
=========================================  =====================================================
"""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import requests

__all__ = [
    "TERMINAL_STATES", "FlinkRestError", "FlinkUnavailable", "FlinkTimeout", "JobTerminated",
    "FlinkRest", "JobDetails", "VertexInfo", "CheckpointInfo", "CheckpointStats",
    "RestoredCheckpoint", "JobException", "AsyncOperation", "root_cause", "error_message",
    "build_run_body", "parse_job", "parse_checkpoints", "parse_exceptions",
    "parse_async_operation", "parse_metric_values", "parse_source_offsets", "new_trigger_id",
]

#: Globally terminal job states: the job will never run again under this id.
TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})

ResponseHook = Callable[[str, str, int, Any], None]


# --------------------------------------------------------------------------- errors
class FlinkRestError(RuntimeError):
    """A non-2xx reply. ``str(e)`` is one line; ``detail`` holds Flink's full error text."""

    def __init__(self, method: str, path: str, status: int | None, message: str,
                 detail: str = ""):
        self.method, self.path, self.status = method, path, status
        self.message, self.detail = message, detail
        where = f"{method} {path}" + (f" -> HTTP {status}" if status is not None else "")
        super().__init__(f"Flink REST {where}: {message}")


class FlinkUnavailable(FlinkRestError):
    """The REST endpoint could not be reached (connection refused/reset, read timeout)."""


class FlinkTimeout(TimeoutError):
    """A wait (job state, checkpoints, async operation) ran out of time."""


class JobTerminated(RuntimeError):
    """A wait found the job in a terminal state it was not waiting for."""

    def __init__(self, job_id: str, state: str, cause: str | None):
        self.job_id, self.state, self.cause = job_id, state, cause
        super().__init__(f"job {job_id} is {state}" + (f": {cause}" if cause else ""))


_CAUSED_BY = re.compile(r"^\s*Caused by:\s*(.+)$")
_WRAPPERS = ("java.util.concurrent.CompletionException: ",
             "java.util.concurrent.ExecutionException: ")
_GENERIC = {"internal server error.", "internal server error", ""}


def root_cause(text: str) -> str:
    """The most specific line of a Java error text: the last ``Caused by:`` (else the first
    line), without ``<Exception on server side:`` framing and JDK future wrappers."""
    if not text:
        return ""
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    if lines and lines[0].strip().startswith("<Exception on server side"):
        lines = lines[1:]
    if not lines:
        return ""
    causes = [m.group(1).strip() for ln in lines if (m := _CAUSED_BY.match(ln))]
    line = causes[-1] if causes else lines[0].strip()
    changed = True
    while changed:
        changed = False
        for w in _WRAPPERS:
            if line.startswith(w) and len(line) > len(w):
                line, changed = line[len(w):], True
    return line.rstrip(">").strip()


def _errors_of(body: Any) -> list[str]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [str(e) for e in body["errors"]]
    return []


def error_message(errors: Sequence[str]) -> str:
    """One line out of a Flink ``{"errors": [...]}`` list: the root cause of the most specific
    entry (Flink puts a generic "Internal server error." first and the trace second)."""
    best = ""
    for e in errors:
        rc = root_cause(e)
        if rc.lower() not in _GENERIC:
            best = rc
    return best or (root_cause(errors[0]) if errors else "")


# --------------------------------------------------------------------------- request building
def build_run_body(*, entry_class: str | None = None, args: Sequence[str] = (),
                   parallelism: int | None = None, savepoint_path: str | None = None,
                   allow_non_restored_state: bool | None = None,
                   claim_mode: str | None = None, job_id: str | None = None,
                   flink_configuration: Mapping[str, str] | None = None) -> dict:
    """JSON body of ``POST /jars/:jarid/run`` (JarRunRequestBody).

    ``args`` goes into ``programArgsList`` (one element per argument, so values may contain
    spaces). ``claim_mode`` is ``CLAIM``/``NO_CLAIM`` (Flink 2 name of the restore mode);
    Flink ignores unknown fields, so a wrong name is silently dropped: keep to these.
    """
    body: dict[str, Any] = {"programArgsList": [str(a) for a in args]}
    if entry_class:
        body["entryClass"] = entry_class
    if parallelism is not None:
        if int(parallelism) < 1:
            raise ValueError(f"parallelism must be >= 1, got {parallelism}")
        body["parallelism"] = int(parallelism)
    if savepoint_path:
        body["savepointPath"] = str(savepoint_path)
    if allow_non_restored_state is not None:
        body["allowNonRestoredState"] = bool(allow_non_restored_state)
    if claim_mode:
        mode = claim_mode.upper()
        if mode not in ("CLAIM", "NO_CLAIM"):
            raise ValueError(f"claim_mode must be CLAIM or NO_CLAIM, got {claim_mode!r}")
        body["claimMode"] = mode
    if job_id:
        body["jobId"] = job_id
    if flink_configuration:
        body["flinkConfiguration"] = {str(k): str(v) for k, v in flink_configuration.items()}
    return body


def new_trigger_id() -> str:
    """A client-chosen trigger id (32 hex): re-sending a trigger with the same id after a
    connection error does not start a second savepoint/checkpoint."""
    return uuid.uuid4().hex


# --------------------------------------------------------------------------- parsed shapes
def _ms(v: Any) -> int | None:
    """Flink uses -1 / 0 for 'not yet'; map those to None."""
    try:
        iv = int(v)
    except (TypeError, ValueError):
        return None
    return iv if iv > 0 else None


@dataclass(frozen=True)
class VertexInfo:
    id: str
    name: str
    parallelism: int
    status: str
    tasks: dict[str, int] = field(default_factory=dict)

    @property
    def all_running(self) -> bool:
        return self.status == "RUNNING" and self.tasks.get("RUNNING", 0) == self.parallelism


@dataclass(frozen=True)
class JobDetails:
    id: str
    name: str
    state: str
    start_time: int | None
    end_time: int | None
    duration_ms: int | None
    now: int | None
    timestamps: dict[str, int]          # state -> epoch ms when last entered (absent if never)
    vertices: tuple[VertexInfo, ...]
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def all_tasks_running(self) -> bool:
        return self.state == "RUNNING" and bool(self.vertices) and all(
            v.all_running for v in self.vertices)

    def vertex(self, name_part: str) -> VertexInfo | None:
        """The first vertex whose name contains ``name_part`` (e.g. ``"kafka-source"``)."""
        for v in self.vertices:
            if name_part in v.name:
                return v
        return None


def parse_job(raw: Mapping[str, Any]) -> JobDetails:
    """``GET /jobs/:jobid``."""
    ts = {str(k): int(v) for k, v in (raw.get("timestamps") or {}).items() if _ms(v)}
    verts = tuple(
        VertexInfo(id=str(v.get("id")), name=str(v.get("name", "")),
                   parallelism=int(v.get("parallelism", 0) or 0),
                   status=str(v.get("status", "")),
                   tasks={str(k): int(n) for k, n in (v.get("tasks") or {}).items()})
        for v in raw.get("vertices") or ())
    return JobDetails(id=str(raw.get("jid", "")), name=str(raw.get("name", "")),
                      state=str(raw.get("state", "")), start_time=_ms(raw.get("start-time")),
                      end_time=_ms(raw.get("end-time")),
                      duration_ms=(int(raw["duration"]) if isinstance(raw.get("duration"), int)
                                   and raw["duration"] >= 0 else None),
                      now=_ms(raw.get("now")), timestamps=ts, vertices=verts, raw=dict(raw))


@dataclass(frozen=True)
class CheckpointInfo:
    """One entry of ``latest.completed|savepoint|failed`` or ``history``."""
    id: int
    status: str                      # COMPLETED | FAILED | IN_PROGRESS
    is_savepoint: bool
    checkpoint_type: str | None      # CHECKPOINT | SAVEPOINT | SYNC_SAVEPOINT | UNALIGNED_CHECKPOINT
    trigger_timestamp: int | None
    latest_ack_timestamp: int | None
    end_to_end_duration_ms: int | None
    state_size: int | None
    external_path: str | None
    failure_timestamp: int | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class RestoredCheckpoint:
    """``latest.restored``: what the current execution of the job was restored from."""
    id: int
    restore_timestamp: int | None
    is_savepoint: bool
    external_path: str | None


@dataclass(frozen=True)
class CheckpointStats:
    restored: int                     # how many times this job restored (failover or savepoint)
    total: int
    in_progress: int
    completed: int
    failed: int
    latest_completed: CheckpointInfo | None
    latest_savepoint: CheckpointInfo | None
    latest_failed: CheckpointInfo | None
    latest_restored: RestoredCheckpoint | None
    history: tuple[CheckpointInfo, ...]
    raw: dict = field(repr=False, default_factory=dict)


def _checkpoint_info(c: Mapping[str, Any] | None) -> CheckpointInfo | None:
    if not c:
        return None
    return CheckpointInfo(
        id=int(c.get("id", -1)), status=str(c.get("status", "")),
        is_savepoint=bool(c.get("is_savepoint", False)),
        checkpoint_type=c.get("checkpoint_type"),
        trigger_timestamp=_ms(c.get("trigger_timestamp")),
        latest_ack_timestamp=_ms(c.get("latest_ack_timestamp")),
        end_to_end_duration_ms=(int(c["end_to_end_duration"])
                                if isinstance(c.get("end_to_end_duration"), int) else None),
        state_size=int(c["state_size"]) if isinstance(c.get("state_size"), int) else None,
        external_path=c.get("external_path") or None,
        failure_timestamp=_ms(c.get("failure_timestamp")),
        failure_message=c.get("failure_message"))


def parse_checkpoints(raw: Mapping[str, Any]) -> CheckpointStats:
    """``GET /jobs/:jobid/checkpoints``."""
    counts = raw.get("counts") or {}
    latest = raw.get("latest") or {}
    r = latest.get("restored")
    restored = None
    if r:
        restored = RestoredCheckpoint(id=int(r.get("id", -1)),
                                      restore_timestamp=_ms(r.get("restore_timestamp")),
                                      is_savepoint=bool(r.get("is_savepoint", False)),
                                      external_path=r.get("external_path") or None)
    history = tuple(ci for ci in (_checkpoint_info(h) for h in raw.get("history") or ()) if ci)
    return CheckpointStats(
        restored=int(counts.get("restored", 0)), total=int(counts.get("total", 0)),
        in_progress=int(counts.get("in_progress", 0)),
        completed=int(counts.get("completed", 0)), failed=int(counts.get("failed", 0)),
        latest_completed=_checkpoint_info(latest.get("completed")),
        latest_savepoint=_checkpoint_info(latest.get("savepoint")),
        latest_failed=_checkpoint_info(latest.get("failed")),
        latest_restored=restored, history=history, raw=dict(raw))


@dataclass(frozen=True)
class JobException:
    """One root-cause entry of the exception history (newest first in Flink's reply)."""
    name: str                  # Java class, e.g. java.lang.RuntimeException
    message: str               # the first line of the stack trace
    timestamp: int | None      # epoch ms when the failure was handled
    task_name: str | None      # None for global failures (e.g. JobManager-side)
    endpoint: str | None
    task_manager_id: str | None
    failure_labels: dict[str, str]
    concurrent: int            # how many further exceptions came with it
    root_cause: str = ""       # the innermost "Caused by:" (else the message)
    stacktrace: str = field(repr=False, default="")


def parse_exceptions(raw: Mapping[str, Any]) -> list[JobException]:
    """``GET /jobs/:jobid/exceptions`` (Flink 2: only ``exceptionHistory``), newest first."""
    hist = raw.get("exceptionHistory") or {}
    out = []
    for e in hist.get("entries") or ():
        st = str(e.get("stacktrace") or "")
        first = st.splitlines()[0].strip() if st else str(e.get("exceptionName", ""))
        out.append(JobException(
            name=str(e.get("exceptionName", "")), message=first,
            timestamp=_ms(e.get("timestamp")), task_name=e.get("taskName"),
            endpoint=e.get("endpoint"), task_manager_id=e.get("taskManagerId"),
            failure_labels=dict(e.get("failureLabels") or {}),
            concurrent=len(e.get("concurrentExceptions") or ()),
            root_cause=root_cause(st) or first, stacktrace=st))
    out.sort(key=lambda x: x.timestamp or 0, reverse=True)
    return out


@dataclass(frozen=True)
class AsyncOperation:
    """Status of ``/jobs/:jobid/savepoints/:triggerid`` or ``/checkpoints/:triggerid``."""
    status: str                     # IN_PROGRESS | COMPLETED
    location: str | None = None     # savepoint path on success
    checkpoint_id: int | None = None
    failure: str | None = None      # root cause when the operation failed

    @property
    def done(self) -> bool:
        return self.status == "COMPLETED"

    @property
    def ok(self) -> bool:
        return self.done and self.failure is None


def parse_async_operation(raw: Mapping[str, Any]) -> AsyncOperation:
    status = str((raw.get("status") or {}).get("id", ""))
    op = raw.get("operation") or {}
    failure = None
    fc = op.get("failure-cause")
    if fc:
        st = fc.get("stack-trace") or fc.get("serialized-throwable") or ""
        failure = root_cause(str(st)) or str(fc.get("class", "failed"))
    cid = op.get("checkpointId")
    return AsyncOperation(status=status, location=op.get("location"),
                          checkpoint_id=int(cid) if cid is not None else None, failure=failure)


def _num(v: Any) -> float | str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return int(f) if f.is_integer() else f


def parse_metric_values(raw: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A metrics reply (``[{"id":..,"value":..}]`` or aggregated ``[{"id":..,"sum":..}]``) as
    ``{id: number}``, or ``{id: {agg: number}}`` when several aggregations were asked for."""
    out: dict[str, Any] = {}
    for m in raw or ():
        mid = str(m.get("id"))
        if "value" in m:
            out[mid] = _num(m["value"])
        else:
            aggs = {k: _num(v) for k, v in m.items() if k != "id"}
            out[mid] = next(iter(aggs.values())) if len(aggs) == 1 else aggs
    return out


_OFFSET_METRIC = re.compile(
    r"(?:^|\.)KafkaSourceReader\.topic\.(?P<topic>.+)\.partition\.(?P<partition>\d+)\."
    r"(?P<kind>currentOffset|committedOffset)$")


def parse_source_offsets(metrics: Mapping[str, Any]) -> dict[tuple[str, int], dict[str, int]]:
    """Pick the KafkaSource's per-partition offset gauges out of task metrics.

    ``currentOffset`` is the offset of the last record the reader emitted; ``committedOffset``
    the offset (next to read) committed to Kafka on the last completed checkpoint. Both are
    -1 until known. Returns ``{(topic, partition): {"current": n, "committed": m}}``.
    """
    out: dict[tuple[str, int], dict[str, int]] = {}
    for mid, val in metrics.items():
        m = _OFFSET_METRIC.search(mid)
        if not m:
            continue
        if isinstance(val, dict):   # several aggregations: the owner subtask has the max
            val = val.get("max", next(iter(val.values()), None))
        try:
            v = int(float(val))
        except (TypeError, ValueError):
            continue
        key = (m.group("topic"), int(m.group("partition")))
        kind = "current" if m.group("kind") == "currentOffset" else "committed"
        out.setdefault(key, {})[kind] = v
    return out


# --------------------------------------------------------------------------- the client
class FlinkRest:
    """Flink JobManager REST client.

    ``base_url`` like ``http://127.0.0.1:38081``. ``on_response(method, path, status, body)``
    is called for every reply (used to record fixtures and for debugging).
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0,
                 session: requests.Session | None = None,
                 on_response: ResponseHook | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
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
            errors = _errors_of(body)
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

    def source_offsets(self, job_id: str, source_name: str = "kafka-source"
                       ) -> dict[tuple[str, int], dict[str, int]]:
        """Per-partition ``currentOffset``/``committedOffset`` gauges of a KafkaSource vertex
        (the owning subtask's value; ``{}`` if the vertex or metrics are not there yet)."""
        v = self.job(job_id).vertex(source_name)
        if v is None:
            return {}
        names = [n for n in self.vertex_metrics(job_id, v.id, None)
                 if _OFFSET_METRIC.search(n)]
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

"""Flink REST (2.2) without HTTP: errors, request bodies, reply shapes and their pure parsers.

Split out of :mod:`kfchaos.flink.rest`, which re-exports every public name here. The parsers
(``parse_*``, ``build_*``, ``root_cause``) are pure functions over the JSON shapes that a real
Flink 2.2 returns (recorded in ``kfchaos/flink/recorded/``), so they are unit-tested offline.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "TERMINAL_STATES", "FlinkRestError", "FlinkUnavailable", "FlinkTimeout", "JobTerminated",
    "JobDetails", "VertexInfo", "CheckpointInfo", "CheckpointStats", "RestoredCheckpoint",
    "JobException", "AsyncOperation", "root_cause", "error_message", "build_run_body",
    "parse_job", "parse_checkpoints", "parse_exceptions", "parse_async_operation",
    "parse_metric_values", "parse_source_offsets", "parse_subtask_times", "new_trigger_id",
    "OFFSET_METRIC", "errors_of",
]

#: Globally terminal job states: the job will never run again under this id.
TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})



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


def errors_of(body: Any) -> list[str]:
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


OFFSET_METRIC = re.compile(
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
        m = OFFSET_METRIC.search(mid)
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


def parse_subtask_times(raw: Mapping[str, Any]) -> dict[int, dict[str, int]]:
    """``GET /jobs/:jobid/vertices/:vid/subtasktimes``: per subtask index, the epoch ms at
    which its *current* execution attempt entered each state (states never entered are left
    out). After a failover these are the new attempt's times, so the newest ``RUNNING`` over
    all subtasks is when the job was fully running again."""
    out: dict[int, dict[str, int]] = {}
    for s in raw.get("subtasks") or ():
        ts = {str(k): int(v) for k, v in (s.get("timestamps") or {}).items() if _ms(v)}
        out[int(s.get("subtask", len(out)))] = ts
    return out

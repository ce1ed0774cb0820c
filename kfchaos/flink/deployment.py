"""What a job lifecycle deals in: releases, deployments, savepoints, the history it writes
to, its errors, and when a job counts as healthy (kfchaos.flink.lifecycle uses them)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol

from .rest import FlinkRest, FlinkRestError

PROCESS = "flink"
VARIANTS = ("good", "crash", "incompatible-state", "at-least-once", "slow")


@dataclass(frozen=True)
class Release:
    """One release of a user's job: its jar, entry class and argument template. Template
    fields are the lifecycle's ``job_args`` with ``-`` written ``_`` (``{input_topic}``)."""
    jar: Path
    entry_class: str
    args: tuple[str, ...] = ()

    def argv(self, values: Mapping[str, str]) -> list[str]:
        fields = {k.replace("-", "_"): v for k, v in values.items()}
        return [a.format_map(fields) for a in self.args]


class HistoryLike(Protocol):
    def invoke(self, process: str, f: str, value: Any = None) -> dict: ...
    def ok(self, process: str, f: str, value: Any = None) -> dict: ...
    def fail(self, process: str, f: str, value: Any = None) -> dict: ...
    def info(self, process: str, f: str, value: Any = None) -> dict: ...


class _NoHistory:
    def _op(self, type_: str, process: str, f: str, value: Any = None) -> dict:
        return {"type": type_, "process": process, "f": f, "value": value}

    def invoke(self, process, f, value=None):
        return self._op("invoke", process, f, value)

    def ok(self, process, f, value=None):
        return self._op("ok", process, f, value)

    def fail(self, process, f, value=None):
        return self._op("fail", process, f, value)

    def info(self, process, f, value=None):
        return self._op("info", process, f, value)


class LifecycleError(RuntimeError):
    """A lifecycle action could not be carried out (one line: what and why)."""


class DeploymentFailed(LifecycleError):
    """The job was submitted (or not) but never became healthy-RUNNING."""

    def __init__(self, message: str, deployment: "Deployment | None" = None):
        super().__init__(message)
        self.deployment = deployment


@dataclass
class Deployment:
    variant: str
    args: dict[str, str]
    job_id: str | None = None
    savepoint: str | None = None             # restored from (None = fresh)
    allow_non_restored_state: bool = False
    parallelism: int | None = None
    submitted_at: float = 0.0                # wall clock, seconds
    running_at: float | None = None
    state: str = "SUBMITTING"                # last state seen
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Savepoint:
    path: str
    job_id: str
    variant: str
    args: Mapping[str, str]
    taken_at: float
    good: bool
    reason: str                              # why (not) good
    kind: str = "savepoint"                  # savepoint | stop

    def to_dict(self) -> dict:
        d = asdict(self)
        d["args"] = dict(self.args)
        return d


def is_healthy(rest: FlinkRest, job_id: str, window_s: float = 5.0) -> tuple[bool, str]:
    """(healthy, reason): RUNNING, all subtasks RUNNING, no failure within ``window_s``."""
    try:
        job = rest.job(job_id)
    except FlinkRestError as e:
        return False, f"job not readable: {e}"
    if job.state != "RUNNING":
        return False, f"job is {job.state}"
    if not job.all_tasks_running:
        pending = [v.name for v in job.vertices if not v.all_running]
        return False, f"subtasks not all RUNNING: {pending}"
    try:
        excs = rest.exceptions(job_id, max_exceptions=1)
    except FlinkRestError as e:
        return False, f"exceptions not readable: {e}"
    now_ms = job.now or int(time.time() * 1000)
    if excs and excs[0].timestamp and now_ms - excs[0].timestamp < window_s * 1000:
        return False, (f"failed {(now_ms - excs[0].timestamp) / 1000:.1f}s ago: "
                       f"{excs[0].root_cause}")
    return True, "running, all subtasks up" + (
        f", last failure {(now_ms - excs[0].timestamp) / 1000:.0f}s ago"
        if excs and excs[0].timestamp else ", no failures")


def _args_list(args: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for k, v in args.items():
        if v is None:
            continue
        out += [f"--{k}", str(v)]
    return out



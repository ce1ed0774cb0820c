"""Job lifecycle over the REST API: deploy, upgrade, rollback, cancel, savepoint, checkpoint,
each recorded into the operation history, plus recovery measurement.

History
-------
Every action is one ``invoke`` followed by exactly one completion on process ``"flink"``
(no nesting, so the history stays well-formed for one process):

========== ============================================================================
f          meaning
========== ============================================================================
deploy     submit a variant without state (fresh start from committed offsets/earliest)
restore    submit a variant from a savepoint/checkpoint path (``deploy(savepoint=...)``)
upgrade    stop-with-savepoint of the current job, then restore the new variant from it
rollback   cancel the current job, restore the last known-good variant from the last
           known-good savepoint
cancel     cancel the current job
stop       stop the current job with a savepoint (e.g. before moving it to another cluster)
savepoint  take a savepoint of the current job (job keeps running)
checkpoint trigger a checkpoint of the current job
========== ============================================================================

Completions: ``ok`` = took effect (job RUNNING with all tasks, savepoint written, ...);
``fail`` = definitely did not take effect (REST refused, job went FAILED, savepoint failed);
``info`` = outcome unknown (timeout, JobManager unreachable after the request was sent).

"Known-good"
------------
A savepoint is *good* when, just before it was taken, its job was healthy: state RUNNING,
every subtask RUNNING, and no failure recorded in the exception history within
``healthy_window_s`` seconds (server clock). ``rollback()`` goes back to the newest good one
and to the variant/arguments of the job that produced it.

Recovery measurement
--------------------
:meth:`JobLifecycle.recovery_metrics` and :func:`recovery_metrics` (re-exported here) live
in :mod:`kfchaos.flink.recovery`, which documents what is and isn't measurable over REST.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping

from .deployment import (PROCESS, VARIANTS, Deployment, DeploymentFailed, HistoryLike, LifecycleError, Release,
                         Savepoint, _args_list, _NoHistory, is_healthy)
from .recovery import RecoveryMetrics, estimate_replayed, recovery_metrics
from .rest import (TERMINAL_STATES, FlinkRest, FlinkRestError, FlinkTimeout, FlinkUnavailable,
                   JobTerminated)

__all__ = [
    "VARIANTS", "Release", "HistoryLike", "LifecycleError", "DeploymentFailed", "Deployment", "Savepoint",
    "JobLifecycle", "RecoveryMetrics", "recovery_metrics", "estimate_replayed", "is_healthy",
]


class JobLifecycle:
    """Deploy/upgrade/rollback one job (the reference job by default) on a Flink cluster.

    ``job_args``: arguments common to every deployment, without dashes, e.g.
    ``{"bootstrap": "kafka-a:9092", "input-topic": "in", "output-topic": "out",
    "group": "g", "txn-prefix": "t"}``; ``deploy(variant, args=...)`` overrides per call.
    ``jar``: path of the job jar; None builds it with :func:`kfchaos.flink.jobjar.build_job_jar`.
    ``releases``: a user's job instead of the reference job: variant name (``good`` is the
    one in production, ``next`` the release to move to) -> :class:`Release`; each variant
    then runs its own jar and argument template, and ``--variant`` is not passed.
    ``history``: any object with ``invoke/ok/fail/info(process, f, value)``.
    """

    def __init__(self, rest: FlinkRest | str, jar: str | Path | None = None, *,
                 job_args: Mapping[str, Any] | None = None, history: HistoryLike | None = None,
                 entry_class: str | None = None, parallelism: int | None = None,
                 savepoint_dir: str | None = None, running_timeout: float = 120.0,
                 savepoint_timeout: float = 180.0, healthy_window_s: float = 5.0,
                 process: str = PROCESS, releases: Mapping[str, Release] | None = None):
        from .jobjar import ENTRY_CLASS
        self.rest = FlinkRest(rest) if isinstance(rest, str) else rest
        self.jar = Path(jar) if jar else None
        self.job_args = {str(k): str(v) for k, v in (job_args or {}).items() if v is not None}
        self.history: HistoryLike = history if history is not None else _NoHistory()
        self.entry_class = entry_class or ENTRY_CLASS
        self.parallelism = parallelism
        self.savepoint_dir = savepoint_dir
        self.running_timeout = running_timeout
        self.savepoint_timeout = savepoint_timeout
        self.healthy_window_s = healthy_window_s
        self.process = process
        self.jar_id: str | None = None
        self.releases = dict(releases or {})
        self._release_jar_ids: dict[str, str] = {}
        self.current: Deployment | None = None
        self.deployments: list[Deployment] = []
        self.savepoints: list[Savepoint] = []

    # -- state ---------------------------------------------------------------
    @property
    def job_id(self) -> str | None:
        return self.current.job_id if self.current else None

    @property
    def last_good(self) -> Savepoint | None:
        for sp in reversed(self.savepoints):
            if sp.good:
                return sp
        return None

    def mark_good(self, path: str, variant: str | None = None,
                  args: Mapping[str, str] | None = None) -> Savepoint:
        """Declare an externally obtained savepoint/checkpoint path known-good."""
        cur = self.current
        sp = Savepoint(path=path, job_id=cur.job_id if cur and cur.job_id else "",
                       variant=variant or (cur.variant if cur else "good"),
                       args=dict(args if args is not None else (cur.args if cur else {})),
                       taken_at=time.time(), good=True, reason="marked good by caller",
                       kind="external")
        self.savepoints.append(sp)
        return sp

    # -- helpers -------------------------------------------------------------
    def ensure_jar(self, force_upload: bool = False) -> str:
        if self.jar_id and not force_upload:
            return self.jar_id
        if self.jar is None:
            from .jobjar import build_job_jar
            self.jar = build_job_jar()
        self.jar_id = self.rest.upload_jar(self.jar)
        return self.jar_id

    def forget_uploads(self, jar: str | Path | None = None) -> None:
        """A new JobManager holds none of the earlier uploads: upload again on the next submit
        (``jar``: the reference job's jar from now on, e.g. its build for another release)."""
        if jar is not None:
            self.jar = Path(jar)
        self.jar_id = None
        self._release_jar_ids.clear()

    def _jar_id(self, variant: str, force_upload: bool) -> str:
        """The uploaded jar of ``variant`` (each release's own jar; else the reference jar)."""
        rel = self.releases.get(variant)
        if rel is None:
            return self.ensure_jar(force_upload)
        if force_upload or variant not in self._release_jar_ids:
            self._release_jar_ids[variant] = self.rest.upload_jar(rel.jar)
        return self._release_jar_ids[variant]

    def _merged_args(self, variant: str, args: Mapping[str, Any] | None) -> dict[str, str]:
        known = tuple(self.releases) if self.releases else VARIANTS
        if variant not in known:
            raise ValueError(f"unknown variant {variant!r}; expected one of {known}")
        merged = dict(self.job_args)
        merged.update({str(k): str(v) for k, v in (args or {}).items() if v is not None})
        if not self.releases:
            merged["variant"] = variant
        return merged

    def _submission(self, dep: "Deployment") -> tuple[str, list[str]]:
        """(entry class, program arguments) of a deployment."""
        rel = self.releases.get(dep.variant)
        if rel is None:
            return self.entry_class, _args_list(dep.args)
        return rel.entry_class, rel.argv(dep.args)

    def _require_current(self, action: str) -> Deployment:
        if not self.current or not self.current.job_id:
            raise LifecycleError(f"cannot {action}: no job deployed by this lifecycle")
        return self.current

    def _submit(self, dep: Deployment, wait: bool, timeout: float | None) -> Deployment:
        """run_jar + wait for healthy RUNNING. Raises DeploymentFailed / FlinkTimeout /
        FlinkUnavailable; fills ``dep`` either way."""
        entry, argv = self._submission(dep)
        kwargs = dict(entry_class=entry, args=argv,
                      parallelism=dep.parallelism, savepoint_path=dep.savepoint,
                      allow_non_restored_state=dep.allow_non_restored_state or None)
        for attempt in (1, 2):
            try:
                dep.job_id = self.rest.run_jar(self._jar_id(dep.variant, attempt == 2), **kwargs)
                break
            except FlinkUnavailable:
                raise
            except FlinkRestError as e:
                if attempt == 1 and ("does not exist" in e.message or e.status == 404):
                    continue  # JobManager restarted and lost its uploads: upload again, once
                dep.state, dep.error = "REJECTED", e.message
                self.deployments.append(dep)
                raise DeploymentFailed(f"job submission rejected: {e.message}", dep) from e
        self.deployments.append(dep)
        self.current = dep
        if not wait:
            dep.state = "SUBMITTED"
            return dep
        try:
            details = self.rest.wait_for_state(dep.job_id, ("RUNNING",),
                                               timeout=timeout or self.running_timeout,
                                               all_tasks_running=True)
        except JobTerminated as e:
            dep.state, dep.error = e.state, e.cause
            raise DeploymentFailed(
                f"{dep.variant} job {dep.job_id} went {e.state} instead of RUNNING"
                + (f": {e.cause}" if e.cause else ""), dep) from e
        dep.state = details.state
        dep.running_at = time.time()
        return dep

    def _restored_info(self, job_id: str) -> dict | None:
        try:
            r = self.rest.checkpoints(job_id).latest_restored
        except FlinkRestError:
            return None
        return asdict(r) if r else None

    def _take_savepoint(self, dep: Deployment, kind: str, *, drain: bool = False,
                        timeout: float | None = None) -> Savepoint:
        good, reason = is_healthy(self.rest, dep.job_id, self.healthy_window_s)
        t = timeout or self.savepoint_timeout
        if kind == "stop":
            path = self.rest.stop_with_savepoint(dep.job_id, target_directory=self.savepoint_dir,
                                                 drain=drain, timeout=t)
            dep.state = "FINISHED"
        else:
            path = self.rest.savepoint(dep.job_id, target_directory=self.savepoint_dir,
                                       timeout=t)
        sp = Savepoint(path=path, job_id=dep.job_id, variant=dep.variant, args=dict(dep.args),
                       taken_at=time.time(), good=good, reason=reason, kind=kind)
        self.savepoints.append(sp)
        return sp

    def _complete_error(self, f: str, base: dict, e: BaseException) -> None:
        """fail when the action definitely did not take effect, info when unknown."""
        value = {**base, "error": str(e).splitlines()[0] if str(e) else type(e).__name__}
        if isinstance(e, (FlinkTimeout, FlinkUnavailable)):
            self.history.info(self.process, f, value)
        else:
            self.history.fail(self.process, f, value)

    # -- actions -------------------------------------------------------------
    def deploy(self, variant: str = "good", args: Mapping[str, Any] | None = None,
               savepoint: str | None = None, *, allow_non_restored_state: bool = False,
               parallelism: int | None = None, wait: bool = True,
               timeout: float | None = None) -> Deployment:
        """Submit ``variant`` (from ``savepoint`` if given: recorded as f="restore") and wait
        until it is RUNNING with all subtasks. Refuses while a job of this lifecycle is still
        running: use :meth:`upgrade` or :meth:`cancel` first."""
        if self.current and self.current.job_id:
            try:
                st = self.rest.job_state(self.current.job_id)
            except FlinkRestError:
                st = None
            if st is not None and st not in TERMINAL_STATES:
                raise LifecycleError(f"job {self.current.job_id} ({self.current.variant}) is "
                                     f"still {st}; cancel() or upgrade() instead of deploy()")
        merged = self._merged_args(variant, args)
        f = "restore" if savepoint else "deploy"
        dep = Deployment(variant=variant, args=merged, savepoint=savepoint,
                         allow_non_restored_state=allow_non_restored_state,
                         parallelism=parallelism or self.parallelism, submitted_at=time.time())
        base = {"variant": variant, "savepoint": savepoint,
                "allow_non_restored_state": allow_non_restored_state,
                "parallelism": dep.parallelism}
        self.history.invoke(self.process, f, dict(base))
        try:
            self._submit(dep, wait, timeout)
        except Exception as e:
            self._complete_error(f, {**base, "job_id": dep.job_id, "state": dep.state}, e)
            raise
        value = {**base, "job_id": dep.job_id, "state": dep.state}
        if savepoint and wait:
            value["restored"] = self._restored_info(dep.job_id)
        self.history.ok(self.process, f, value)
        return dep

    def upgrade(self, variant: str, args: Mapping[str, Any] | None = None, *,
                drain: bool = False, allow_non_restored_state: bool = False,
                parallelism: int | None = None, timeout: float | None = None) -> Deployment:
        """Stop the current job with a savepoint, then run ``variant`` from that savepoint.
        ``args`` override the current deployment's arguments."""
        cur = self._require_current("upgrade")
        merged = self._merged_args(variant, {**cur.args, **(args or {})})
        base = {"from_variant": cur.variant, "from_job_id": cur.job_id, "to_variant": variant,
                "drain": drain, "allow_non_restored_state": allow_non_restored_state}
        self.history.invoke(self.process, "upgrade", dict(base))
        try:
            sp = self._take_savepoint(cur, "stop", drain=drain)
        except Exception as e:
            self._complete_error("upgrade", {**base, "stage": "stop-with-savepoint"}, e)
            raise
        base.update(savepoint=sp.path, savepoint_good=sp.good)
        dep = Deployment(variant=variant, args=merged, savepoint=sp.path,
                         allow_non_restored_state=allow_non_restored_state,
                         parallelism=parallelism or cur.parallelism, submitted_at=time.time())
        try:
            self._submit(dep, True, timeout)
        except Exception as e:
            self._complete_error("upgrade", {**base, "stage": "restore", "job_id": dep.job_id,
                                             "state": dep.state}, e)
            raise
        self.history.ok(self.process, "upgrade", {**base, "job_id": dep.job_id,
                                                  "state": dep.state,
                                                  "restored": self._restored_info(dep.job_id)})
        return dep

    def stop(self, *, drain: bool = False) -> Savepoint:
        """Stop the current job with a savepoint (recorded as f="stop"); the job ends FINISHED."""
        cur = self._require_current("stop")
        base = {"variant": cur.variant, "job_id": cur.job_id, "drain": drain}
        self.history.invoke(self.process, "stop", dict(base))
        try:
            sp = self._take_savepoint(cur, "stop", drain=drain)
        except Exception as e:
            self._complete_error("stop", base, e)
            raise
        self.history.ok(self.process, "stop", {**base, "savepoint": sp.path, "savepoint_good": sp.good})
        return sp

    def rollback(self, *, timeout: float | None = None) -> Deployment:
        """Cancel the current job (if still running) and run the last known-good variant from
        the last known-good savepoint."""
        good = self.last_good
        cur = self.current
        base = {"from_variant": cur.variant if cur else None,
                "from_job_id": cur.job_id if cur else None,
                "to_variant": good.variant if good else None,
                "savepoint": good.path if good else None}
        self.history.invoke(self.process, "rollback", dict(base))
        if good is None:
            err = LifecycleError("cannot roll back: no known-good savepoint yet (take one with "
                                 "savepoint() or upgrade() from a healthy job)")
            self.history.fail(self.process, "rollback", {**base, "error": str(err)})
            raise err
        try:
            if cur and cur.job_id:
                base["cancelled"] = self._cancel_job(cur)
            dep = Deployment(variant=good.variant, args=dict(good.args), savepoint=good.path,
                             parallelism=self.parallelism, submitted_at=time.time())
            self._submit(dep, True, timeout)
        except Exception as e:
            self._complete_error("rollback", base, e)
            raise
        self.history.ok(self.process, "rollback", {**base, "job_id": dep.job_id,
                                                   "state": dep.state,
                                                   "restored": self._restored_info(dep.job_id)})
        return dep

    def _cancel_job(self, dep: Deployment, timeout: float = 60.0) -> str:
        """Cancel unless already terminal; returns the final state."""
        st = self.rest.job_state(dep.job_id)
        if st not in TERMINAL_STATES:
            if st != "CANCELLING":
                self.rest.cancel(dep.job_id)
            st = self.rest.wait_for_state(dep.job_id, TERMINAL_STATES, timeout=timeout).state
        dep.state = st
        return st

    def cancel(self, *, timeout: float = 60.0) -> str:
        """Cancel the current job and wait for a terminal state (returned)."""
        cur = self._require_current("cancel")
        base = {"variant": cur.variant, "job_id": cur.job_id}
        self.history.invoke(self.process, "cancel", dict(base))
        try:
            st = self._cancel_job(cur, timeout)
        except Exception as e:
            self._complete_error("cancel", base, e)
            raise
        self.history.ok(self.process, "cancel", {**base, "state": st})
        return st

    def savepoint(self, *, timeout: float | None = None) -> Savepoint:
        """Savepoint of the current job (which keeps running); good if the job was healthy."""
        cur = self._require_current("take a savepoint")
        base = {"variant": cur.variant, "job_id": cur.job_id}
        self.history.invoke(self.process, "savepoint", dict(base))
        try:
            sp = self._take_savepoint(cur, "savepoint", timeout=timeout)
        except Exception as e:
            self._complete_error("savepoint", base, e)
            raise
        self.history.ok(self.process, "savepoint", {**base, "path": sp.path, "good": sp.good,
                                                    "reason": sp.reason})
        return sp

    def checkpoint(self, *, timeout: float = 120.0) -> int:
        """Trigger a checkpoint of the current job and wait for it; returns its id."""
        cur = self._require_current("trigger a checkpoint")
        base = {"variant": cur.variant, "job_id": cur.job_id}
        self.history.invoke(self.process, "checkpoint", dict(base))
        try:
            cid = self.rest.checkpoint(cur.job_id, timeout=timeout)
        except Exception as e:
            self._complete_error("checkpoint", base, e)
            raise
        self.history.ok(self.process, "checkpoint", {**base, "checkpoint_id": cid})
        return cid

    # -- observation (not recorded) -----------------------------------------
    def wait_for_checkpoints(self, n: int = 1, timeout: float = 60.0, *, new: bool = True):
        cur = self._require_current("wait for checkpoints")
        return self.rest.wait_for_checkpoints(cur.job_id, n, timeout, new=new)

    def healthy(self) -> tuple[bool, str]:
        cur = self._require_current("check health")
        return is_healthy(self.rest, cur.job_id, self.healthy_window_s)

    def recovery_metrics(self, **kw: Any) -> "RecoveryMetrics":
        cur = self._require_current("measure recovery")
        return recovery_metrics(self.rest, cur.job_id, **kw)

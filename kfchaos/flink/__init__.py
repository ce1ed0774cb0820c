"""Flink side of the harness: the reference job's jar, a REST client, the job lifecycle.

* :mod:`kfchaos.flink.jobjar`    -- ``build_job_jar()``: cached Maven build of ``kfchaos/flink/job/`` (package data)
* :mod:`kfchaos.flink.rest`      -- ``FlinkRest``: Flink 2.2 REST API client (re-exports the
  errors, reply shapes and parsers of :mod:`kfchaos.flink.restmodel`)
* :mod:`kfchaos.flink.lifecycle` -- ``JobLifecycle``: deploy/upgrade/rollback/cancel/savepoint
  recorded into the history (re-exports :mod:`kfchaos.flink.recovery`)
* :mod:`kfchaos.flink.recovery`  -- ``recovery_metrics()``, ``estimate_replayed()``: what a
  failover cost, as far as REST shows it
"""
from .jobjar import ENTRY_CLASS, JobJarBuildError, build_job_jar
from .lifecycle import (VARIANTS, Deployment, DeploymentFailed, JobLifecycle, LifecycleError,
                        RecoveryMetrics, Savepoint, estimate_replayed, is_healthy,
                        recovery_metrics)
from .rest import (TERMINAL_STATES, FlinkRest, FlinkRestError, FlinkTimeout, FlinkUnavailable,
                   JobTerminated)

__all__ = [
    "ENTRY_CLASS", "JobJarBuildError", "build_job_jar",
    "VARIANTS", "Deployment", "DeploymentFailed", "JobLifecycle", "LifecycleError",
    "RecoveryMetrics", "Savepoint", "estimate_replayed", "is_healthy", "recovery_metrics",
    "TERMINAL_STATES", "FlinkRest", "FlinkRestError", "FlinkTimeout", "FlinkUnavailable",
    "JobTerminated",
]

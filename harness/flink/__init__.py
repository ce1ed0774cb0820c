"""Flink side of the harness: the reference job's jar, a REST client, the job lifecycle.

* :mod:`harness.flink.jobjar`    -- ``build_job_jar()``: cached Maven build of ``flink-job/``
* :mod:`harness.flink.rest`      -- ``FlinkRest``: Flink 2.2 REST API client + reply parsers
* :mod:`harness.flink.lifecycle` -- ``JobLifecycle``: deploy/upgrade/rollback/cancel/savepoint
  recorded into the history; ``recovery_metrics()``
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

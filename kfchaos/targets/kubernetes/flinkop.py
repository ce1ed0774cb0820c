"""Flink jobs through the Apache Flink Kubernetes Operator: deploy, upgrade and roll back by
patching the ``FlinkDeployment``; progress from ``status.lifecycleState`` and
``status.jobStatus.state``.

``upgrade`` remembers the job spec it replaced; ``rollback`` restores it (the harness's
rollback). Where the deployment enables the operator's own rollback
(``kubernetes.operator.deployment.rollback.enabled: "true"``), ``wait_rolled_back`` waits for
the operator to reach ``ROLLED_BACK`` instead.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from ..actuators import ActuatorError
from .client import reason

GROUP, VERSION, PLURAL = "flink.apache.org", "v1beta1", "flinkdeployments"
UPGRADE_MODES = ("savepoint", "last-state", "stateless")
ROLLBACK_KEY = "kubernetes.operator.deployment.rollback.enabled"
HEALTHY = ("STABLE", "DEPLOYED")


@dataclass(frozen=True)
class FlinkStatus:
    lifecycle: str | None
    job_state: str | None
    error: str | None = None

    def __str__(self) -> str:
        return f"lifecycleState {self.lifecycle}, job {self.job_state}" + (f", error {self.error}" if self.error else "")


class FlinkOperator:
    def __init__(self, api_client, namespace: str, name: str, poll: float = 0.5):
        from kubernetes import client
        self.custom = client.CustomObjectsApi(api_client)
        self.namespace, self.name, self.poll = namespace, name, poll
        self.previous_job: dict | None = None

    def get(self) -> dict:
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, self.name)
        except Exception as exc:
            raise ActuatorError(f"FlinkDeployment {self.namespace}/{self.name} cannot be read ({reason(exc)}); check "
                                "kubernetes.flink_deployment and that the Flink operator's CRDs are installed") from None

    def status(self) -> FlinkStatus:
        st = self.get().get("status") or {}
        return FlinkStatus(st.get("lifecycleState"), (st.get("jobStatus") or {}).get("state"), st.get("error"))

    def operator_rollback_enabled(self) -> bool:
        conf = (self.get().get("spec") or {}).get("flinkConfiguration") or {}
        return str(conf.get(ROLLBACK_KEY, "false")).lower() == "true"

    def _patch(self, body: dict) -> dict:
        try:
            return self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, self.name, body)
        except Exception as exc:
            raise ActuatorError(f"FlinkDeployment {self.namespace}/{self.name}: patch refused ({reason(exc)})") from None

    def upgrade(self, upgrade_mode: str = "savepoint", jar_uri: str | None = None, args: list[str] | None = None,
                parallelism: int | None = None, image: str | None = None) -> dict:
        """Patch the job spec (the operator upgrades the job with ``upgrade_mode``); returns the new object."""
        if upgrade_mode not in UPGRADE_MODES:
            raise ValueError(f"upgradeMode {upgrade_mode!r}: use one of {', '.join(UPGRADE_MODES)}")
        current = self.get()
        self.previous_job = copy.deepcopy((current.get("spec") or {}).get("job") or {})
        self._previous_image = (current.get("spec") or {}).get("image")
        job: dict = {"upgradeMode": upgrade_mode, "state": "running"}
        if jar_uri is not None:
            job["jarURI"] = jar_uri
        if args is not None:
            job["args"] = list(args)
        if parallelism is not None:
            job["parallelism"] = int(parallelism)
        body: dict = {"spec": {"job": job}}
        if image is not None:
            body["spec"]["image"] = image
        return self._patch(body)

    def rollback(self) -> dict:
        """The harness's rollback: restore the job spec (and image) that the last upgrade replaced."""
        if self.previous_job is None:
            raise ActuatorError(f"FlinkDeployment {self.namespace}/{self.name}: nothing to roll back to (no upgrade "
                                "by this run)")
        body: dict = {"spec": {"job": {**{k: None for k in ("jarURI", "args", "parallelism", "entryClass")},
                                       **self.previous_job}}}
        if getattr(self, "_previous_image", None):
            body["spec"]["image"] = self._previous_image
        out = self._patch(body)
        self.previous_job = None
        return out

    def wait(self, want, timeout: float = 300, what: str = "") -> FlinkStatus:
        """Poll the status until ``want(FlinkStatus)``; ActuatorError with the last status if not in time."""
        deadline, st = time.monotonic() + timeout, None
        while True:
            st = self.status()
            if want(st):
                return st
            if time.monotonic() >= deadline:
                raise ActuatorError(f"FlinkDeployment {self.namespace}/{self.name} did not become {what or 'ready'} "
                                    f"within {timeout:.0f}s (last: {st})")
            time.sleep(self.poll)

    def wait_stable(self, timeout: float = 300) -> FlinkStatus:
        return self.wait(lambda s: s.lifecycle == "STABLE" and s.job_state == "RUNNING", timeout, "STABLE and RUNNING")

    def wait_rolled_back(self, timeout: float = 300) -> FlinkStatus:
        return self.wait(lambda s: s.lifecycle == "ROLLED_BACK", timeout, "ROLLED_BACK")


FAILED_JOB = ("FAILED", "FAILING")


def recover_bad_deploy(op: FlinkOperator, timeout: float = 300) -> tuple[str, FlinkStatus]:
    """After a bad upgrade: the operator's own rollback where the deployment enables it (wait for
    ROLLED_BACK), else the harness's (wait until the job fails, restore the replaced job spec, wait
    for STABLE and RUNNING). Returns ("operator" | "harness", the final status)."""
    if op.operator_rollback_enabled():
        return "operator", op.wait_rolled_back(timeout)
    op.wait(lambda s: s.job_state in FAILED_JOB or s.lifecycle == "FAILED" or bool(s.error), timeout,
            "FAILED (the bad version)")
    op.rollback()
    return "harness", op.wait_stable(timeout)

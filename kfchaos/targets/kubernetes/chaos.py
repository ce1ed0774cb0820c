"""Chaos Mesh faults as custom resources, their proof of effect and of heal.

One resource per fault (a zone cut of one zone from the others is one ``NetworkChaos``
per other zone), each labelled with the run id and the fault id, so that ``kfchaos clean
--target FILE`` finds what a crashed run left. A fault is *started* when Chaos Mesh reports
the conditions ``Selected`` and ``AllInjected``; if it does not within
``kubernetes.chaos_timeout`` seconds the fault "did not start" (``FaultDidNotStart``),
which makes the verdict unknown. Healing pauses the resource (the annotation
``experiment.chaos-mesh.org/pause``), waits for ``AllRecovered`` and deletes it; a
resource held by a finalizer is reported with the ``kubectl patch`` that removes it.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from ..actuators import ActuatorError
from .client import kubectl_prefix, reason

GROUP, VERSION = "chaos-mesh.org", "v1alpha1"
KINDS = {"PodChaos": "podchaos", "NetworkChaos": "networkchaos", "IOChaos": "iochaos"}
MANAGED_BY = ("app.kubernetes.io/managed-by", "kafka-chaos-harness")
RUN_LABEL = "chaos-harness.io/run"
FAULT_LABEL = "chaos-harness.io/fault"
PAUSE_ANNOTATION = "experiment.chaos-mesh.org/pause"
DIRECTIONS = ("to", "from", "both")
NETWORK_ACTIONS = ("partition", "delay", "loss", "bandwidth")


class FaultDidNotStart(RuntimeError):
    """A Chaos Mesh resource never reported it was injected: the fault did not start (verdict unknown)."""


def label_value(text: str) -> str:
    v = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")
    return v or "x"


def resource_name(run_id: str, fault: str, seq: int) -> str:
    base = re.sub(r"[^a-z0-9-]", "-", f"chaos-{run_id}-{fault}".lower())
    return f"{base[:55].strip('-')}-{seq}"


# ---- selectors -----------------------------------------------------------------------------
def pods_selector(namespace: str, names: list[str]) -> dict:
    return {"pods": {namespace: list(names)}}


def zone_selector(namespace: str, labels: dict[str, str], zone: str, zone_label: str) -> dict:
    """Pods matching ``labels`` in ``namespace`` whose node carries ``zone_label=zone``."""
    return {"namespaces": [namespace], "labelSelectors": dict(labels), "nodeSelectors": {zone_label: zone}}


# ---- manifests -----------------------------------------------------------------------------
def manifest(kind: str, name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind,
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pod_failure(selector: dict, duration: str | None = None) -> tuple[str, dict]:
    spec = {"action": "pod-failure", "mode": "all", "selector": selector}
    if duration:
        spec["duration"] = duration
    return "PodChaos", spec


def container_kill(selector: dict, containers: list[str]) -> tuple[str, dict]:
    return "PodChaos", {"action": "container-kill", "mode": "all", "selector": selector,
                        "containerNames": list(containers)}


def partition(selector: dict, target: dict | None = None, direction: str = "both",
              external: list[str] | None = None) -> tuple[str, dict]:
    """Cut ``selector``'s pods from ``target``'s (``direction`` to/from/both; ``to`` alone is a
    one-way cut) or from external hosts (``externalTargets``, e.g. the object store)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r}: use one of {', '.join(DIRECTIONS)}")
    spec = {"action": "partition", "mode": "all", "selector": selector, "direction": direction}
    if target is not None:
        spec["target"] = {"mode": "all", "selector": target}
    if external:
        spec["externalTargets"] = list(external)
    if target is None and not external:
        raise ValueError("a partition needs a target selector or external targets")
    return "NetworkChaos", spec


def delay(selector: dict, latency_ms: int, jitter_ms: int = 0, target: dict | None = None) -> tuple[str, dict]:
    spec = {"action": "delay", "mode": "all", "selector": selector, "direction": "to",
            "delay": {"latency": f"{int(latency_ms)}ms", "jitter": f"{int(jitter_ms)}ms", "correlation": "0"}}
    if target is not None:
        spec["target"] = {"mode": "all", "selector": target}
    return "NetworkChaos", spec


def loss(selector: dict, percent: float, target: dict | None = None) -> tuple[str, dict]:
    spec = {"action": "loss", "mode": "all", "selector": selector, "direction": "to",
            "loss": {"loss": f"{percent:g}", "correlation": "0"}}
    if target is not None:
        spec["target"] = {"mode": "all", "selector": target}
    return "NetworkChaos", spec


def bandwidth(selector: dict, rate: str, limit: int = 20971520, buffer: int = 10000) -> tuple[str, dict]:
    return "NetworkChaos", {"action": "bandwidth", "mode": "all", "selector": selector, "direction": "to",
                            "bandwidth": {"rate": rate, "limit": limit, "buffer": buffer}}


def io_fault(selector: dict, volume_path: str, errno: int = 28, percent: int = 100,
             path: str | None = None) -> tuple[str, dict]:
    """IOChaos: I/O under ``volume_path`` fails with ``errno`` (28: ENOSPC, a full disk)."""
    spec = {"action": "fault", "mode": "all", "selector": selector, "volumePath": volume_path, "errno": errno,
            "percent": percent}
    if path:
        spec["path"] = path
    return "IOChaos", spec


# ---- running them --------------------------------------------------------------------------
@dataclass
class ChaosResource:
    kind: str
    namespace: str
    name: str
    fault: str
    created: float = field(default_factory=time.monotonic)
    injected_after: float | None = None
    recovered_after: float | None = None

    @property
    def plural(self) -> str:
        return KINDS[self.kind]


def conditions(obj: dict) -> dict[str, str]:
    return {c.get("type"): c.get("status") for c in (obj.get("status") or {}).get("conditions") or []}


def finalizer_command(spec, kind: str, namespace: str, name: str) -> str:
    return (f"{kubectl_prefix(spec)} -n {namespace} patch {KINDS[kind]}.{GROUP} {name} --type=merge "
            "-p '{\"metadata\":{\"finalizers\":null}}'")


class ChaosMesh:
    """Creates, proves and heals the run's Chaos Mesh resources in ``spec.chaos_namespace``."""

    def __init__(self, api_client, spec, run_id: str, poll: float = 0.25):
        from kubernetes import client
        self.spec, self.run_id, self.poll = spec, run_id, poll
        self.custom = client.CustomObjectsApi(api_client)
        self.active: list[ChaosResource] = []
        self._seq = 0

    def labels(self, fault: str) -> dict[str, str]:
        return {MANAGED_BY[0]: MANAGED_BY[1], RUN_LABEL: label_value(self.run_id), FAULT_LABEL: label_value(fault)}

    def build(self, fault: str, kind_spec: tuple[str, dict]) -> dict:
        kind, spec = kind_spec
        self._seq += 1
        m = manifest(kind, resource_name(self.run_id, fault, self._seq), self.spec.chaos_namespace, spec)
        m["metadata"]["labels"] = self.labels(fault)
        return m

    def create(self, fault: str, kind_spec: tuple[str, dict], dry_run: bool = False) -> ChaosResource:
        """Create the resource (server-side validated); ``dry_run``: validate only, create nothing."""
        m = self.build(fault, kind_spec)
        kind = m["kind"]
        try:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, m["metadata"]["namespace"], KINDS[kind], m,
                                                        **({"dry_run": "All"} if dry_run else {}))
        except Exception as exc:
            raise ActuatorError(f"{kind} {m['metadata']['name']} for {fault} was refused by the API server "
                                f"({reason(exc)})") from None
        res = ChaosResource(kind, m["metadata"]["namespace"], m["metadata"]["name"], fault)
        if not dry_run:
            self.active.append(res)
        return res

    def get(self, res: ChaosResource) -> dict | None:
        from kubernetes.client.exceptions import ApiException
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, res.namespace, res.plural, res.name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _wait(self, res: ChaosResource, want: dict[str, str], timeout: float) -> dict | None:
        deadline, obj = time.monotonic() + timeout, None
        while True:
            obj = self.get(res)
            have = conditions(obj or {})
            if obj is not None and all(have.get(k) == v for k, v in want.items()):
                return obj
            if time.monotonic() >= deadline:
                return obj
            time.sleep(self.poll)

    def start(self, fault: str, kind_spec: tuple[str, dict], timeout: float | None = None) -> ChaosResource:
        """Create and wait for Selected + AllInjected; FaultDidNotStart (and the resource removed) if not."""
        res = self.create(fault, kind_spec)
        timeout = self.spec.chaos_timeout if timeout is None else timeout
        obj = self._wait(res, {"Selected": "True", "AllInjected": "True"}, timeout)
        have = conditions(obj or {})
        if have.get("Selected") == "True" and have.get("AllInjected") == "True":
            res.injected_after = time.monotonic() - res.created
            return res
        self.heal(res, timeout=min(timeout, 10))
        seen = ", ".join(f"{k}={v}" for k, v in sorted(have.items())) or "no conditions"
        why = ("it selected no pod" if have.get("Selected") == "False" else
               "is Chaos Mesh's controller running?" if not have else "the injection did not complete")
        raise FaultDidNotStart(f"{fault}: {res.kind} {res.namespace}/{res.name} did not report AllInjected within "
                               f"{timeout:.0f}s ({seen}; {why}): the fault did not start")

    def heal(self, res: ChaosResource, timeout: float | None = None) -> str | None:
        """Pause, wait for AllRecovered, delete, wait until gone. Returns a problem line, or None."""
        from kubernetes.client.exceptions import ApiException
        timeout = self.spec.chaos_timeout if timeout is None else timeout
        problem = None
        try:
            self.custom.patch_namespaced_custom_object(GROUP, VERSION, res.namespace, res.plural, res.name,
                                                       {"metadata": {"annotations": {PAUSE_ANNOTATION: "true"}}})
            obj = self._wait(res, {"AllRecovered": "True"}, timeout)
            if obj is not None and conditions(obj).get("AllRecovered") == "True":
                res.recovered_after = time.monotonic() - res.created
            elif obj is not None and conditions(obj).get("AllInjected") == "True":
                problem = (f"{res.kind} {res.namespace}/{res.name} did not report AllRecovered within "
                           f"{timeout:.0f}s: the fault may still be in effect")
        except ApiException as exc:
            if exc.status != 404:
                problem = f"{res.kind} {res.namespace}/{res.name} could not be paused ({reason(exc)})"
        problem = self.delete(res, timeout) or problem
        if res in self.active:
            self.active.remove(res)
        return problem

    def delete(self, res: ChaosResource, timeout: float = 30) -> str | None:
        from kubernetes.client.exceptions import ApiException
        try:
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, res.namespace, res.plural, res.name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            return f"{res.kind} {res.namespace}/{res.name} could not be deleted ({reason(exc)})"
        deadline = time.monotonic() + timeout
        obj = self.get(res)
        while obj is not None and time.monotonic() < deadline:
            time.sleep(self.poll)
            obj = self.get(res)
        if obj is None:
            return None
        fins = obj.get("metadata", {}).get("finalizers") or []
        return (f"{res.kind} {res.namespace}/{res.name} is stuck on finalizer(s) {', '.join(fins) or '?'} "
                f"{timeout:.0f}s after its deletion; remove them with: "
                f"{finalizer_command(self.spec, res.kind, res.namespace, res.name)}")

    def heal_all(self) -> list[str]:
        """Heal every resource this run still has (teardown); returns problem lines."""
        return [p for p in (self.heal(r) for r in list(reversed(self.active))) if p]


def sweep(api_client, spec, run_id: str | None = None, timeout: float = 30, poll: float = 0.25) -> list[str]:
    """Delete every Chaos Mesh resource the harness labelled (only ``run_id``'s if given) in the
    chaos namespace; report those stuck on a finalizer with the command that removes it."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    custom = client.CustomObjectsApi(api_client)
    selector = f"{MANAGED_BY[0]}={MANAGED_BY[1]}" + (f",{RUN_LABEL}={label_value(run_id)}" if run_id else "")
    lines, pending = [], []
    ns = spec.chaos_namespace
    for kind, plural in KINDS.items():
        try:
            items = custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural,
                                                         label_selector=selector).get("items", [])
        except ApiException as exc:
            if exc.status == 404:
                lines.append(f"kubernetes: {kind} is not installed in the cluster (no Chaos Mesh CRD); nothing of "
                             "that kind to clean")
                continue
            lines.append(f"kubernetes: cannot list {plural} in {ns} ({reason(exc)})")
            continue
        for obj in items:
            name = obj["metadata"]["name"]
            try:
                custom.delete_namespaced_custom_object(GROUP, VERSION, ns, plural, name)
                pending.append((kind, plural, name))
            except ApiException as exc:
                if exc.status != 404:
                    lines.append(f"kubernetes: {kind} {ns}/{name} could not be deleted ({reason(exc)})")
    deadline = time.monotonic() + timeout
    while pending:
        left = []
        for kind, plural, name in pending:
            try:
                obj = custom.get_namespaced_custom_object(GROUP, VERSION, ns, plural, name)
                left.append((kind, plural, name, obj))
            except ApiException as exc:
                if exc.status == 404:
                    lines.append(f"kubernetes: deleted {kind} {ns}/{name}")
                else:
                    left.append((kind, plural, name, {}))
        pending = [(k, p, n) for k, p, n, _ in left]
        if not pending:
            break
        if time.monotonic() >= deadline:
            for kind, _, name, obj in left:
                fins = (obj.get("metadata") or {}).get("finalizers") or []
                lines.append(f"kubernetes: {kind} {ns}/{name} is stuck on finalizer(s) {', '.join(fins) or '?'}; "
                             f"remove them with: {finalizer_command(spec, kind, ns, name)}")
            break
        time.sleep(poll)
    return lines

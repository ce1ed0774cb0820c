"""The ``kubernetes`` actuator: a pod (by name, or a selector matching one) of a cluster the
harness did not start, acted on through the Kubernetes API and Chaos Mesh.

- kill: delete the pod with grace period 0 (its operator, e.g. Strimzi's StrimziPodSet or
  the Flink operator, recreates it); stop: delete with the given grace period; start: wait
  until the pod is back and Ready; ``kill_container``: a ``PodChaos`` container-kill.
- pause/resume: a ``PodChaos`` pod-failure (the pod's containers are swapped for a pause
  image) until healed; SIGSTOP/SIGCONT map to them.
- network (zone cut, one-way cut, delay, loss, bandwidth, object-storage outage) and disk
  faults: ``NetworkChaos`` and ``IOChaos`` (:mod:`.chaos`), for which Chaos Mesh must be
  installed (probed). ``exec`` is not offered: the documented Role grants no ``pods/exec``.
"""
from __future__ import annotations

import time

from ..actuators import (BANDWIDTH, CLEAN_RESTART, DELAY, DISK_FULL, FLINK_KILL, KILL, LOSS, NETWORK,
                         OBJECT_STORAGE_OUTAGE, ONE_WAY_CUT, PAUSE, ZONE_CUT, Actuator, ActuatorError)
from . import chaos
from .client import api_client, kubectl_prefix, reason

CHAOS_CAPS = (PAUSE, ZONE_CUT, ONE_WAY_CUT, DELAY, LOSS, BANDWIDTH, DISK_FULL, OBJECT_STORAGE_OUTAGE)
DATA_DIRS = {"broker": "/var/lib/kafka", "broker+controller": "/var/lib/kafka", "controller": "/var/lib/kafka"}


class KubernetesActuator(Actuator):
    kind = "kubernetes"

    def __init__(self, node, spec, role, bounded_disk=False, run_id: str = "adhoc"):
        super().__init__(node, spec, role, bounded_disk)
        self.kube = spec.kube
        self.namespace = self.kube.namespace_of(role)
        self.run_id = run_id
        self._api = self._core = None
        self._pod_name: str | None = spec.pod
        self._pause: chaos.ChaosResource | None = None
        self._mesh: chaos.ChaosMesh | None = None

    # ---- the API ------------------------------------------------------------------------------
    @property
    def core(self):
        if self._core is None:
            from kubernetes import client
            self._api = api_client(self.kube)
            self._core = client.CoreV1Api(self._api)
        return self._core

    @property
    def mesh(self) -> chaos.ChaosMesh:
        if self._mesh is None:
            self.core
            self._mesh = chaos.ChaosMesh(self._api, self.kube, self.run_id)
        return self._mesh

    def use_mesh(self, mesh: chaos.ChaosMesh) -> None:
        """Share one run's ChaosMesh (run id, resources to heal) between the actuators of a target."""
        self._mesh, self.run_id = mesh, mesh.run_id

    def _pod(self):
        from kubernetes.client.exceptions import ApiException
        try:
            return self.core.read_namespaced_pod(self.pod_name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise ActuatorError(f"{self.node}: pod {self.namespace}/{self.pod_name} cannot be read "
                                f"({reason(exc)})") from None

    def connect(self) -> None:
        from kubernetes.client.exceptions import ApiException
        try:
            if self.spec.pod:
                if self._pod() is None:
                    raise ActuatorError(f"{self.node}: pod {self.namespace}/{self.spec.pod} does not exist; fix "
                                        f"actuator.pod (see `{kubectl_prefix(self.kube)} -n {self.namespace} get "
                                        "pods`)")
                return
            pods = self.core.list_namespaced_pod(self.namespace, label_selector=self.spec.selector).items
        except ApiException as exc:
            raise ActuatorError(f"{self.node}: pods in {self.namespace} cannot be listed ({reason(exc)})") from None
        live = [p for p in pods if not p.metadata.deletion_timestamp]
        if len(live) != 1:
            raise ActuatorError(f"{self.node}: selector {self.spec.selector!r} matches {len(live)} pods in "
                                f"{self.namespace} {[p.metadata.name for p in live]}; give one that matches exactly one")
        self._pod_name = live[0].metadata.name

    @property
    def pod_name(self) -> str:
        if self._pod_name is None:
            self.connect()
        return self._pod_name

    def close(self) -> None:
        pass

    # ---- capabilities ----------------------------------------------------------------------------
    def declared(self) -> dict[str, str | None]:
        out = super().declared()
        out[DELAY] = None
        out[DISK_FULL] = None if self.role in DATA_DIRS else f"{self.node} is a {self.role}: IOChaos targets brokers"
        return out

    def probe(self) -> dict[str, str | None]:
        caps = self.declared()
        missing = chaos_mesh_missing(self.mesh)
        if missing:
            for c in CHAOS_CAPS:
                caps[c] = missing
        self._probed = caps
        return caps

    # ---- verbs ---------------------------------------------------------------------------------
    def status(self) -> str:
        pod = self._pod()
        if pod is None:
            return "removed"
        if pod.metadata.deletion_timestamp:
            return "removing"
        if self._pause is not None:
            return "paused"
        phase = pod.status.phase if pod.status else None
        if phase == "Running":
            ready = any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
            return "running" if ready else "starting"
        return {"Pending": "created", "Succeeded": "exited", "Failed": "exited"}.get(phase, "unknown")

    def state(self) -> str:
        pod = self._pod()
        if pod is None:
            return "removed"
        st = self.status()
        restarts = sum(c.restart_count for c in (pod.status.container_statuses or []))
        return f"{st} (pod {self.pod_name}, phase {pod.status.phase}, restarts {restarts}, node {pod.spec.node_name})"

    def exit_code(self) -> int | None:
        pod = self._pod()
        for c in ((pod.status.container_statuses or []) if pod and pod.status else []):
            term = (c.last_state and c.last_state.terminated) or (c.state and c.state.terminated)
            if term:
                return term.exit_code
        return None

    def _delete(self, grace: int) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        try:
            self.core.delete_namespaced_pod(self.pod_name, self.namespace, grace_period_seconds=grace,
                                            body=client.V1DeleteOptions(grace_period_seconds=grace))
        except ApiException as exc:
            if exc.status != 404:
                raise ActuatorError(f"{self.node}: deleting pod {self.namespace}/{self.pod_name} was refused "
                                    f"({reason(exc)})") from None

    def kill(self, signal: str = "SIGKILL") -> None:
        sig = signal.upper().removeprefix("SIG")
        if sig == "KILL":
            self._delete(0)
        elif sig == "TERM":
            self._delete(30)
        else:
            raise ActuatorError(f"{self.node}: signal {signal} cannot be sent to a pod through the API; kill (SIGKILL) "
                                "and stop (SIGTERM) delete it, pause uses Chaos Mesh")

    def kill_container(self, container: str | None = None) -> chaos.ChaosResource:
        name = container or self.spec.container
        if not name:
            raise ActuatorError(f"{self.node}: which container? set actuator.container")
        return self.mesh.start(f"container-kill-{self.node}",
                               chaos.container_kill(chaos.pods_selector(self.namespace, [self.pod_name]), [name]))

    def stop(self, timeout: int = 30) -> None:
        self._delete(int(timeout))

    def start(self, timeout: float = 300) -> None:
        """A pod cannot be started through the API: wait until its operator has it back and Ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status() == "running":
                return
            time.sleep(1.0)
        raise ActuatorError(f"{self.node}: pod {self.namespace}/{self.pod_name} is not back and Ready after "
                            f"{timeout:.0f}s (its operator recreates it); see `{self.command('describe')}`")

    def pause(self) -> None:
        if self._pause is None:
            self._pause = self.mesh.start(f"pause-{self.node}",
                                          chaos.pod_failure(chaos.pods_selector(self.namespace, [self.pod_name])))

    def resume(self) -> None:
        if self._pause is not None:
            res, self._pause = self._pause, None
            problem = self.mesh.heal(res)
            if problem:
                raise ActuatorError(f"{self.node}: {problem}")

    def signal(self, sig: str) -> None:
        s = sig.upper().removeprefix("SIG")
        if s == "STOP":
            self.pause()
        elif s == "CONT":
            self.resume()
        else:
            self.kill(sig)

    def exec(self, cmd: list[str], user: str = "", check: bool = True, stdin: bytes | None = None) -> tuple[int, str]:
        raise ActuatorError(f"{self.node}: the kubernetes actuator does not exec into pods (the documented Role "
                            "grants no pods/exec); network and disk faults go through Chaos Mesh")

    def logs(self, tail: int | str = "all") -> str:
        try:
            kw = {} if tail == "all" else {"tail_lines": int(tail)}
            if self.spec.container:
                kw["container"] = self.spec.container
            return self.core.read_namespaced_pod_log(self.pod_name, self.namespace, **kw)
        except Exception:
            return ""

    def ip(self, network: str | None = None) -> str:
        pod = self._pod()
        if pod is None or not pod.status.pod_ip:
            raise ActuatorError(f"{self.node}: pod {self.namespace}/{self.pod_name} has no IP")
        return pod.status.pod_ip

    def node_name(self) -> str | None:
        pod = self._pod()
        return pod.spec.node_name if pod else None

    def process_state(self) -> str:
        return "T" if self._pause is not None else ""

    # ---- dry run ----------------------------------------------------------------------------
    def command(self, verb: str, *args: str) -> str:
        k = f"{kubectl_prefix(self.kube)} -n {self.namespace}"
        pod = self.spec.pod or f"$({k} get pod -l {self.spec.selector} -o name)"
        cm = f"{kubectl_prefix(self.kube)} -n {self.kube.chaos_namespace}"
        simple = {"kill": f"{k} delete pod {pod} --grace-period=0 --force",
                  "stop": f"{k} delete pod {pod} --grace-period=30",
                  "start": f"{k} wait --for=condition=Ready pod/{pod} --timeout=300s",
                  "pause": f"{cm} apply -f - # PodChaos pod-failure on {self.namespace}/{pod}, labelled "
                           f"{chaos.RUN_LABEL}=<run>",
                  "resume": f"{cm} annotate podchaos <name> {chaos.PAUSE_ANNOTATION}=true && {cm} delete podchaos "
                            "<name>",
                  "describe": f"{k} describe pod {pod}"}
        if verb == "signal":
            return simple["pause" if (args and args[0].upper().endswith("STOP")) else "resume"]
        if verb in simple:
            return simple[verb]
        if verb == "exec":
            return f"# not run: the kubernetes actuator does not exec ({' '.join(args)}); Chaos Mesh does instead"
        raise ValueError(verb)

    def describe(self) -> str:
        what = f"pod {self.spec.pod}" if self.spec.pod else f"selector {self.spec.selector}"
        ctx = f" (context {self.kube.context})" if self.kube.context else ""
        return f"kubernetes {what} in {self.namespace}{ctx}"


def chaos_mesh_missing(mesh: chaos.ChaosMesh) -> str | None:
    """None if the Chaos Mesh kinds the harness creates are served in the chaos namespace, else why not."""
    from kubernetes.client.exceptions import ApiException
    for kind, plural in chaos.KINDS.items():
        try:
            mesh.custom.list_namespaced_custom_object(chaos.GROUP, chaos.VERSION, mesh.spec.chaos_namespace, plural,
                                                      limit=1)
        except ApiException as exc:
            if exc.status == 404:
                return (f"Chaos Mesh is not installed: the cluster does not serve {plural}.{chaos.GROUP}/"
                        f"{chaos.VERSION} (install Chaos Mesh, or its CRDs)")
            return f"{plural}.{chaos.GROUP} in {mesh.spec.chaos_namespace} cannot be listed ({reason(exc)})"
    return None


NETWORK_CAPS = NETWORK
__all__ = ["KubernetesActuator", "chaos_mesh_missing", "KILL", "CLEAN_RESTART", "FLINK_KILL"]

"""Process faults on Kafka brokers and Flink processes.

- ``kill``: SIGKILL the target broker's container; proof: the container exited (137)
  and cluster metadata no longer lists the broker. Stop starts it again (same data).
- ``pause``: SIGSTOP to the broker's JVM (state T in /proc); stop sends SIGCONT.
- ``freeze``: docker pause (cgroup freezer) of the whole container; stop unpauses.
- ``clean-restart``: clean shutdown (SIGTERM); stop starts it again.
- ``rolling-restart``: every broker in turn, clean stop and start, waiting for a full
  ISR before the next; done within start, stop only reports.
- ``flink-kill``: SIGKILL the Flink TaskManager (target ``taskmanager``) or JobManager
  (``jobmanager``); stop starts it again and waits until it is back in Flink REST.
"""
from __future__ import annotations

import time
from typing import Any

import requests

from kfchaos.platform.health import restart_timeout, wait_broker_listed, wait_fully_replicated
from kfchaos.platform.waits import Wait

from . import targets
from .base import Fault, FaultError
from .package import BROKER_TARGETS, PALETTE, FaultPackage


class BrokerFault(Fault):
    default_target = "random"

    def setup(self) -> None:
        self.zones = targets.resolve(self.platform, self.spec.target or self.default_target, self.rng)
        self.nodes = [self.platform.brokers[z] for z in self.zones]

    def ids(self) -> list[int]:
        return [self.platform.cfg.node_id(z) for z in self.zones]

    def _restart_and_prove(self) -> dict[str, Any]:
        for n in self.nodes:
            if not n.running():
                n.start()
        timeout = restart_timeout(self.platform)
        waited = {n.name: round(wait_broker_listed(self.platform, i, listed=True, timeout=timeout, node=n), 2)
                  for n, i in zip(self.nodes, self.ids())}
        return {"detail": f"started {[n.name for n in self.nodes]}",
                "proof": {"container_status": {n.name: n.state() for n in self.nodes},
                          "seconds_until_listed": waited}}


class Kill(BrokerFault):
    name = "kill"

    def start(self) -> dict[str, Any]:
        for n in self.nodes:
            n.kill("SIGKILL")
        statuses = {n.name: n.state() for n in self.nodes}
        if any("exited" not in s for s in statuses.values()):
            raise FaultError(f"kill: containers did not exit: {statuses}")
        gone = {n.name: round(wait_broker_listed(self.platform, i, listed=False, timeout=60), 2)
                for n, i in zip(self.nodes, self.ids())}
        return {"target": self.zones, "detail": f"SIGKILL {[n.name for n in self.nodes]} (broker ids {self.ids()})",
                "proof": {"container_status": statuses, "seconds_until_dropped_from_metadata": gone}}

    def stop(self) -> dict[str, Any]:
        return self._restart_and_prove()


class CleanRestart(Kill):
    name = "clean-restart"

    def start(self) -> dict[str, Any]:
        t0 = time.monotonic()
        for n in self.nodes:
            n.stop(timeout=60)
        statuses = {n.name: n.state() for n in self.nodes}
        gone = {n.name: round(wait_broker_listed(self.platform, i, listed=False, timeout=60), 2)
                for n, i in zip(self.nodes, self.ids())}
        return {"target": self.zones, "detail": f"clean shutdown of {[n.name for n in self.nodes]} "
                                                f"in {time.monotonic() - t0:.1f}s",
                "proof": {"container_status": statuses, "seconds_until_dropped_from_metadata": gone}}


def _process_state(node) -> str:
    """The main process's state letter(s) (T: stopped); a node that knows its own process
    (an SSH host's service) says so itself, a container's main process is pid 1."""
    own = getattr(node, "process_state", None)
    if callable(own):
        return own()
    code, out = node.read(["ps", "-o", "stat=", "-p", "1"])
    return out.strip()


class Pause(BrokerFault):
    name = "pause"

    def start(self) -> dict[str, Any]:
        for n in self.nodes:
            n.signal("SIGSTOP")
        states = {n.name: _process_state(n) for n in self.nodes}
        if not all(s.startswith("T") for s in states.values()):
            raise FaultError(f"pause: JVMs not stopped, process states {states}")
        return {"target": self.zones, "detail": f"SIGSTOP to the JVM of {[n.name for n in self.nodes]}",
                "proof": {"process_state": states}}

    def stop(self) -> dict[str, Any]:
        for n in self.nodes:
            n.signal("SIGCONT")
        states = {n.name: _process_state(n) for n in self.nodes}
        return {"detail": "SIGCONT", "proof": {"process_state": states}}


class Freeze(BrokerFault):
    name = "freeze"

    def start(self) -> dict[str, Any]:
        for n in self.nodes:
            n.pause()
        return {"target": self.zones, "detail": f"docker pause {[n.name for n in self.nodes]}",
                "proof": {"container_status": {n.name: n.status() for n in self.nodes}}}

    def stop(self) -> dict[str, Any]:
        for n in self.nodes:
            if n.status() == "paused":
                n.resume()
        return {"detail": "docker unpause", "proof": {"container_status": {n.name: n.status() for n in self.nodes}}}


class RollingRestart(BrokerFault):
    name = "rolling-restart"
    default_target = "all"

    def start(self) -> dict[str, Any]:
        steps = []
        for z, n, i in zip(self.zones, self.nodes, self.ids()):
            t0 = time.monotonic()
            n.stop(timeout=60)
            wait_broker_listed(self.platform, i, listed=False, timeout=60)
            n.start()
            wait_broker_listed(self.platform, i, listed=True, timeout=restart_timeout(self.platform), node=n)
            wait_fully_replicated(self.platform, timeout=float(self.params.get("isr_timeout", 120)))
            steps.append({"broker": n.name, "seconds": round(time.monotonic() - t0, 2)})
        return {"target": self.zones, "detail": f"rolled {[s['broker'] for s in steps]}", "proof": {"steps": steps}}

    def stop(self) -> dict[str, Any]:
        for n in self.nodes:
            if not n.running():
                n.start()
        return {"detail": "roll complete", "proof": {"running": [n.name for n in self.nodes if n.running()]}}


class FlinkKill(Fault):
    name = "flink-kill"
    default_target = "taskmanager"

    def setup(self) -> None:
        target = self.spec.target or self.default_target
        if target == "taskmanager":
            self.node = self.platform.flink_taskmanagers[int(self.params.get("index", 0))]
        elif target == "jobmanager":
            self.node = self.platform.flink_jobmanager
        else:
            raise FaultError(f"flink-kill: target must be taskmanager or jobmanager, got {target!r}")

    def _taskmanager_ids(self) -> set[str]:
        tms = requests.get(f"{self.platform.flink_rest_url}/taskmanagers", timeout=3).json().get("taskmanagers", [])
        return {tm["id"] for tm in tms}

    def start(self) -> dict[str, Any]:
        try:
            self.before = self._taskmanager_ids()
        except requests.RequestException:
            self.before = set()
        self.node.kill("SIGKILL")
        status = self.node.state()
        if "exited" not in status:
            raise FaultError(f"flink-kill: {self.node.name} did not exit ({status})")
        return {"target": self.node.name, "detail": f"SIGKILL {self.node.name}",
                "proof": {"container_status": status}}

    def stop(self) -> dict[str, Any]:
        self.node.start()
        want = self.platform.cfg.flink.taskmanagers

        def probe():
            ids = self._taskmanager_ids()
            new = ids - self.before if self.node.role == "flink-taskmanager" else ids
            return len(new) >= (1 if self.node.role == "flink-taskmanager" else want), \
                f"{len(ids)} registered, {len(ids - self.before)} new"
        # A killed TaskManager stays listed until its heartbeat times out: wait for a *new* id.
        waited = Wait("the restarted TaskManager to register in Flink REST", probe,
                      timeout=restart_timeout(self.platform), node=self.node).until_ready()
        return {"detail": f"started {self.node.name}",
                "proof": {"seconds_until_registered": round(waited, 2), "container_status": self.node.state()}}


def _broker(cls: type[Fault], menu: tuple[str, ...] = ()) -> FaultPackage:
    return FaultPackage(cls, BROKER_TARGETS, menu, colour=PALETTE["process"], family="process")


PACKAGES = (
    _broker(Kill, ("random", "controller", "zone:{zone}")),
    _broker(Pause, ("random", "controller")),
    _broker(Freeze),
    _broker(CleanRestart, ("random",)),
    _broker(RollingRestart),
    FaultPackage(FlinkKill, ("taskmanager", "jobmanager"), ("taskmanager",), colour=PALETTE["flink"],
                 family="flink"),
)

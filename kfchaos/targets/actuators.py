"""Actuators: how the harness acts on one node of a target (a process, a container).

An actuator has the verbs of ``kfchaos.platform.node.Node`` (status, start, stop, kill,
pause, resume, signal, exec, logs, ip) and declares its capabilities. ``declared`` is
what the actuator type can do in principle (used by the dry run, which touches nothing);
``probe`` asks the node itself (is iptables there, is NET_ADMIN granted, does the kernel
have netem) and returns every capability with None (available) or the reason it is not.

Types: ``docker`` (:mod:`.docker_actuator`), ``ssh`` (:mod:`.ssh_actuator`) and
``kubernetes`` (:mod:`.kubernetes.actuator`).
"""
from __future__ import annotations

import logging
import shlex
from typing import Callable

log = logging.getLogger("chaos.targets")

KILL, PAUSE, CLEAN_RESTART = "kill", "pause", "clean-restart"
ZONE_CUT, ONE_WAY_CUT, DELAY, LOSS, BANDWIDTH = "zone-cut", "one-way-cut", "delay", "loss", "bandwidth"
DISK_FULL, OBJECT_STORAGE_OUTAGE, FLINK_KILL = "disk-full", "object-storage-outage", "flink-kill"
CAPABILITIES = (KILL, PAUSE, CLEAN_RESTART, ZONE_CUT, ONE_WAY_CUT, DELAY, LOSS, BANDWIDTH, DISK_FULL,
                OBJECT_STORAGE_OUTAGE, FLINK_KILL)
NETWORK = (ZONE_CUT, ONE_WAY_CUT, LOSS, OBJECT_STORAGE_OUTAGE)       # iptables inside the node's namespace
PROCESS = (KILL, PAUSE, CLEAN_RESTART, FLINK_KILL)

NETEM_PROBE = "tc qdisc add dev lo root netem delay 1ms && tc qdisc del dev lo root"


class ActuatorError(RuntimeError):
    """An actuator cannot reach or act on its node; one line: what and how to fix it."""


class Actuator:
    """Base: the verbs every actuator has; subclasses act."""
    kind = ""

    def __init__(self, node: str, spec, role: str, bounded_disk: bool = False):
        self.node, self.spec, self.role, self.bounded_disk = node, spec, role, bounded_disk
        self._probed: dict[str, str | None] | None = None

    # ---- what it can do ------------------------------------------------------------------
    def declared(self) -> dict[str, str | None]:
        """Capabilities of this actuator type for this node, before asking the node."""
        out: dict[str, str | None] = {c: None for c in CAPABILITIES}
        if self.role not in ("jobmanager", "taskmanager"):
            out[FLINK_KILL] = f"{self.node} is a {self.role}, not a Flink process"
        if not self.bounded_disk:
            out[DISK_FULL] = (f"{self.node} does not declare bounded_disk: true; filling a disk the harness did "
                              "not create could fill the host's")
        out[DELAY] = "delay needs netem in the node's kernel (probed at discovery) or the zone's Toxiproxy"
        return out

    def capabilities(self) -> dict[str, str | None]:
        return self._probed if self._probed is not None else self.declared()

    def probe(self) -> dict[str, str | None]:
        """Ask the node (iptables, tc, netem) and remember the answer."""
        caps = self.declared()
        code, out = self.exec(["sh", "-c", "iptables -w -S OUTPUT >/dev/null"], user="root", check=False)
        if code != 0:
            why = f"iptables does not work on {self.node} ({out.strip()[:120] or f'exit {code}'})"
            for c in NETWORK:
                caps[c] = why
        code, out = self.exec(["sh", "-c", "tc qdisc show dev lo >/dev/null"], user="root", check=False)
        if code != 0:
            caps[BANDWIDTH] = f"tc does not work on {self.node} ({out.strip()[:120] or f'exit {code}'})"
        code, out = self.exec(["sh", "-c", NETEM_PROBE], user="root", check=False)
        caps[DELAY] = None if code == 0 else (f"the kernel of {self.node} has no netem ({out.strip()[:80]}); "
                                              "delay needs the zone's Toxiproxy (toxiproxy.api)")
        self._probed = caps
        return caps

    def connect(self) -> None:
        """Find the node (container, host, unit or pid file); raise ActuatorError if absent."""

    def close(self) -> None:
        pass

    # ---- verbs (Node's) ----------------------------------------------------------------------
    def status(self) -> str:
        raise NotImplementedError

    def state(self) -> str:
        return self.status()

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, timeout: int = 30) -> None:
        raise NotImplementedError

    def kill(self, signal: str = "SIGKILL") -> None:
        raise NotImplementedError

    def pause(self) -> None:
        raise NotImplementedError

    def resume(self) -> None:
        raise NotImplementedError

    def signal(self, sig: str) -> None:
        raise NotImplementedError

    def exec(self, cmd: list[str], user: str = "", check: bool = True, stdin: bytes | None = None) -> tuple[int, str]:
        """Run ``cmd`` on the node; ``stdin``: bytes streamed to its standard input, then closed."""
        raise NotImplementedError

    def logs(self, tail: int | str = "all") -> str:
        return ""

    def ip(self, network: str | None = None) -> str:
        raise NotImplementedError

    def process_state(self) -> str:
        """The ps state letters of the node's main process (T: stopped by a signal)."""
        raise NotImplementedError

    def exit_code(self) -> int | None:
        return None

    # ---- dry run ----------------------------------------------------------------------------
    def command(self, verb: str, *args: str) -> str:
        """The exact command a verb runs on this node (for the dry run)."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def iptables_sweep_script(prefix: str) -> str:
    """Delete every iptables rule whose comment starts with ``prefix``; prints what it deleted."""
    p = shlex.quote(f"--comment {prefix}")
    return (f"iptables -w -S | grep -F -- {p} | sed 's/^-A /-D /' | "
            "while read -r rule; do eval iptables -w $rule && echo \"deleted: $rule\"; done; true")


def create(node: str, spec, role: str, bounded_disk: bool = False) -> Actuator:
    factories: dict[str, Callable[..., Actuator]] = {}
    from .docker_actuator import DockerActuator
    from .ssh_actuator import SshActuator
    factories.update(docker=DockerActuator, ssh=SshActuator)
    if spec.type == "kubernetes":
        from .kubernetes.actuator import KubernetesActuator
        factories["kubernetes"] = KubernetesActuator
    return factories[spec.type](node, spec, role, bounded_disk)

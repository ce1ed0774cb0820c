"""A node of an external target with the verbs of ``kfchaos.platform.node.Node``, each
done by the node's actuator. Touching a node the target's ``limits.touchable`` leaves
out is refused (``ActuatorError``); reading (status, logs, ip) is always allowed."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..platform import exec_read
from .actuators import Actuator, ActuatorError


@dataclass(eq=False)
class ExternalNode:
    name: str
    role: str               # kafka, flink-jobmanager, flink-taskmanager, minio, toxiproxy (as Node's roles)
    zone: str | None
    actuator: Actuator
    touchable: bool = True
    target_role: str = ""   # the role as the target file gives it (broker, jobmanager, object-store, ...)
    ports: dict[int, int] = field(default_factory=dict)

    def _may_touch(self, verb: str) -> None:
        if not self.touchable:
            raise ActuatorError(f"{self.name}: {verb} refused: the target's limits.touchable leaves this node out")

    # ---- lifecycle -----------------------------------------------------------------------
    def status(self) -> str:
        return self.actuator.status()

    def running(self) -> bool:
        return self.status() == "running"

    def state(self) -> str:
        return self.actuator.state()

    def exit_code(self) -> int | None:
        return self.actuator.exit_code()

    def start(self) -> None:
        self._may_touch("start")
        self.actuator.start()

    def stop(self, timeout: int = 30) -> None:
        self._may_touch("stop")
        self.actuator.stop(timeout)

    def kill(self, signal: str = "SIGKILL") -> None:
        self._may_touch("kill")
        self.actuator.kill(signal)

    def pause(self) -> None:
        self._may_touch("pause")
        self.actuator.pause()

    def resume(self) -> None:
        self.actuator.resume()          # healing is always allowed

    def signal(self, sig: str) -> None:
        if sig.upper().removeprefix("SIG") != "CONT":
            self._may_touch(f"signal {sig}")
        self.actuator.signal(sig)

    def process_state(self) -> str:
        return self.actuator.process_state()

    # ---- inspection -----------------------------------------------------------------------
    def ip(self, network: str | None = None) -> str:
        return self.actuator.ip(network)

    def pid(self) -> int:
        return self.actuator.pid()

    def logs(self, tail: int | str = "all") -> str:
        return self.actuator.logs(tail)

    def exec(self, cmd: list[str], user: str = "", check: bool = True, stdin: bytes | None = None) -> tuple[int, str]:
        if user == "root":
            self._may_touch("a privileged command")
        if stdin is None:
            return self.actuator.exec(cmd, user=user, check=check)
        return self.actuator.exec(cmd, user=user, check=check, stdin=stdin)

    def read(self, cmd: list[str], user: str = "") -> tuple[int, str]:
        """(exit code, output) of a read-only command, proven complete (``exec_read``)."""
        return exec_read.read(self.exec, cmd, user=user)

    def host_port(self, container_port: int) -> int:
        return self.ports[container_port]

    @property
    def container_name(self) -> str:
        return getattr(self.actuator, "container_name", self.name)

    @property
    def container(self):
        """For faults written against Docker containers (``get_wrapped_container()``)."""
        act = self.actuator

        class _Wrapped:
            def get_wrapped_container(self_inner):
                if not hasattr(act, "c"):
                    raise ActuatorError(f"{self.name}: not a Docker container")
                return act.c
        return _Wrapped()

    def save_logs(self, directory: Path, redact=lambda s: s) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.log"
        path.write_text(redact(self.logs()))
        return path

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "zone": self.zone, "status": self.status(),
                "actuator": self.actuator.describe(), "touchable": self.touchable}


# The target file's roles as the harness's node roles.
NODE_ROLES = {"broker": "kafka", "broker+controller": "kafka", "controller": "kafka-controller",
              "jobmanager": "flink-jobmanager", "taskmanager": "flink-taskmanager", "object-store": "minio",
              "toxiproxy": "toxiproxy"}

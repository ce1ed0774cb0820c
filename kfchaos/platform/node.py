"""A platform node: one container with the verbs faults use.

start / stop (clean, SIGTERM then wait) / kill (SIGKILL) / pause / resume (cgroup
freezer) / signal (e.g. SIGSTOP, SIGCONT to the main process) / logs / exec.
A node knows its zone and its role; it never decides anything about faults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from testcontainers.core.container import DockerContainer

from . import exec_read


@dataclass(eq=False)
class Node:
    name: str            # network host name, e.g. kafka-a
    role: str            # kafka, flink-jobmanager, flink-taskmanager, minio, toxiproxy
    zone: str | None
    container: DockerContainer
    ports: dict[int, int] = field(default_factory=dict)   # container port -> 127.0.0.1 host port
    files: dict[str, bytes] = field(default_factory=dict)  # container path -> content, copied before start

    # ---- lifecycle -----------------------------------------------------------------
    def create_and_start(self) -> "Node":
        self.container.start()
        return self

    @property
    def _c(self):
        return self.container.get_wrapped_container()

    @property
    def container_name(self) -> str:
        return self._c.name

    def status(self) -> str:
        try:
            self._c.reload()
            return self._c.status
        except docker.errors.NotFound:
            return "removed"

    def running(self) -> bool:
        return self.status() == "running"

    def start(self) -> None:
        """Start a stopped/killed container again (same data, same config)."""
        self._c.start()

    def stop(self, timeout: int = 30) -> None:
        """Clean shutdown: SIGTERM, then SIGKILL after timeout seconds."""
        self._c.stop(timeout=timeout)

    def kill(self, signal: str = "SIGKILL") -> None:
        self._c.kill(signal=signal)

    def pause(self) -> None:
        self._c.pause()

    def resume(self) -> None:
        self._c.unpause()

    def signal(self, sig: str) -> None:
        """Send a signal to the main process without stopping the container (SIGSTOP/SIGCONT)."""
        self._c.kill(signal=sig)

    def state(self) -> str:
        """Status plus exit code / OOM / error for exited containers (for error messages)."""
        try:
            self._c.reload()
        except docker.errors.NotFound:
            return "removed"
        st = self._c.attrs.get("State", {})
        if st.get("Status") in ("exited", "dead"):
            return (f"{st.get('Status')} (exit code {st.get('ExitCode')}, oom-killed {st.get('OOMKilled')}"
                    f"{', error ' + st['Error'] if st.get('Error') else ''})")
        return st.get("Status", "unknown")

    def exit_code(self) -> int | None:
        self._c.reload()
        return self._c.attrs.get("State", {}).get("ExitCode")

    # ---- inspection ----------------------------------------------------------------
    def ip(self, network: str) -> str:
        self._c.reload()
        return self._c.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]

    def pid(self) -> int:
        self._c.reload()
        return int(self._c.attrs["State"]["Pid"])

    def logs(self, tail: int | str = "all") -> str:
        try:
            return self._c.logs(tail=tail).decode("utf-8", "replace")
        except docker.errors.NotFound:
            return ""

    def exec(self, cmd: list[str], user: str = "", check: bool = True) -> tuple[int, str]:
        """Run a command inside the container; user="root" for iptables/tc."""
        res = self._c.exec_run(cmd, user=user, demux=False)
        out = (res.output or b"").decode("utf-8", "replace")
        if check and res.exit_code != 0:
            raise RuntimeError(f"{self.name}: `{' '.join(cmd)}` exited {res.exit_code}: {out.strip()[:500]}")
        return res.exit_code, out

    def read(self, cmd: list[str], user: str = "") -> tuple[int, str]:
        """(exit code, output) of a read-only command, proven complete (``exec_read``)."""
        return exec_read.read(self.exec, cmd, user=user)

    def host_port(self, container_port: int) -> int:
        return self.ports[container_port]

    def save_logs(self, directory: Path, redact=lambda s: s) -> Path:
        """Write the container's log (redacted); a container already gone never overwrites a
        log saved before with nothing."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.log"
        text = self.logs()
        if text or not path.exists():
            path.write_text(redact(text))
        return path

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "zone": self.zone, "status": self.status(),
                "ports": {str(k): v for k, v in self.ports.items()}}

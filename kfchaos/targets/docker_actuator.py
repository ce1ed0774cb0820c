"""The ``docker`` actuator: a container the harness did not start, found by name or label.

Process verbs go through the Docker API (kill, stop, start, pause/unpause, signals);
network faults run iptables/tc inside the container's namespace (``docker exec -u root``),
as the built-in platform's faults do, which needs iptables in the image and the
NET_ADMIN capability (both probed at discovery).
"""
from __future__ import annotations

import shlex
import socket
import time

import docker

from ..platform import exec_read
from .actuators import NETWORK, Actuator, ActuatorError, BANDWIDTH, DELAY


class DockerActuator(Actuator):
    kind = "docker"

    def __init__(self, node, spec, role, bounded_disk=False):
        super().__init__(node, spec, role, bounded_disk)
        self._client = None
        self._c = None

    # ---- finding the container ---------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            try:
                self._client = (docker.DockerClient(base_url=self.spec.docker_host, timeout=30)
                                if self.spec.docker_host else docker.from_env(timeout=30))
                self._client.ping()
            except docker.errors.DockerException as exc:
                where = self.spec.docker_host or "DOCKER_HOST/the local socket"
                raise ActuatorError(f"{self.node}: no Docker daemon answers at {where} ({exc}); start it or fix "
                                    "actuator.docker_host") from None
        return self._client

    def connect(self) -> None:
        if self.spec.container:
            try:
                self._c = self.client.containers.get(self.spec.container)
            except docker.errors.NotFound:
                raise ActuatorError(f"{self.node}: docker container {self.spec.container!r} does not exist; fix "
                                    "actuator.container (see `docker ps -a --format '{{.Names}}'`)") from None
            return
        found = self.client.containers.list(all=True, filters={"label": self.spec.label})
        if len(found) != 1:
            names = [c.name for c in found]
            raise ActuatorError(f"{self.node}: label {self.spec.label!r} matches {len(found)} containers {names}; "
                                "give a label (or container name) that matches exactly one")
        self._c = found[0]

    @property
    def c(self):
        if self._c is None:
            self.connect()
        return self._c

    @property
    def container_name(self) -> str:
        return self.c.name

    def probe(self) -> dict[str, str | None]:
        caps = super().probe() if self.running() else self.declared()
        host = self.c.attrs.get("HostConfig", {})
        if "NET_ADMIN" not in (host.get("CapAdd") or []) and not host.get("Privileged"):
            why = f"container {self.c.name} lacks the NET_ADMIN capability (docker run --cap-add NET_ADMIN)"
            for cap in (*NETWORK, BANDWIDTH, DELAY):
                caps[cap] = caps[cap] or why
        self._probed = caps
        return caps

    # ---- verbs -----------------------------------------------------------------------------
    def status(self) -> str:
        try:
            self.c.reload()
            return self.c.status
        except docker.errors.NotFound:
            return "removed"

    def running(self) -> bool:
        return self.status() == "running"

    def state(self) -> str:
        try:
            self.c.reload()
        except docker.errors.NotFound:
            return "removed"
        st = self.c.attrs.get("State", {})
        if st.get("Status") in ("exited", "dead"):
            return f"{st.get('Status')} (exit code {st.get('ExitCode')}, oom-killed {st.get('OOMKilled')})"
        return st.get("Status", "unknown")

    def exit_code(self) -> int | None:
        self.c.reload()
        return self.c.attrs.get("State", {}).get("ExitCode")

    def start(self) -> None:
        self.c.start()

    def stop(self, timeout: int = 30) -> None:
        self.c.stop(timeout=timeout)

    def kill(self, signal: str = "SIGKILL") -> None:
        self.c.kill(signal=signal)

    def pause(self) -> None:
        self.c.pause()

    def resume(self) -> None:
        self.c.unpause()

    def signal(self, sig: str) -> None:
        self.c.kill(signal=sig)

    def exec(self, cmd: list[str], user: str = "", check: bool = True, stdin: bytes | None = None) -> tuple[int, str]:
        if stdin is None:
            res = self.c.exec_run(cmd, user=user, demux=False)
            code, raw = res.exit_code, res.output
        else:
            code, raw = self._exec_with_input(cmd, user, stdin)
        out = (raw or b"").decode("utf-8", "replace")
        if check and code != 0:
            raise RuntimeError(f"{self.node}: `{shlex.join(cmd)}` exited {code}: {out.strip()[:500]}")
        return code, out

    def _exec_with_input(self, cmd: list[str], user: str, data: bytes) -> tuple[int, bytes]:
        """Exec with ``data`` on standard input, streamed over Docker's attach socket and then
        closed (half-close), never written to a file; (exit code, stdout with stderr)."""
        from docker.utils.socket import frames_iter
        api = self.client.api
        exec_id = api.exec_create(self.c.id, cmd, stdin=True, stdout=True, stderr=True, user=user)["Id"]
        sock = api.exec_start(exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        try:
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)
            out = b"".join(data for _stream, data in frames_iter(sock, tty=False))
        finally:
            sock.close()
        for _ in range(100):                    # the stream ends as the process exits; its code follows
            info = api.exec_inspect(exec_id)
            if not info.get("Running"):
                return int(info.get("ExitCode") or 0), out
            time.sleep(0.1)
        raise ActuatorError(f"{self.node}: `{shlex.join(cmd)}` closed its output but did not exit")

    def logs(self, tail: int | str = "all") -> str:
        try:
            return self.c.logs(tail=tail).decode("utf-8", "replace")
        except docker.errors.NotFound:
            return ""

    def networks(self) -> dict[str, str]:
        self.c.reload()
        return {name: n.get("IPAddress") for name, n in self.c.attrs["NetworkSettings"]["Networks"].items()}

    def ip(self, network: str | None = None) -> str:
        nets = self.networks()
        if network in nets:
            return nets[network]
        if not nets:
            raise ActuatorError(f"{self.node}: container {self.c.name} is on no network")
        return next(iter(nets.values()))

    def pid(self) -> int:
        self.c.reload()
        return int(self.c.attrs["State"]["Pid"])

    def process_state(self) -> str:
        return exec_read.read(self.exec, ["ps", "-o", "stat=", "-p", "1"])[1].strip()

    # ---- dry run ----------------------------------------------------------------------------
    def command(self, verb: str, *args: str) -> str:
        name = self.spec.container or f"$(docker ps -aq --filter label={self.spec.label})"
        host = f"-H {shlex.quote(self.spec.docker_host)} " if self.spec.docker_host else ""
        simple = {"kill": f"kill --signal {args[0] if args else 'SIGKILL'}", "stop": "stop -t 60", "start": "start",
                  "pause": "pause", "resume": "unpause", "signal": f"kill --signal {args[0] if args else 'SIGSTOP'}"}
        if verb in simple:
            return f"docker {host}{simple[verb]} {name}"
        if verb == "exec":
            return f"docker {host}exec -u root {name} {' '.join(args)}"
        raise ValueError(verb)

    def describe(self) -> str:
        what = f"container {self.spec.container}" if self.spec.container else f"label {self.spec.label}"
        return f"docker {what}" + (f" on {self.spec.docker_host}" if self.spec.docker_host else "")

"""The ``ssh`` actuator: a process on a host reached over SSH (paramiko), found by its
systemd unit or its pid file.

- kill / pause / resume / signal: ``systemctl kill -s SIG --kill-who=main UNIT``, or
  ``kill -s SIG $(cat PIDFILE)``; stop: ``systemctl stop`` or SIGTERM then SIGKILL;
  start: ``systemctl start`` or the node's ``start_command`` (which must write the pid file).
- network faults: iptables (and tc) on the host, every rule tagged with the run id;
  netem only where the host's kernel has it (probed; otherwise said so).
- privileged commands run as the SSH user, through ``sudo -n`` when ``sudo: true``.

Host keys are checked against ``known_hosts`` (the actuator's file, else the user's):
an unknown host is refused, never trusted on first use.
"""
from __future__ import annotations

import shlex
import socket
import threading
from pathlib import Path

from .actuators import CLEAN_RESTART, KILL, Actuator, ActuatorError


def _sig(signal: str) -> str:
    return signal.upper().removeprefix("SIG")


class SshActuator(Actuator):
    kind = "ssh"

    def __init__(self, node, spec, role, bounded_disk=False):
        super().__init__(node, spec, role, bounded_disk)
        self._ssh = None
        self._lock = threading.Lock()

    # ---- connection --------------------------------------------------------------------------
    def _client(self):
        import paramiko
        with self._lock:
            if self._ssh is not None and self._ssh.get_transport() and self._ssh.get_transport().is_active():
                return self._ssh
            s = self.spec
            client = paramiko.SSHClient()
            known = Path(s.known_hosts).expanduser() if s.known_hosts else Path("~/.ssh/known_hosts").expanduser()
            if known.is_file():
                client.load_host_keys(str(known))
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            where = f"{s.user}@{s.host}:{s.port}"
            try:
                client.connect(s.host, port=s.port, username=s.user, key_filename=str(Path(s.key_file).expanduser()),
                               timeout=10, banner_timeout=10, auth_timeout=10, allow_agent=False,
                               look_for_keys=False)
            except paramiko.SSHException as exc:
                if "not found in known_hosts" in str(exc):
                    raise ActuatorError(f"{self.node}: the host key of {s.host}:{s.port} is not in {known}; check "
                                        f"its fingerprint, then `ssh-keyscan -p {s.port} {s.host} >> {known}` (or "
                                        "set actuator.known_hosts)") from None
                raise ActuatorError(f"{self.node}: ssh {where} failed: {exc}; check user, key_file and that the "
                                    "key is in the user's authorized_keys") from None
            except OSError as exc:
                raise ActuatorError(f"{self.node}: cannot reach ssh {where}: {exc.strerror or exc}; check "
                                    "actuator.host and actuator.port") from None
            self._ssh = client
            return client

    def close(self) -> None:
        with self._lock:
            if self._ssh is not None:
                self._ssh.close()
                self._ssh = None

    def run(self, script: str, root: bool = False, timeout: float = 60, stdin: bytes | None = None) -> tuple[int, str]:
        """Run a shell line on the host; (exit code, stdout with stderr). ``stdin`` is sent on the
        channel, then its end (never written to the host's disk)."""
        if root and self.spec.user != "root" and self.spec.sudo:
            script = f"sudo -n sh -c {shlex.quote(script)}"
        chan = self._client().get_transport().open_session(timeout=10)
        chan.settimeout(timeout)
        chan.set_combine_stderr(True)
        chan.exec_command(script)
        if stdin is not None:
            chan.sendall(stdin)
            chan.shutdown_write()
        out = chan.makefile("rb").read().decode("utf-8", "replace")
        code = chan.recv_exit_status()
        chan.close()
        return code, out

    def connect(self) -> None:
        code, out = self.run(self._pid_script())
        if code != 0 or not out.strip().isdigit():
            what = f"systemd unit {self.spec.unit}" if self.spec.unit else f"pid file {self.spec.pid_file}"
            raise ActuatorError(f"{self.node}: {what} on {self.spec.host} names no process ({out.strip()[:120]}); "
                                "fix actuator.unit / actuator.pid_file, or start the process")

    def probe(self) -> dict[str, str | None]:
        caps = super().probe()
        if self.spec.pid_file and not self.spec.start_command:
            for cap in (KILL, CLEAN_RESTART):
                caps[cap] = f"{self.node} has a pid file but no start_command to start it again after the fault"
        self._probed = caps
        return caps

    # ---- the process -------------------------------------------------------------------------
    def _pid_script(self) -> str:
        if self.spec.unit:
            return f"systemctl show -p MainPID --value {shlex.quote(self.spec.unit)}"
        return f"cat {shlex.quote(self.spec.pid_file)}"

    def main_pid(self) -> int | None:
        code, out = self.run(self._pid_script())
        pid = out.strip()
        return int(pid) if code == 0 and pid.isdigit() and int(pid) > 0 else None

    def process_state(self) -> str:
        pid = self.main_pid()
        if pid is None:
            return ""
        return self.run(f"ps -o stat= -p {pid}")[1].strip()

    def status(self) -> str:
        try:
            st = self.process_state()
        except ActuatorError:
            return "unreachable"
        if not st or st.startswith("Z"):
            return "exited"
        return "paused" if st.startswith("T") else "running"

    def running(self) -> bool:
        return self.status() == "running"

    def _checked(self, script: str, what: str, root: bool = True) -> None:
        code, out = self.run(script, root=root)
        if code != 0:
            raise ActuatorError(f"{self.node}: {what} failed on {self.spec.host} (exit {code}): {out.strip()[:200]}")

    def signal(self, sig: str) -> None:
        self._checked(self.command("signal", sig), f"signal {sig}")

    def kill(self, signal: str = "SIGKILL") -> None:
        self._checked(self.command("kill", signal), f"kill -{_sig(signal)}")

    def pause(self) -> None:
        self.signal("SIGSTOP")

    def resume(self) -> None:
        self.signal("SIGCONT")

    def stop(self, timeout: int = 30) -> None:
        self._checked(self.command("stop", str(timeout)), "clean stop")

    def start(self) -> None:
        if self.spec.pid_file and not self.spec.start_command:
            raise ActuatorError(f"{self.node}: cannot start the process again: give actuator.start_command")
        self._checked(self.command("start"), "start")

    def exec(self, cmd: list[str], user: str = "", check: bool = True, stdin: bytes | None = None) -> tuple[int, str]:
        code, out = self.run(shlex.join(cmd), root=(user == "root"), stdin=stdin)
        if check and code != 0:
            raise RuntimeError(f"{self.node}: `{shlex.join(cmd)}` exited {code}: {out.strip()[:500]}")
        return code, out

    def logs(self, tail: int | str = "all") -> str:
        n = "+1" if tail == "all" else str(int(tail))
        if self.spec.unit:
            lines = "" if tail == "all" else f"-n {int(tail)} "
            script = f"journalctl -u {shlex.quote(self.spec.unit)} {lines}--no-pager"
        elif self.spec.log_file:
            script = f"tail -n {n} {shlex.quote(self.spec.log_file)}"
        else:
            return ""
        try:
            return self.run(script, root=True)[1]
        except ActuatorError:
            return ""

    def ip(self, network: str | None = None) -> str:
        try:
            return socket.gethostbyname(self.spec.host)
        except OSError as exc:
            raise ActuatorError(f"{self.node}: cannot resolve {self.spec.host}: {exc}") from None

    def client_ip(self) -> str:
        """This machine's address as the host sees it (where host clients' traffic comes from)."""
        return self.run("echo $SSH_CONNECTION")[1].split()[0]

    # ---- commands (also the dry run) ---------------------------------------------------------
    def command(self, verb: str, *args: str) -> str:
        unit, pf = shlex.quote(self.spec.unit or ""), shlex.quote(self.spec.pid_file or "")
        pid = f"$(cat {pf})"
        if verb in ("kill", "signal"):
            sig = _sig(args[0] if args else ("SIGKILL" if verb == "kill" else "SIGSTOP"))
            return f"systemctl kill -s {sig} --kill-who=main {unit}" if self.spec.unit else f"kill -s {sig} {pid}"
        if verb == "pause":
            return self.command("signal", "SIGSTOP")
        if verb == "resume":
            return self.command("signal", "SIGCONT")
        if verb == "stop":
            t = int(args[0]) if args else 30
            if self.spec.unit:
                return f"systemctl stop {unit}"
            return (f"p={pid}; kill -s TERM $p; i=0; while kill -0 $p 2>/dev/null && [ $i -lt {t * 10} ]; "
                    "do sleep 0.1; i=$((i+1)); done; kill -s KILL $p 2>/dev/null; true")
        if verb == "start":
            if self.spec.unit:
                return f"systemctl start {unit}"
            start = shlex.quote(self.spec.start_command or "<start_command>")
            return f"setsid sh -c {start} >/dev/null 2>&1 </dev/null &"
        if verb == "exec":
            line = " ".join(args)
            return f"sudo -n {line}" if self.spec.sudo and self.spec.user != "root" else line
        raise ValueError(verb)

    def describe(self) -> str:
        what = f"unit {self.spec.unit}" if self.spec.unit else f"pid file {self.spec.pid_file}"
        return f"ssh {self.spec.user}@{self.spec.host}:{self.spec.port}, {what}"

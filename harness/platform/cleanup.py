"""Labels every container and network of a run, and removes them: at the end of a run,
after an exception, on SIGINT/SIGTERM, and (``clean``) what a crashed run left behind.

Ryuk cannot be pulled here, so TESTCONTAINERS_RYUK_DISABLED=true and this module is
the reaper.
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import threading
from typing import Callable

import docker

LABEL_RUN = "io.chaos-harness.run"
LABEL_PID = "io.chaos-harness.pid"
LABEL_HOST = "io.chaos-harness.host"
LABEL_ROLE = "io.chaos-harness.role"

_cleanups: list[Callable[[], None]] = []
_lock = threading.Lock()
_installed = False


def run_labels(run_id: str, role: str = "") -> dict[str, str]:
    labels = {LABEL_RUN: run_id, LABEL_PID: str(os.getpid()), LABEL_HOST: socket.gethostname()}
    if role:
        labels[LABEL_ROLE] = role
    return labels


def remove_run(run_id: str | None = None, only_dead_owners: bool = False) -> list[str]:
    """Remove containers then networks of one run (or of every run); returns what was removed."""
    client = docker.from_env()
    selector = f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN
    removed: list[str] = []
    for c in client.containers.list(all=True, filters={"label": selector}):
        if only_dead_owners and _owner_alive(c.labels):
            continue
        try:
            c.remove(force=True, v=True)
            removed.append(f"container {c.name}")
        except docker.errors.NotFound:
            pass
    for n in client.networks.list(filters={"label": selector}):
        if only_dead_owners and _owner_alive(n.attrs.get("Labels") or {}):
            continue
        try:
            n.remove()
            removed.append(f"network {n.name}")
        except docker.errors.NotFound:
            pass
    return removed


def _owner_alive(labels: dict) -> bool:
    if labels.get(LABEL_HOST) != socket.gethostname():
        return False
    try:
        os.kill(int(labels.get(LABEL_PID, "0")), 0)
        return True
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True


def register(fn: Callable[[], None]) -> Callable[[], None]:
    """Run fn at exit and on SIGINT/SIGTERM (once). Returns an unregister function."""
    _install_handlers()
    with _lock:
        _cleanups.append(fn)

    def unregister() -> None:
        with _lock:
            if fn in _cleanups:
                _cleanups.remove(fn)
    return unregister


def run_cleanups() -> None:
    while True:
        with _lock:
            if not _cleanups:
                return
            fn = _cleanups.pop()
        try:
            fn()
        except Exception as exc:  # keep cleaning the rest
            print(f"[cleanup] {exc}")


def _install_handlers() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(run_cleanups)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            run_cleanups()
            if callable(previous):
                previous(signum, frame)
            # Not SystemExit: pytest reports that as one failed test and goes on to the next
            # scenario on a platform that is gone. KeyboardInterrupt ends the session.
            raise KeyboardInterrupt(f"stopped by signal {signum}")
        signal.signal(sig, handler)

"""Labels every container, network and volume of a run, and removes them: at the end of a
run, after an exception, after SIGINT/SIGTERM/SIGHUP, and (``clean_dead_runs``) what a
crashed run left behind.

A signal handler does nothing but raise ``Interrupted`` in the main thread (or note the
signal while a cleanup runs there); the stack unwinds normally, releasing every lock, and
the cleanups run after it, outside the handler. A second signal exits at once.

Ryuk cannot be pulled here, so TESTCONTAINERS_RYUK_DISABLED=true and this module is
the reaper.
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import docker

from .owners import LABEL_HOST, LABEL_PID, LABEL_PID_START, LABEL_ROLE, LABEL_RUN, run_labels
from .reaper import CleanReport, clean_dead_runs, remove_resources

__all__ = ["LABEL_HOST", "LABEL_PID", "LABEL_PID_START", "LABEL_ROLE", "LABEL_RUN", "CleanReport",
           "CleanupIncomplete", "Interrupted", "clean_dead_runs", "register", "remove_run", "run_cleanups",
           "run_labels", "signals_held"]

log = logging.getLogger("chaos.platform")

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_cleanups: list[Callable[[], None]] = []
_lock = threading.Lock()
_installed = False
_at_exit = False
_received: list[int] = []         # signals so far (list.append is atomic)
_held: list[int] = []             # signals that arrived inside ``signals_held``
_holding = 0                      # depth of ``signals_held`` in the main thread


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by a signal; a KeyboardInterrupt, so pytest ends the session."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by signal {signal.Signals(signum).name}")


class CleanupIncomplete(docker.errors.DockerException):
    pass


def remove_run(run_id: str | None = None, only_dead_owners: bool = False) -> list[str]:
    """Remove containers, networks, volumes and disks of one run; returns what was removed, or
    raises CleanupIncomplete naming what is left. With no run id or only_dead_owners: what
    ``clean_dead_runs`` removes."""
    if run_id is None or only_dead_owners:
        return clean_dead_runs(all_runs=not only_dead_owners, run_id=run_id).removed
    with signals_held():
        report = remove_resources(docker.from_env(), run_id)
    if report.failed:
        raise CleanupIncomplete(f"could not remove {'; '.join(report.failed)}")
    return report.removed


def register(fn: Callable[[], None]) -> Callable[[], None]:
    """Run fn at exit and after SIGINT/SIGTERM/SIGHUP (once). Returns an unregister function."""
    _install_handlers()
    with _lock:
        _cleanups.append(fn)

    def unregister() -> None:
        with _lock:
            if fn in _cleanups:
                _cleanups.remove(fn)
    return unregister


def run_cleanups() -> None:
    """Run and drop every registered cleanup, newest first. The lock is held only to pop one, so
    a cleanup may register or unregister others; a signal meanwhile waits for the end."""
    with signals_held(reraise=False):
        while True:
            with _lock:
                if not _cleanups:
                    return
                fn = _cleanups.pop()
            try:
                fn()
            except Exception as exc:  # keep cleaning the rest
                log.warning("[cleanup] %s", exc)


@contextmanager
def signals_held(reraise: bool = True) -> Iterator[None]:
    """In the main thread, a first signal inside the block is held until the block ends (then
    ``Interrupted`` is raised if reraise); a second one still exits at once."""
    global _holding
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding and _held:
            signum = _held.pop()
            _held.clear()
            if reraise:
                raise Interrupted(signum)


def _on_signal(signum: int, frame) -> None:
    _received.append(signum)
    if len(_received) > 1:
        _force_exit(signum)
    if _holding:
        _held.append(signum)
        return
    raise Interrupted(signum)


def _force_exit(signum: int) -> None:
    name = signal.Signals(signum).name
    os.write(2, f"[cleanup] second signal ({name}): exiting now; run `kfchaos clean` to remove what is left\n"
                .encode())
    os._exit(128 + signum)


def install_signal(signum: int) -> None:
    """Handle ``signum`` like SIGINT/SIGTERM (an ``Interrupted`` in the main thread; a second
    signal exits at once), e.g. SIGALRM for a deadline. Main thread only."""
    _install_handlers()
    signal.signal(signum, _on_signal)


def _install_handlers() -> None:
    """atexit once; the signal handlers once, from the main thread (the only place Python allows)."""
    global _installed, _at_exit
    if not _at_exit:
        _at_exit = True
        atexit.register(run_cleanups)
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)

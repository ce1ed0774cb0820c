"""Who owns a container, network, volume or disk of a run, and whether that owner still lives.

Every resource of a run carries the owner's host name, pid and the pid's start time
(field 22 of /proc/<pid>/stat, clock ticks since boot). A pid that exists but started at
another time is a recycled pid: its run is dead. A resource of another host is never
judged here: it is foreign, whatever its pid says.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

LABEL_RUN = "io.chaos-harness.run"
LABEL_PID = "io.chaos-harness.pid"
LABEL_PID_START = "io.chaos-harness.pid-start"
LABEL_HOST = "io.chaos-harness.host"
LABEL_ROLE = "io.chaos-harness.role"

ALIVE, DEAD, FOREIGN = "alive", "dead", "foreign"
PROC = Path("/proc")


def process_start_time(pid: int) -> str | None:
    """The start time of ``pid`` (clock ticks after boot), or None if there is no such process."""
    try:
        stat = (PROC / str(int(pid)) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) is in parentheses and may hold blanks or ')': split after the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None      # field 22 of the whole line


def owner_labels(pid: int | None = None) -> dict[str, str]:
    pid = os.getpid() if pid is None else pid
    return {LABEL_PID: str(pid), LABEL_PID_START: process_start_time(pid) or "", LABEL_HOST: socket.gethostname()}


def run_labels(run_id: str, role: str = "") -> dict[str, str]:
    labels = {LABEL_RUN: run_id, **owner_labels()}
    if role:
        labels[LABEL_ROLE] = role
    return labels


def owner_state(labels: dict, host: str | None = None) -> str:
    """ALIVE, DEAD or FOREIGN (another host, or no host label: never ours to judge)."""
    if labels.get(LABEL_HOST) != (host or socket.gethostname()):
        return FOREIGN
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return DEAD
    started = process_start_time(pid) if pid > 0 else None
    if started is None:
        return DEAD
    expected = labels.get(LABEL_PID_START)
    if expected and expected != started:
        return DEAD            # the pid was recycled by a later process
    return ALIVE

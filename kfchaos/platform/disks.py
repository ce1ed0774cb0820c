"""Size-bounded broker disks: a loop-mounted ext4 image per broker, as a labelled Docker
volume, so that a disk-full fault fills that disk and not the host's.

Used when a profile sets ``platform.broker_disk_mb``. Needs root (losetup) on the Docker
host. Removed with the run: volume, loop device and image file. Each run's image folder
holds ``owner.json`` (host, pid and its start time) so that ``kfchaos clean`` can tell a
dead run's disks from a live one's even when Docker has nothing of that run any more.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import docker

from kfchaos.images.cache import cache_dir

from .owners import LABEL_RUN, run_labels

RUN_UID = 1000
OWNER_FILE = "owner.json"


class DiskError(RuntimeError):
    pass


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DiskError(f"{what} failed: {proc.stderr.strip()[:200]} (broker_disk_mb needs root and loop devices; "
                        "remove platform.broker_disk_mb from the profile to use the container's own disk)")
    return proc.stdout.strip()


def disks_root() -> Path:
    return cache_dir() / "disks"


def disks_dir(run_id: str) -> Path:
    return disks_root() / run_id


def create_disk(run_id: str, name: str, size_mb: int) -> str:
    """Create the image, loop device and Docker volume; returns the volume name."""
    d = disks_dir(run_id)
    d.mkdir(parents=True, exist_ok=True)
    labels = run_labels(run_id, "disk")
    (d / OWNER_FILE).write_text(json.dumps(labels))
    img = d / f"{name}.img"
    _run(["truncate", "-s", f"{size_mb}M", str(img)], f"truncate {img}")
    _run(["mkfs.ext4", "-q", "-F", "-E", f"root_owner={RUN_UID}:{RUN_UID}", str(img)], f"mkfs.ext4 {img}")
    loop = _run(["losetup", "--find", "--show", str(img)], f"losetup {img}")
    volume = f"chaos-{run_id}-{name}"
    docker.from_env().volumes.create(volume, driver="local", labels=labels,
                                     driver_opts={"type": "ext4", "device": loop})
    return volume


def run_dirs() -> dict[str, dict]:
    """run id -> owner labels (empty if unknown) of every run that has a disk folder."""
    root = disks_root()
    out = {}
    for d in sorted(root.iterdir()) if root.is_dir() else ():
        if d.is_dir():
            try:
                out[d.name] = json.loads((d / OWNER_FILE).read_text())
            except (OSError, ValueError):
                out[d.name] = {}
    return out


def loop_devices(run_id: str) -> list[str]:
    """Loop devices backed by an image of this run (also when the image file is deleted)."""
    if not shutil.which("losetup"):
        return []
    proc = subprocess.run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"],
                          capture_output=True, text=True)
    prefix = str(disks_dir(run_id)) + "/"
    return [line.split(None, 1)[0] for line in proc.stdout.splitlines()
            if len(line.split(None, 1)) == 2 and line.split(None, 1)[1].startswith(prefix)]


def release_disks(run_id: str) -> tuple[list[str], list[str]]:
    """Detach the loop devices and delete the image folder of a run: (removed, failed)."""
    removed, failed = [], []
    for dev in loop_devices(run_id):
        proc = subprocess.run(["losetup", "-d", dev], capture_output=True, text=True)
        if proc.returncode:
            failed.append(f"loop device {dev} of run {run_id}: {proc.stderr.strip()[:200]}")
        else:
            removed.append(f"loop device {dev}")
    d = disks_dir(run_id)
    if d.is_dir():
        try:
            shutil.rmtree(d)
            removed.append(f"disk images {d}")
        except OSError as exc:
            failed.append(f"disk images {d}: {exc.strerror}")
    return removed, failed


def remove_disks(run_id: str | None = None) -> list[str]:
    """Volumes, loop devices and images of one run (or, with None, of every run, live or not:
    ``cleanup.clean_dead_runs`` is the safe way to clean up after crashed runs)."""
    removed = []
    client = docker.from_env()
    selector = f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN
    for v in client.volumes.list(filters={"label": selector}):
        try:
            v.remove(force=True)
            removed.append(f"volume {v.name}")
        except docker.errors.APIError:
            pass
    for rid in [run_id] if run_id else list(run_dirs()):
        removed += release_disks(rid)[0]
    return removed

"""Size-bounded broker disks: a loop-mounted ext4 image per broker, as a labelled Docker
volume, so that a disk-full fault fills that disk and not the host's.

Used when a profile sets ``platform.broker_disk_mb``. Needs root (losetup) on the Docker
host. Removed with the run: volume, loop device and image file.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docker

from harness.images.cache import cache_dir

from .cleanup import LABEL_RUN, run_labels

RUN_UID = 1000


class DiskError(RuntimeError):
    pass


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DiskError(f"{what} failed: {proc.stderr.strip()[:200]} (broker_disk_mb needs root and loop devices; "
                        "remove platform.broker_disk_mb from the profile to use the container's own disk)")
    return proc.stdout.strip()


def disks_dir(run_id: str) -> Path:
    return cache_dir() / "disks" / run_id


def create_disk(run_id: str, name: str, size_mb: int) -> str:
    """Create the image, loop device and Docker volume; returns the volume name."""
    d = disks_dir(run_id)
    d.mkdir(parents=True, exist_ok=True)
    img = d / f"{name}.img"
    _run(["truncate", "-s", f"{size_mb}M", str(img)], f"truncate {img}")
    _run(["mkfs.ext4", "-q", "-F", "-E", f"root_owner={RUN_UID}:{RUN_UID}", str(img)], f"mkfs.ext4 {img}")
    loop = _run(["losetup", "--find", "--show", str(img)], f"losetup {img}")
    volume = f"chaos-{run_id}-{name}"
    docker.from_env().volumes.create(volume, driver="local", labels=run_labels(run_id, "disk"),
                                     driver_opts={"type": "ext4", "device": loop})
    return volume


def remove_disks(run_id: str | None = None) -> list[str]:
    """Volumes, loop devices and images of one run (or of every run)."""
    removed = []
    client = docker.from_env()
    selector = f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN
    for v in client.volumes.list(filters={"label": selector}):
        try:
            v.remove(force=True)
            removed.append(f"volume {v.name}")
        except docker.errors.APIError:
            pass
    roots = [disks_dir(run_id)] if run_id else [p for p in (cache_dir() / "disks").glob("*") if p.is_dir()]
    for root in roots:
        for img in root.glob("*.img"):
            out = subprocess.run(["losetup", "-j", str(img)], capture_output=True, text=True).stdout
            for line in out.splitlines():
                subprocess.run(["losetup", "-d", line.split(":")[0]], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return removed

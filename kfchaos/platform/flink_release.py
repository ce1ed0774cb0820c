"""Move the built-in platform's Flink cluster to another Flink release.

``move_flink_release(platform, image)``: the TaskManagers, then the JobManager, are stopped
and removed, and all of them are recreated from ``image`` with the same names, host ports,
configuration and labels. Checkpoints, savepoints and HA state live in the platform's
object storage, so they outlive the containers. Returns once the new JobManager's REST API
lists every TaskManager with free slots; the caller takes the savepoint before the move and
restores the job from it afterwards (kfchaos/scenarios/flink_upgrade.py).
"""
from __future__ import annotations

import logging
import time
from typing import Any

from . import probes
from .waits import Wait

log = logging.getLogger("chaos.platform")


def flink_nodes(platform) -> list:
    return [platform.flink_jobmanager, *platform.flink_taskmanagers]


def move_flink_release(platform, image: str, timeout: float = 180.0) -> dict[str, Any]:
    """Recreate every Flink container from ``image``; proof: images before and after, seconds."""
    t0 = time.monotonic()
    nodes = flink_nodes(platform)
    before = {n.name: n.container.image for n in nodes}
    for n in reversed(nodes):      # the job already ended with its savepoint: nothing to shut down cleanly
        n._c.remove(force=True)
    for n in nodes:
        n.container.image = image
        n.create_and_start()
    ready = Wait(f"the Flink cluster on {image} with free slots in REST",
                 probes.flink_slots(platform.flink_rest_url, len(platform.flink_taskmanagers)), timeout=timeout)
    ready.node = platform.flink_jobmanager     # a JobManager that exits fails the wait at once
    ready.until_ready()
    took = round(time.monotonic() - t0, 2)
    log.info(f"Flink cluster moved to {image} in {took:.1f}s")
    return {"images_before": before, "images_after": {n.name: n.container.image for n in nodes}, "seconds": took}

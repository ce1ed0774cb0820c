"""Fault schedules from a seed: the same seed and options give the same schedule.

A schedule is a list of ``FaultSpec`` (fault, target role, start, duration), written as
schedule.json into the run directory; a run can be repeated from that file.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Callable

from .base import FaultSpec

TARGETS: dict[str, list[str]] = {
    "kill": ["random", "controller", "zone:a", "zone:b", "zone:c"],
    "pause": ["random", "controller"],
    "clean-restart": ["random"],
    "isolate-zone": ["zone:a", "zone:b", "zone:c"],
    "one-way": ["zone:a", "zone:b", "zone:c"],
    "zone-latency": ["a-b", "b-c", "a-c", "zone:a", "zone:b", "zone:c"],
    "zone-loss": ["zone:a", "zone:b", "zone:c"],
    "flink-kill": ["taskmanager"],
    "s3-down": ["all"],
    "s3-latency": ["all"],
    "client-latency": ["all"],
}


def generate(seed: int, faults: list[str] | None = None, *, total_s: float = 120.0, fault_s: tuple[float, float] = (5, 20),
             gap_s: tuple[float, float] = (5, 15),
             applicable: Callable[[FaultSpec], bool] | None = None) -> list[FaultSpec]:
    """Sequential, non-overlapping faults within total_s seconds, drawn only from the (fault,
    target) pairs ``applicable`` accepts (e.g. no controller kill on a kind without a quorum)."""
    rng = random.Random(seed)
    targets = {n: [t for t in TARGETS.get(n, [""]) if applicable is None or applicable(FaultSpec(n, t, 0, 0))]
               for n in sorted(faults or TARGETS)}
    names = [n for n, ts in targets.items() if ts]
    if not names:
        return []
    specs: list[FaultSpec] = []
    t = rng.uniform(*gap_s)
    while True:
        name = rng.choice(names)
        duration = round(rng.uniform(*fault_s), 1)
        if t + duration > total_s:
            break
        specs.append(FaultSpec(name, rng.choice(targets[name]), round(t, 1), duration))
        t += duration + rng.uniform(*gap_s)
    return specs


def save(path: Path, specs: list[FaultSpec], seed: int | None = None) -> Path:
    path.write_text(json.dumps({"seed": seed, "faults": [s.to_json() for s in specs]}, indent=2) + "\n")
    return path


def load(path: Path) -> list[FaultSpec]:
    data = json.loads(Path(path).read_text())
    return [FaultSpec.from_json(d) for d in data["faults"]]

"""Fault schedules from a seed: the same seed, options and zones give the same schedule.

A schedule is a list of ``FaultSpec`` (fault, target role, start, duration), written as
schedule.json into the run directory; a run can be repeated from that file
(``load`` checks it first and raises one ``ScheduleError`` line on a bad file). Which
targets each fault may be given comes from its package (``kfchaos.faults.registry``),
expanded for the platform's zones. No fault is injected here.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Callable, Sequence

from . import registry
from .base import FaultSpec
from .validation import ScheduleError, validate, load_file

__all__ = ["generate", "save", "load", "validate", "ScheduleError", "menu"]

DEFAULT_ZONES = ("a", "b", "c")


def menu(faults: Sequence[str] | None = None, zones: Sequence[str] = DEFAULT_ZONES,
         applicable: Callable[[FaultSpec], bool] | None = None) -> dict[str, list[str]]:
    """fault name -> the targets a schedule may draw for it (only those ``applicable`` accepts)."""
    return {n: [t for t in registry.menu_targets(n, zones) if applicable is None or applicable(FaultSpec(n, t, 0, 0))]
            for n in sorted(faults or registry.default_menu())}


def generate(seed: int, faults: Sequence[str] | None = None, *, zones: Sequence[str] = DEFAULT_ZONES,
             total_s: float = 120.0, fault_s: tuple[float, float] = (5, 20), gap_s: tuple[float, float] = (5, 15),
             applicable: Callable[[FaultSpec], bool] | None = None) -> list[FaultSpec]:
    """Sequential, non-overlapping faults within total_s seconds, drawn only from the (fault,
    target) pairs ``applicable`` accepts (e.g. no controller kill on a kind without a quorum).
    ``faults`` is the menu of fault names (default: every fault with a schedule menu)."""
    rng = random.Random(seed)
    targets = menu(faults, tuple(zones), applicable)
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


def load(path: str | Path, zones: Sequence[str] | None = None) -> list[FaultSpec]:
    """A schedule file's specs, checked (ScheduleError names the file, the entry and the fix).
    Without ``zones`` the zone names in targets are checked for shape only."""
    return load_file(path, zones)

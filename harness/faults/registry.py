"""Every fault by name: the name is the test id, the CLI/schedule name and the report label."""
from __future__ import annotations

from .base import Fault, FaultError, FaultSpec
from .disk import DiskFull
from .load import Backfill
from .degrade import ZoneBandwidth, ZoneLatency, ZoneLoss
from .partition import IsolateObjectStorage, IsolateZone, OneWay, ZoneCut
from .process import CleanRestart, FlinkKill, Freeze, Kill, Pause, RollingRestart
from .replace import ReplaceBroker
from .toxics import TOXIC_FAULTS

FAULTS: dict[str, type[Fault]] = {cls.name: cls for cls in (
    Kill, Pause, Freeze, CleanRestart, RollingRestart, ReplaceBroker, DiskFull, FlinkKill,
    ZoneCut, IsolateZone, OneWay, IsolateObjectStorage,
    ZoneLatency, ZoneLoss, ZoneBandwidth, Backfill, *TOXIC_FAULTS)}


def create(platform, spec: FaultSpec, rng) -> Fault:
    cls = FAULTS.get(spec.fault)
    if cls is None:
        raise FaultError(f"unknown fault {spec.fault!r}; known: {', '.join(sorted(FAULTS))}")
    return cls(platform, spec, rng)

"""Checks of a fault schedule's schema and contents, before anything is started.

Each problem is one ``ScheduleError`` line: where (file and entry), what is wrong and
how to fix it. Checks: the file is JSON and a mapping with a ``faults`` list; each entry
is a mapping with known fields, a known fault, numbers that are finite, a start >= 0,
a duration > 0, and a target (and params) the fault accepts for the given zones.
No fault is injected here.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from .base import FaultSpec

FIELDS = ("fault", "target", "start", "duration", "params")
REQUIRED = ("fault", "start", "duration")
EXAMPLE = '{"seed": 1, "faults": [{"fault": "kill", "target": "zone:a", "start": 10, "duration": 15}]}'


class ScheduleError(ValueError):
    """A schedule that cannot run; the message is one line naming the source and the fix."""


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScheduleError(f"{where}: {key} must be a number of seconds, got {value!r}")
    if not math.isfinite(value):
        raise ScheduleError(f"{where}: {key} is {value!r}; use a finite number of seconds")
    return float(value)


def parse_entry(where: str, entry: Any) -> FaultSpec:
    """One JSON entry as a FaultSpec, or ScheduleError saying what is wrong with it."""
    if not isinstance(entry, dict):
        raise ScheduleError(f"{where}: each fault must be an object like {{\"fault\": \"kill\", \"start\": 10, "
                            f"\"duration\": 15}}, got {type(entry).__name__}")
    unknown = [k for k in entry if k not in FIELDS]
    if unknown:
        raise ScheduleError(f"{where}: unknown field(s) {unknown}; the fields are {', '.join(FIELDS)}")
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise ScheduleError(f"{where}: missing field(s) {missing}; every fault needs {', '.join(REQUIRED)}")
    if not isinstance(entry["fault"], str):
        raise ScheduleError(f"{where}: fault must be a fault name (a string), got {entry['fault']!r}")
    target = entry.get("target", "")
    if target is None:
        target = ""
    if not isinstance(target, str):
        raise ScheduleError(f"{where}: target must be a string such as \"zone:a\", got {target!r}")
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise ScheduleError(f"{where}: params must be an object of fault parameters, got {params!r}")
    start = _number(where, "start", entry["start"])
    duration = _number(where, "duration", entry["duration"])
    return FaultSpec(entry["fault"], target, start, duration, dict(params))


def check_spec(where: str, spec: FaultSpec, zones: Sequence[str] | None) -> None:
    """A parsed spec: known fault, start >= 0, duration > 0, a target and params it accepts."""
    from . import registry
    pkg = registry.PACKAGES.get(spec.fault)
    if pkg is None:
        raise ScheduleError(f"{where}: unknown fault {spec.fault!r}; known faults: {', '.join(registry.known())}")
    for key in ("start", "duration"):
        _number(where, key, getattr(spec, key))
    if spec.start < 0:
        raise ScheduleError(f"{where}: start is {spec.start:g}; use seconds after the workload starts (>= 0)")
    if spec.duration <= 0:
        raise ScheduleError(f"{where}: duration is {spec.duration:g}; use a positive number of seconds")
    if not isinstance(spec.params, dict):
        raise ScheduleError(f"{where}: params must be a mapping, got {spec.params!r}")
    problem = pkg.problem(spec, zones)
    if problem:
        raise ScheduleError(f"{where}: {spec.fault}: {problem}")


def validate(specs: Sequence[FaultSpec], zones: Sequence[str] | None = None, *, source: str = "schedule") -> None:
    """Raise ScheduleError for the first bad spec. With ``zones`` None, only the shape of
    zone names in targets is checked (e.g. before the profile's zones are known)."""
    for i, spec in enumerate(specs):
        if not isinstance(spec, FaultSpec):
            raise ScheduleError(f"{source}: faults[{i}] is a {type(spec).__name__}, not a FaultSpec")
        check_spec(f"{source}: faults[{i}] ({spec.label()})", spec, zones)


def parse_text(text: str, source: str) -> list[FaultSpec]:
    """A schedule file's text as specs (schema only; see ``validate`` for contents)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScheduleError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
                            f"fix the syntax (a schedule looks like {EXAMPLE})") from None
    if not isinstance(data, dict):
        raise ScheduleError(f"{source}: the top level is a {type(data).__name__}, not an object; "
                            f"a schedule looks like {EXAMPLE}")
    if "faults" not in data:
        raise ScheduleError(f"{source}: no \"faults\" list; a schedule looks like {EXAMPLE}")
    if not isinstance(data["faults"], list):
        raise ScheduleError(f"{source}: \"faults\" must be a list, got {type(data['faults']).__name__}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ScheduleError(f"{source}: seed must be an integer or null, got {seed!r}")
    return [parse_entry(f"{source}: faults[{i}]", e) for i, e in enumerate(data["faults"])]


def load_file(path: str | Path, zones: Sequence[str] | None = None) -> list[FaultSpec]:
    source = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ScheduleError(f"{source}: cannot read the schedule: {exc.strerror or exc}; "
                            "check CHAOS_SCHEDULE points at a schedule.json") from None
    specs = parse_text(text, source)
    validate(specs, zones, source=source)
    return specs

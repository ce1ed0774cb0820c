"""Access-control checker: a principal without rights never reads, writes or joins.

Contract
--------
The history's ``intrude`` operations (:mod:`kfchaos.clients.intruder`) are attempts of a
principal without ACLs on the workload's topic and group. Each completion counts once:

* ``ok`` is an anomaly, by action: ``unauthorized-write`` (produce acknowledged),
  ``unauthorized-read`` (a record fetched), ``unauthorized-group-join`` (joined the
  workload's group). Any of them makes the verdict ``invalid``;
* ``fail`` is a denial (the broker refused it; ``stats["denied"]`` by error code);
* ``info`` is an unknown outcome (``stats["unknown"]``): never a violation, never a denial.

Every attempt is placed in a phase against the history's fault windows: ``before`` the
first fault started, ``during`` a fault window, ``after`` the last one stopped (or
``between`` two). ``stats["phases"]`` counts denied / unknown / succeeded per phase and
examples carry the fault windows they overlap. Without an anomaly the verdict is
``unknown`` when no attempt was denied at all, or when the history has fault windows
and a phase among before, during and after has no denied attempt (the access was never
tried there); else ``valid``. Unpaired invokes count as unknown outcomes.
"""
from __future__ import annotations

from typing import Any

from .faults import overlapping
from .index import as_index
from .verdict import Verdict

NAME = "access-control"
F = "intrude"
ANOMALY = {"produce": "unauthorized-write", "consume": "unauthorized-read", "join-group": "unauthorized-group-join"}
PHASES = ("before", "during", "between", "after")
REQUIRED = ("before", "during", "after")


def check(history: Any, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    windows = list(idx.fault_windows)
    phases = {p: {"denied": 0, "unknown": 0, "succeeded": 0} for p in PHASES}
    denied: dict[str, int] = {}
    pending: dict[Any, dict] = {}
    attempts = 0
    for op in idx.get(F):
        value = op.get("value") or {}
        key = (op.get("process"), value.get("attempt"))
        if op["type"] == "invoke":
            pending[key] = op
            attempts += 1
            continue
        inv = pending.pop(key, None)
        t0 = inv["time"] if inv is not None else op["time"]
        phase = _phase(windows, t0, op["time"])
        if op["type"] == "ok":
            phases[phase]["succeeded"] += 1
            kind = ANOMALY.get(value.get("action"), "unauthorized-access")
            if v.wants_example(kind):
                v.add(kind, _example(idx, value, phase, t0, op))
            else:
                v.add(kind)
        elif op["type"] == "fail":
            phases[phase]["denied"] += 1
            code = str(value.get("code") or value.get("error") or "?")
            denied[code] = denied.get(code, 0) + 1
        else:
            phases[phase]["unknown"] += 1
    for inv in pending.values():
        phases[_phase(windows, inv["time"], inv["time"])]["unknown"] += 1
    v.stats.update({"attempts": attempts, "denied": denied, "phases": phases, "fault_windows": len(windows),
                    "unknown": sum(p["unknown"] for p in phases.values())})
    return v.finish(_undecided(phases, bool(windows), attempts))


def _phase(windows: list, start: int, end: int) -> str:
    if not windows:
        return "before"
    if any(w.overlaps(start, end) for w in windows):
        return "during"
    if end < min(w.start for w in windows):
        return "before"
    if all(w.end < start for w in windows):
        return "after"
    return "between"


def _undecided(phases: dict, faulted: bool, attempts: int) -> str | None:
    if not attempts:
        return "no intruder attempt in the history"
    if not any(p["denied"] for p in phases.values()):
        return "no intruder attempt was answered (every outcome unknown)"
    if faulted:
        missing = [p for p in REQUIRED if not phases[p]["denied"]]
        if missing:
            return f"no intruder attempt was denied {' or '.join(missing)} the faults"
    return None


def _example(idx: Any, value: dict, phase: str, t0: int, op: dict) -> dict:
    ex = {k: value[k] for k in ("action", "principal", "topic", "group", "partition", "offset", "partitions")
          if value.get(k) is not None}
    ex.update({"phase": phase, "time": op["time"], "wall": op.get("wall")})
    ex["fault_windows"] = overlapping(idx.fault_windows, t0, op["time"])
    return ex

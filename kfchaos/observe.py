"""What the harness itself observes, recorded as operations of process ``harness``.

Everything a contract decides is an operation in the history, so that ``kfchaos analyze``
recomputes every verdict and figure from the history (``history.kfh``, or a
``history.jsonl``) alone. Besides the clients' and the nemesis's operations, the harness
records:

=================  ======  ===================================================================
f                  type    value
=================  ======  ===================================================================
scenario           ok      name, title, description, contracts, seed, platform {kind, versions}
                           (first op of a scenario)
check-options      ok      options for the checkers (budgets, output topic, ...), merged in order
note               ok      contract, text: why a contract cannot be decided on this platform
not-applicable     ok      reason: the platform kind lacks what the scenario needs
measure            ok      name (a figure of :mod:`kfchaos.figures`), value
cluster-health     invoke  after heal: waiting for every partition to be fully replicated
                   ok      waited_s
                   fail    waited_s, error: never healthy within the timeout
job-recovery       ok      job_id, state, time_to_running_s: a Flink job after its fault
drain              ok/fail what (consumers|output), waited_s, done (bool), detail
harness-error      info    error: a workload thread or step failed (the run is not as planned)
scenario-error     info    error: the scenario raised (status error)
ramp-step          ok      step, rate, consumers, start, end (monotonic ns), saturated_first
                           (kfchaos.ramp: the load ramp's per-step figures)
reassign           ok/fail move, start, end (monotonic ns), before, plan, sizes, throttle
                           (kfchaos.elasticity: scale-out/in figures)
scale              ok      action (add|remove), node_id, zone, seconds: a broker added or removed
throttle           ok      left: replication throttles still set after the final clean-up
scenario-end       ok      {}
traffic            ok      phase (start|end), zones or unavailable: the zone proxies' byte
                           counters (recorded by :mod:`kfchaos.platform.traffic`)
=================  ======  ===================================================================
"""
from __future__ import annotations

import math
from typing import Any

from kfchaos.figures import figure

PROCESS = "harness"
KINDS = ("scenario", "check-options", "note", "not-applicable", "measure", "traffic", "cluster-health",
         "job-recovery", "drain", "harness-error", "scenario-error", "scenario-end")


def _ok(history, f: str, value: dict[str, Any]) -> dict:
    return history.ok(PROCESS, f, value)


def scenario_started(history, *, name: str, title: str, description: str, contracts: tuple[str, ...],
                     seed: int | None, requires: tuple[str, ...] = (), platform: dict | None = None) -> dict:
    return _ok(history, "scenario", {"name": name, "title": title, "description": description,
                                     "contracts": list(contracts), "seed": seed, "requires": list(requires),
                                     "platform": platform or {}})


def check_options(history, **options: Any) -> dict:
    return _ok(history, "check-options", {k: _jsonable(v) for k, v in options.items()})


def note(history, contract: str, text: str) -> dict:
    return _ok(history, "note", {"contract": contract, "text": text})


def not_applicable(history, reason: str) -> dict:
    return _ok(history, "not-applicable", {"reason": reason})


def measure(history, name: str, value: Any) -> dict:
    """Record one figure (it must be registered in :mod:`kfchaos.figures`)."""
    figure(name)
    return _ok(history, "measure", {"name": name, "value": _jsonable(value)})


def job_recovery(history, *, job_id: str, state: str, all_tasks_running: bool,
                 time_to_running_s: float | None) -> dict:
    """A Flink job after its fault: RUNNING again (and after how long), or not."""
    running = state == "RUNNING" and bool(all_tasks_running)
    return _ok(history, "job-recovery", {"job_id": job_id, "state": "RUNNING" if running else state,
                                         "time_to_running_s": _jsonable(time_to_running_s)})


def harness_error(history, error: str) -> dict:
    return history.info(PROCESS, "harness-error", {"error": error})


def scenario_error(history, error: str) -> dict:
    return history.info(PROCESS, "scenario-error", {"error": error})


def scenario_ended(history) -> dict:
    return _ok(history, "scenario-end", {})


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, float):
        return round(v, 3)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v

"""A scenario, declared as data, and one execution of it.

``Scenario`` is what the registry (:mod:`kfchaos.scenarios`) holds: a name (the CLI name,
the test id and the report label), the contracts it certifies, the platform capabilities
it requires, the capabilities without which a full certification leaves it out, and its
steps (a function of a :class:`ScenarioRun`).

``run_scenario`` executes one: its own directory and history, a nemesis that heals every
fault whatever happens; the steps create topics, run recorded workloads with fault
schedules or Flink lifecycle steps, and record what they measure; the zone proxies' byte
counters are sampled at the start and after the final heal (:mod:`kfchaos.platform.traffic`).
Every fact the verdict depends on is an operation in the history (:mod:`kfchaos.observe`),
and the result comes
from :func:`kfchaos.analyze.analyze_scenario` over the stored history -- the same call
``kfchaos analyze`` makes. A scenario that raises is recorded with status ``error``, never
as held.
"""
from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kfchaos import observe
from kfchaos.checkers.isolation import BASELINE_P99_MAX_MS, P99_ALLOWANCE_MS
from kfchaos.faults import schedule as schedules
from kfchaos.faults.base import FaultSpec
from kfchaos.faults.nemesis import Nemesis
from kfchaos.history import History, live_history_name
from kfchaos.platform import topics
from kfchaos.results import ScenarioResult
from kfchaos.workload import Workload, WorkloadSpec

log = logging.getLogger("chaos.scenario")


#: capabilities that come from a profile's configuration rather than its platform kind
CONFIG_CAPABILITIES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "bounded-broker-disks": (lambda cfg: bool(getattr(cfg, "broker_disk_mb", 0)),
                             "the brokers' log directories are not bounded disks: set platform.broker_disk_mb "
                             "(e.g. 512) in the profile"),
    "upgrade-release": (lambda cfg: bool((getattr(cfg, "upgrade", None) or {}).get("kafka")),
                        "no release to upgrade to: set platform.upgrade.kafka (e.g. 4.1.1) in the profile"),
    "flink-upgrade-release": (lambda cfg: bool((getattr(cfg, "upgrade", None) or {}).get("flink")),
                              "no Flink release to move the job to: set platform.upgrade.flink (e.g. 2.2.0) "
                              "in the profile"),
    "soak": (lambda cfg: soak_requested(),
             "a soak runs for a duration you choose: kfchaos certify --soak DURATION (e.g. --soak 1h)"),
    # the intruder needs credentials; whether ACLs then stop it is what access-control checks
    "sasl": (lambda cfg: getattr(getattr(cfg, "security", None), "protocol", None) == "SASL_SSL",
             "the platform does not authenticate clients: set platform.security "
             "{protocol: SASL_SSL, mechanism: SCRAM-SHA-512, acls: true} in the profile (e.g. kafka-3az-sasl)"),
}


def soak_requested() -> bool:
    """A soak duration was given (``CHAOS_SOAK``, set by ``kfchaos certify --soak``)."""
    import os
    return bool(os.environ.get("CHAOS_SOAK"))


def missing_capability(flavor, cfg, *features: str) -> str | None:
    """Why the platform (its kind's flavor and its configuration) lacks one of ``features``, or None."""
    for f in features:
        if f in CONFIG_CAPABILITIES:
            has, why = CONFIG_CAPABILITIES[f]
            if cfg is not None and not has(cfg):
                return f"{f}: {why}"
        elif flavor is not None:
            reason = flavor.missing(f)
            if reason:
                return reason
    return None


class NotApplicable(RuntimeError):
    """The platform lacks a capability the scenario (or one of its faults) needs."""


@dataclass(frozen=True)
class Scenario:
    name: str
    doc: str                                   # first line: the title; the rest: contracts, fault, expectation
    contracts: tuple[str, ...]
    steps: Callable[["ScenarioRun"], None]
    requires: tuple[str, ...] = ()             # capabilities it cannot run without (else: not applicable)
    only_with: tuple[str, ...] = ()            # left out of a full certification without these
    tags: tuple[str, ...] = ()                 # pytest markers: "flink", "fault", ...
    history: Callable[[Path], History] | None = None   # the live history of its directory (default: one file)

    @property
    def title(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.name

    def not_applicable(self, flavor, cfg=None) -> str | None:
        """Why this scenario cannot run on a platform kind (a flavor) with configuration ``cfg``, or None."""
        return missing_capability(flavor, cfg, *self.requires, *self.only_with)


class ScenarioRun:
    """What a scenario's steps drive: topics, workloads, faults, measures, notes."""

    def __init__(self, scenario: Scenario, platform, profile, run_dir: Path, seed: int):
        self.scenario, self.platform, self.profile, self.seed = scenario, platform, profile, seed
        self.name = scenario.name
        self.group = f"{scenario.name}-group"          # the consumer group of the scenario's workloads
        self.dir = Path(run_dir) / scenario.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.history = scenario.history(self.dir) if scenario.history else History(self.dir / live_history_name())
        self.nemesis = Nemesis(platform, self.history, seed=seed)
        self.schedule: list[FaultSpec] = []
        self._workloads = 0
        self.encoders: dict = {}     # topic -> message value encoder (a user job's input format)

    # ---- recording -------------------------------------------------------------------
    def measure(self, name: str, value: Any) -> None:
        observe.measure(self.history, name, value)

    def note(self, contract: str, text: str) -> None:
        """Why a contract cannot be decided on this platform (reported with 'unknown')."""
        observe.note(self.history, contract, text)

    def check_options(self, **options: Any) -> None:
        observe.check_options(self.history, **options)

    # ---- building blocks ---------------------------------------------------------------
    def topic(self, suffix: str = "in", **overrides) -> str:
        name = f"{self.name}-{suffix}-{uuid.uuid4().hex[:6]}"
        cfg = {**self.profile.topic_config, **overrides.pop("config", {})}
        topics.create_topic(self.platform, name, overrides.get("partitions", self.profile.partitions),
                            overrides.get("replication_factor", self.profile.replication_factor), cfg)
        authorize = getattr(self.platform, "authorize_workload", None)   # ACLs: the workload's group
        if authorize is not None:
            authorize(group=self.group)
        return name

    def set_schedule(self, specs: list[FaultSpec]) -> list[FaultSpec]:
        self.schedule = list(specs)
        schedules.save(self.dir / "schedule.json", self.schedule, self.seed)
        return self.schedule

    def require_faults(self, faults: list[FaultSpec]) -> None:
        """Raise NotApplicable when the platform kind lacks what one of the faults needs."""
        flavor = getattr(self.platform, "flavor", None)
        reasons = [f"fault {f.label()} is not applicable: {r}" for f in faults
                   if flavor is not None and (r := flavor.fault_not_applicable(f))]
        if reasons:
            raise NotApplicable("; ".join(reasons))

    def fault_window_wall(self, fault: str) -> tuple[float, float] | None:
        """Wall-clock (start, stop) of the first completed window of ``fault`` in the history."""
        from kfchaos.history import iter_load
        self.history.flush()
        start = None
        for op in iter_load(self.history.path):
            if op.get("f") not in ("fault-start", "fault-stop") or op.get("type") != "ok":
                continue
            if (op.get("value") or {}).get("fault") != fault:
                continue
            if op["f"] == "fault-start":
                start = op.get("wall")
            elif start is not None:
                return start, op.get("wall")
        return None

    def workload(self, topic: str, spec: WorkloadSpec | None = None, faults: list[FaultSpec] = (),
                 during=None) -> dict:
        self.require_faults(list(faults))
        if faults:
            self.set_schedule(list(self.schedule) + list(faults))
            self.nemesis.reopen()          # a previous workload's heal closed it
        self._workloads += 1
        prefix = "" if self._workloads == 1 else f"w{self._workloads}-"
        w = Workload(self.platform, self.profile, self.history, topic, spec or WorkloadSpec(),
                     group=self.group, prefix=prefix, encode=self.encoders.get(topic))
        return w.run(self.nemesis, list(faults), during=during)


def _platform_facts(platform) -> dict:
    from kfchaos.certify import platform_facts
    try:
        return platform_facts(platform)
    except Exception as exc:       # a platform that cannot say what it runs still runs
        log.warning("platform facts unavailable: %s", exc)
        return {}


def run_scenario(scenario: Scenario, platform, profile, run_dir: Path, seed: int) -> ScenarioResult:
    """Run one scenario on a started platform; its result, also written to <run_dir>/<name>/."""
    from kfchaos.analyze import analyze_scenario
    log.info("%s: %s", scenario.name, scenario.title)
    run = ScenarioRun(scenario, platform, profile, run_dir, seed)
    observe.scenario_started(run.history, name=scenario.name, title=scenario.title, description=scenario.doc.strip(),
                             contracts=scenario.contracts, seed=seed, requires=scenario.requires,
                             platform=_platform_facts(platform))
    run.check_options(**_budget_options(profile))
    _traffic_sample(run, "start")
    interrupted = False
    try:
        reason = scenario.not_applicable(getattr(platform, "flavor", None), getattr(platform, "cfg", None))
        if reason:
            raise NotApplicable(reason)
        scenario.steps(run)
    except NotApplicable as exc:
        log.info("%s: not applicable: %s", scenario.name, exc)
        observe.not_applicable(run.history, str(exc))
    except Exception as exc:
        (run.dir / "error.txt").write_text(_redact("".join(traceback.format_exception(exc))))
        observe.scenario_error(run.history, _redact(f"{type(exc).__name__}: {exc}"))
        log.error("%s: error: %s: %s", scenario.name, type(exc).__name__, exc)
    except BaseException:           # Ctrl-C, SIGTERM: heal and close, no result (the run is incomplete)
        interrupted = True
        raise
    finally:
        _close(run, measure=not interrupted)
    result, verdicts = analyze_scenario(run.dir)
    (run.dir / "verdicts.json").write_text(json.dumps({k: v.to_dict() for k, v in verdicts.items()},
                                                      indent=1, default=str))
    result.write(run.dir)
    log.info("%s: %s %s", scenario.name, result.status,
             ", ".join(f"{c.contract}={c.verdict}" for c in result.contracts))
    return result


def _close(run: ScenarioRun, measure: bool = True) -> None:
    """Heal every fault, record the figures nobody else records (not when interrupted), close
    the history."""
    try:
        run.nemesis.close()
    finally:
        try:
            if measure:
                _traffic_sample(run, "end")
                for name, value in _storage_figures(run.platform).items():
                    run.measure(name, value)
                observe.scenario_ended(run.history)
        finally:
            run.history.close()


def _budget_options(profile) -> dict[str, Any]:
    b = profile.budgets
    return {"recovery_budget_s": b.get("recovery_seconds"), "max_redelivery": b.get("max_redelivery"),
            "backfill_p99_ratio": b.get("backfill_p99_ratio", 2.0),
            "replay_baseline_p99_ms": b.get("replay_baseline_p99_ms", BASELINE_P99_MAX_MS),
            "replay_p99_allowance_ms": b.get("replay_p99_allowance_ms", P99_ALLOWANCE_MS)}


def _traffic_sample(run: ScenarioRun, phase: str) -> None:
    """The zone proxies' byte counters as a ``traffic`` op (the cross-zone figures); a failure
    to sample is logged and leaves the figure unknown, never the verdicts lost."""
    from kfchaos.platform import traffic
    try:
        traffic.record(run.history, run.platform, phase, getattr(run.profile, "prices", None))
    except Exception as exc:
        log.warning("traffic counters (%s) unavailable: %s: %s", phase, type(exc).__name__, exc)


def _storage_figures(platform) -> dict[str, Any]:
    """Bytes on broker disks and in object storage at the end (the side-by-side figure);
    nothing when the platform cannot be asked (a broker down, storage unreachable)."""
    from kfchaos.platform.storage_figures import storage_figures
    try:
        return storage_figures(platform)
    except Exception as exc:  # a figure, never a reason to lose the verdicts
        log.warning("storage figures unavailable: %s: %s", type(exc).__name__, exc)
        return {}


def _redact(text: str) -> str:
    from kfchaos.redact import redact
    return redact(text)


def elapsed(t0: float) -> float:
    return round(time.monotonic() - t0, 2)

"""Typed results: a contract's verdict, a scenario's result, a run's result.

``ContractResult`` -> ``ScenarioResult`` (one per scenario, ``<run>/<name>/result.json``)
-> ``RunResult`` (``<run>/results.json``). Every renderer (text summary, report.html,
compare, JUnit, Allure) reads these types; ``to_dict``/``from_dict`` keep the JSON
layout of earlier runs so stored run directories stay readable.

Statuses: a contract is ``held`` / ``violated`` / ``unknown``; a scenario is one of
those or ``error`` (the harness failed, not the platform). A run is ``held`` only if
every chosen scenario finished and held; a run that did not complete every chosen
scenario is ``unknown`` whatever its partial results say.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kfchaos.redact import redact_data

__all__ = ["ContractResult", "ScenarioResult", "RunResult", "overall", "EXIT_CODES", "WORDS"]

WORDS = {"valid": "held", "invalid": "violated", "unknown": "unknown"}
EXIT_CODES = {"held": 0, "violated": 1}          # anything else: 2


def overall(statuses: list[str]) -> str:
    """violated beats unknown/error beats held; nothing at all is unknown."""
    if "violated" in statuses:
        return "violated"
    if not statuses or any(s != "held" for s in statuses):
        return "unknown"
    return "held"


def _list(d: dict[str, Any], key: str) -> list:
    """``d[key]`` as a list (missing: empty); anything else is a TypeError naming the field."""
    value = d.get(key) or []
    if not isinstance(value, list):
        raise TypeError(f"{key} is a {type(value).__name__}, not a list")
    return value


@dataclass
class ContractResult:
    contract: str
    verdict: str                                 # held | violated | unknown
    checkers: list[str] = field(default_factory=list)
    reason: str = ""
    anomalies: dict[str, Any] = field(default_factory=dict)
    informational: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ContractResult":
        anomalies = d.get("anomalies") or {}
        if not isinstance(anomalies, dict):
            raise TypeError(f"contract {d.get('contract')!r}: anomalies is a {type(anomalies).__name__}, not a mapping")
        return cls(str(d.get("contract", "?")), str(d.get("verdict", "unknown")), list(d.get("checkers") or []),
                   str(d.get("reason") or ""), anomalies, list(d.get("informational") or []))


@dataclass
class ScenarioResult:
    name: str
    status: str                                  # held | violated | unknown | error
    contracts: list[ContractResult] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    description: str = ""
    error: str | None = None
    duration_s: float | None = None
    started: float | None = None                 # wall clock of the scenario's first operation
    seed: int | None = None
    history: str | None = None
    schedule: str | None = None
    wanted_contracts: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    check_opts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["contracts"] = [c.to_dict() for c in self.contracts]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScenarioResult":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k not in ("contracts", "name", "status")}
        contracts = _list(d, "contracts")
        return cls(name=str(d.get("name", "?")), status=str(d.get("status", "unknown")), **known,
                   contracts=[ContractResult.from_dict(c) for c in contracts if isinstance(c, dict)])

    def verdict_of(self, contract: str) -> str | None:
        return next((c.verdict for c in self.contracts if c.contract == contract), None)

    def write(self, directory: Path) -> Path:
        path = Path(directory) / "result.json"
        path.write_text(json.dumps(redact_data(self.to_dict()), indent=1, default=str))
        return path

    def summary(self) -> str:
        """The scenario's status, and for each contract that did not hold its reason and examples."""
        lines = [f"{self.name}: {self.status}" + (f" ({self.error})" if self.error else "")]
        for c in self.contracts:
            if c.verdict != "held":
                lines.append(f"  {c.contract}: {c.verdict} - {c.reason}")
                for kind, a in (c.anomalies.items() if isinstance(c.anomalies, dict) else ()):
                    a = a if isinstance(a, dict) else {}
                    examples = a.get("examples") if isinstance(a.get("examples"), list) else []
                    ex = json.dumps(examples[:2], default=str)[:300]
                    lines.append(f"    {kind}: {a.get('count')}, e.g. {ex}")
        return "\n".join(lines)


@dataclass
class RunResult:
    profile: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)      # every scenario the run set out to certify
    left_out: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    kind: str | None = None
    profile_description: str = ""
    seed: int | None = None
    command: str | None = None
    started: float | None = None
    finished: float | None = None
    platform: dict[str, Any] = field(default_factory=dict)
    interrupted: str | None = None

    @property
    def missing(self) -> list[str]:
        """Chosen scenarios without a result (an interrupted or crashed run)."""
        have = {s.name for s in self.scenarios}
        return [n for n in self.chosen if n not in have]

    @property
    def complete(self) -> bool:
        return not self.missing and self.interrupted is None

    @property
    def overall(self) -> str:
        statuses = [s.status for s in self.scenarios]
        verdict = overall(statuses)
        if not self.complete and verdict == "held":
            return "unknown"
        return verdict

    @property
    def exit_code(self) -> int:
        """0 every contract held, 1 one was violated, 2 unknown, error or an incomplete run."""
        return EXIT_CODES.get(self.overall, 2)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "scenarios"}
        d.update(overall=self.overall, complete=self.complete, missing=self.missing,
                 scenarios=[s.to_dict() for s in self.scenarios])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunResult":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k not in ("scenarios", "profile")}
        scenarios = [ScenarioResult.from_dict(s) for s in _list(d, "scenarios") if isinstance(s, dict)]
        known.setdefault("chosen", [s.name for s in scenarios])
        return cls(profile=str(d.get("profile", "?")), **known, scenarios=scenarios)

    def write(self, run_dir: Path) -> Path:
        self.finished = self.finished or time.time()
        path = Path(run_dir) / "results.json"
        path.write_text(json.dumps(redact_data(self.to_dict()), indent=1, default=str))
        return path

    def summary_table(self) -> str:
        lines = [f"{self.profile}: {self.overall.upper()}"]
        for s in self.scenarios:
            cs = ", ".join(f"{c.contract}={c.verdict}" for c in s.contracts)
            lines.append(f"  {s.name:26s} {s.status:9s} {cs}" + (f"  ({s.error})" if s.error else ""))
        for name in self.missing:
            lines.append(f"  {name:26s} {'no result':9s} (the run ended before this scenario finished)")
        if self.interrupted:
            lines.append(f"  interrupted: {self.interrupted}")
        return "\n".join(lines)

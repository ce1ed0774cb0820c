"""One scenario execution: its own directory, history, topics and nemesis, and its result.

``ScenarioRun`` is what a scenario module drives: create topics, run a recorded
workload with a fault schedule (or Flink lifecycle steps), then ``finish()`` runs the
checkers on the stored history and writes ``<run_dir>/<name>/result.json`` with the
contract verdicts (held / violated / unknown), figures and examples. A scenario that
raises is recorded with status ``error`` (exit code 2 for the run), never as held.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from harness import checkers
from harness.contracts import contract_results, figures, run_problems, settle
from harness.faults import schedule as schedules
from harness.faults.base import FaultSpec
from harness.faults.nemesis import Nemesis
from harness.history import History, iter_load
from harness.platform import topics
from harness.platform.storage_figures import storage_figures
from harness.workload import Workload, WorkloadSpec


def _say(msg: str) -> None:
    print(f"[scenario] {msg}", file=sys.stderr, flush=True)


class NotApplicable(RuntimeError):
    """The scenario needs a feature this platform kind lacks; its result (contracts unknown,
    with the reason) is already written."""


class ScenarioRun:
    def __init__(self, platform, profile, run_dir: Path, seed: int, name: str, title: str, description: str,
                 contracts: tuple[str, ...]):
        self.platform, self.profile, self.seed = platform, profile, seed
        self.name, self.title, self.description, self.contracts = name, title, description, contracts
        self.dir = Path(run_dir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.history = History(self.dir / "history.jsonl")
        self.nemesis = Nemesis(platform, self.history, seed=seed)
        self.notes: dict[str, str] = {}
        self.extra_figures: dict[str, Any] = {}
        self.extra_verdicts: dict[str, checkers.Verdict] = {}
        self.check_opts: dict[str, Any] = {}
        self.schedule: list[FaultSpec] = []
        self.started = time.time()
        self.result: dict[str, Any] | None = None
        self._opts: dict[str, Any] = {}
        _say(f"{name}: {title}")

    # ---- building blocks ---------------------------------------------------------------
    def topic(self, suffix: str = "in", **overrides) -> str:
        name = f"{self.name}-{suffix}-{uuid.uuid4().hex[:6]}"
        cfg = {**self.profile.topic_config, **overrides.pop("config", {})}
        return topics.create_topic(self.platform, name, overrides.get("partitions", self.profile.partitions),
                                   overrides.get("replication_factor", self.profile.replication_factor), cfg)

    def set_schedule(self, specs: list[FaultSpec]) -> list[FaultSpec]:
        self.schedule = list(specs)
        schedules.save(self.dir / "schedule.json", self.schedule, self.seed)
        return self.schedule

    def workload(self, topic: str, spec: WorkloadSpec | None = None, faults: list[FaultSpec] = (),
                 during=None) -> dict:
        self.check_applicable(faults=faults)
        if faults:
            self.set_schedule(list(self.schedule) + list(faults))
        self._workloads = getattr(self, "_workloads", 0) + 1
        prefix = "" if self._workloads == 1 else f"w{self._workloads}-"
        w = Workload(self.platform, self.profile, self.history, topic, spec or WorkloadSpec(),
                     group=f"{self.name}-group", prefix=prefix)
        out = w.run(self.nemesis, list(faults), during=during)
        if out["errors"]:
            _say(f"workload errors: {out['errors'][:3]}")
        self.extra_figures["workload_errors"] = out["errors"]
        if out.get("healthy_after_heal_s") is not None:
            self.extra_figures["cluster_healthy_after_heal_s"] = round(out["healthy_after_heal_s"], 2)
        return out

    def note(self, contract: str, text: str) -> None:
        """Why a contract cannot be decided on this platform (reported with 'unknown')."""
        self.notes[contract] = text

    def check_applicable(self, faults: list[FaultSpec] = (), needs: tuple[str, ...] = ()) -> None:
        """Raise ``NotApplicable`` (after writing a result whose contracts are unknown, with
        the reason) when the platform kind lacks a feature in ``needs`` or one the faults rely on."""
        flavor = getattr(self.platform, "flavor", None)
        if flavor is None:
            return
        reasons = [r for r in [flavor.missing(*needs)] if r]
        reasons += [f"fault {f.label()} is not applicable: {r}" for f in faults
                    if (r := flavor.fault_not_applicable(f))]
        if not reasons:
            return
        reason = "; ".join(reasons)
        for c in self.contracts:
            self.note(c, reason)
        self.finish_not_applicable(reason)
        raise NotApplicable(reason)

    def finish_not_applicable(self, reason: str) -> dict[str, Any]:
        self.nemesis.close()
        self.history.close()
        contracts = [{"contract": c, "verdict": "unknown", "checkers": [], "reason": self.notes.get(c, reason),
                      "anomalies": {}} for c in self.contracts]
        _say(f"{self.name}: not applicable: {reason}")
        return self._write("unknown", contracts, {**self.extra_figures, "not_applicable": reason})

    # ---- verdicts ----------------------------------------------------------------------
    def finish(self, **opts: Any) -> dict[str, Any]:
        self.nemesis.close()
        self.history.close()
        opts = {"recovery_budget_s": self.profile.budgets["recovery_seconds"],
                "max_redelivery": self.profile.budgets.get("max_redelivery"), **self.check_opts, **opts}
        self._opts = opts
        path = self.dir / "history.jsonl"
        verdicts = checkers.check_all(checkers.HistoryIndex.from_path(path), **opts)
        verdicts.update(self.extra_verdicts)
        (self.dir / "verdicts.json").write_text(json.dumps({k: v.to_dict() for k, v in verdicts.items()},
                                                           indent=1, default=str))
        contracts = contract_results(verdicts, self.contracts, self.notes)
        status = settle(contracts, run_problems(iter_load(path), self.extra_figures.get("workload_errors")))
        figs = {**figures(verdicts), **self.storage_figures(), **self.extra_figures}
        # Recovery: the slowest of clients succeeding again, the cluster fully replicated
        # after heal, and the Flink job running again.
        parts = [figs.get(k) for k in ("recovery_s", "cluster_healthy_after_heal_s", "flink_time_to_running_s")]
        parts = [p for p in parts if isinstance(p, (int, float))]
        figs["recovery_s"] = round(max(parts), 2) if parts else None
        return self._write(status, contracts, figs)

    def storage_figures(self) -> dict[str, Any]:
        """Bytes on broker disks and in object storage at the end of the scenario (the side-by-side
        figure); empty when the platform cannot be asked (a broker down, storage unreachable)."""
        try:
            return storage_figures(self.platform)
        except Exception as exc:  # a figure, never a reason to lose the verdicts
            _say(f"storage figures unavailable: {type(exc).__name__}: {exc}")
            return {}

    def fail_with_error(self, exc: BaseException) -> dict[str, Any]:
        try:
            self.nemesis.close()
        finally:
            self.history.close()
        err = f"{type(exc).__name__}: {exc}"
        (self.dir / "error.txt").write_text("".join(traceback.format_exception(exc)))
        contracts = [{"contract": c, "verdict": "unknown", "checkers": [], "reason": f"scenario error: {err}",
                      "anomalies": {}} for c in self.contracts]
        return self._write("error", contracts, dict(self.extra_figures), error=err)

    def _write(self, status: str, contracts: list[dict], figs: dict, error: str | None = None) -> dict[str, Any]:
        self.result = {"name": self.name, "title": self.title, "description": self.description, "status": status,
                       "error": error, "duration_s": round(time.time() - self.started, 2),
                       "history": f"{self.name}/history.jsonl",
                       "schedule": f"{self.name}/schedule.json" if self.schedule else None,
                       "contracts": contracts, "figures": figs, "seed": self.seed,
                       "wanted_contracts": list(self.contracts), "notes": self.notes,
                       "check_opts": {k: v for k, v in self._opts.items() if isinstance(v, (str, int, float))
                                      or v is None}}
        (self.dir / "result.json").write_text(json.dumps(self.result, indent=1, default=str))
        _say(f"{self.name}: {status} " + ", ".join(f"{c['contract']}={c['verdict']}" for c in contracts))
        return self.result

    def summary(self) -> str:
        r = self.result or {}
        lines = [f"{self.name}: {r.get('status')}"]
        for c in r.get("contracts", []):
            if c["verdict"] != "held":
                lines.append(f"  {c['contract']}: {c['verdict']} - {c['reason']}")
                for kind, a in c.get("anomalies", {}).items():
                    lines.append(f"    {kind}: {a['count']}, e.g. {json.dumps(a['examples'][:2], default=str)[:300]}")
        return "\n".join(lines)

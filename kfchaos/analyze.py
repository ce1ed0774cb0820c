"""The one analysis path: a scenario's history -> its ScenarioResult; a run directory -> RunResult.

A live run and ``kfchaos analyze RUN`` call the same :func:`analyze_scenario`, so a stored
run re-checked without a cluster gives exactly the verdicts and figures of the live run.
Everything comes from the history (``history.kfh``, or ``history.jsonl``): the scenario's
name, contracts and checker options (the ``scenario`` and ``check-options`` operations, see :mod:`kfchaos.observe`),
the notes, the measured figures, the cross-zone traffic (:mod:`kfchaos.traffic`), the load ramp's steps (:mod:`kfchaos.ramp`),
the scale-out/in moves (:mod:`kfchaos.elasticity`), the
problems that make a held contract unknown (a fault
that never started, a failed workload step, a scenario that raised). Histories recorded
before those operations existed fall back to the stored ``result.json`` for the
scenario's metadata and options.

The compiled core (:mod:`kfchaos.checkers.native`) scans the history once and decides when
every checker the scenario needs is ported; otherwise the Python index does. The result does
not depend on which ran (``tests/unit/test_analyze_native.py``).

``python -m kfchaos.analyze RUN`` is ``kfchaos analyze RUN`` (same output, same exit codes:
0 held, 1 violated, 2 unknown, error or unusable input).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfchaos import checkers, elasticity, ramp, traffic
from kfchaos.checkers import Verdict, compose, native
from kfchaos.contracts import CONTRACTS, checkers_for, contract_results, settle, verdict_figures
from kfchaos.history import HISTORY_JSONL, HISTORY_NAMES, history_file
from kfchaos.results import ContractResult, RunResult, ScenarioResult

__all__ = ["ScenarioFacts", "facts_of", "facts_and_checkers", "analyze_scenario", "analyze_run", "render_text",
           "BARE_CONTRACTS"]

log = logging.getLogger("chaos.analyze")

#: contracts checked on a history that names none (a bare history.jsonl)
BARE_CONTRACTS = ("durability", "ordering", "offset-continuity", "recovery")


@dataclass
class ScenarioFacts:
    """The harness's own operations of one scenario history, gathered."""
    name: str
    title: str = ""
    description: str = ""
    contracts: list[str] = field(default_factory=list)
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    measures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    harness_errors: list[str] = field(default_factory=list)
    error: str | None = None
    not_applicable: str | None = None
    started: float | None = None
    ended: float | None = None
    traffic: dict[str, Any] = field(default_factory=dict)
    ramp: dict[str, Any] = field(default_factory=dict)
    scale: dict[str, Any] = field(default_factory=dict)


def facts_of(idx: Any, name: str, stored: dict[str, Any] | None = None) -> ScenarioFacts:
    """Collect a scenario's facts from its history (``stored`` result.json for older histories)."""
    stored = stored or {}
    f = ScenarioFacts(name=name)
    head = next(iter(idx.get("scenario")), None)
    if head is not None:
        v = head.get("value") or {}
        f.name, f.title, f.description = v.get("name", name), v.get("title", ""), v.get("description", "")
        f.contracts, f.seed, f.started = list(v.get("contracts") or []), v.get("seed"), head.get("wall")
    else:
        f.title, f.description, f.seed = stored.get("title", ""), stored.get("description", ""), stored.get("seed")
        f.contracts = list(stored.get("wanted_contracts") or [c.get("contract") for c in stored.get("contracts", [])])
        f.options = dict(stored.get("check_opts") or {})
        f.notes = dict(stored.get("notes") or {})
    for op in idx.get("check-options"):
        f.options.update(op.get("value") or {})
    for op in idx.get("note"):
        v = op.get("value") or {}
        f.notes[v.get("contract", "?")] = v.get("text", "")
    for op in idx.get("measure"):
        v = op.get("value") or {}
        f.measures[v.get("name", "?")] = v.get("value")
    f.harness_errors = [(op.get("value") or {}).get("error", "?") for op in idx.get("harness-error")]
    f.problems = _fault_problems(idx) + f.harness_errors
    err = idx.get("scenario-error")
    f.error = (err[-1].get("value") or {}).get("error") if err else None
    na = idx.get("not-applicable")
    f.not_applicable = (na[-1].get("value") or {}).get("reason") if na else None
    f.traffic = traffic.figures_of_ops(idx.get("traffic"), idx.get("client-bytes"))
    f.ramp = ramp.figures_of(idx, f.options)
    f.scale = elasticity.figures_of(idx)
    end = idx.get("scenario-end")
    f.ended = end[-1].get("wall") if end else idx.end_wall
    return f


def _fault_problems(idx: Any) -> list[str]:
    """A fault that did not take effect: a contract cannot be certified held by such a run."""
    return [f"fault {(op.get('value') or {}).get('fault')} did not start: {(op.get('value') or {}).get('error')}"
            for op in idx.get("fault-start") if op.get("type") in ("fail", "info")]


def analyze_scenario(directory: Path) -> tuple[ScenarioResult, dict[str, checkers.Verdict]]:
    """Check one scenario directory's history (:func:`kfchaos.history.history_file`): its
    result and the raw verdicts.

    The compiled core decides when it can (:func:`kfchaos.checkers.native.prepare`: one
    scan, the facts from the light index of the small ops, every checker wanted ported,
    no ramp or scale-out figures, which need the consumers' lag); else, or when it hands
    the history over, the Python index does it all. Both give the same result."""
    directory = Path(directory)
    stored = _read_json(directory / "result.json") or {}
    hist = history_file(directory)
    prepared = _prepare(hist)
    if prepared is not None:
        facts, names = facts_and_checkers(prepared.index, directory.name, stored, hist)
        verdicts = {} if names is None else _on_core(hist, native.decide_prepared, prepared, names, facts.options)
        if verdicts is not None:
            return _result(directory, facts, verdicts, hist.name), verdicts
    idx = checkers.HistoryIndex.from_path(hist)
    facts, names = facts_and_checkers(idx, directory.name, stored, hist)
    verdicts = {} if names is None else checkers.check_all(idx, checkers=names, **facts.options)
    return _result(directory, facts, verdicts, hist.name), verdicts


def _prepare(hist: Path) -> native.Prepared | None:
    """The core's scan and light index of ``hist``, or None when only the Python index
    gives every fact (ramp steps and scale moves read the consumers' lag)."""
    prepared = _on_core(hist, native.prepare, hist)
    if prepared is None or prepared.index.get(ramp.RAMP_STEP_F) or prepared.index.get(elasticity.REASSIGN_F):
        return None
    return prepared


def _on_core(hist: Path, step: Any, *args: Any) -> Any:
    """``step(*args)`` of the compiled core, or None when it raised: a core bug must not
    change a result, the Python index then decides."""
    try:
        return step(*args)
    except Exception as exc:      # noqa: BLE001
        log.warning("compiled core failed on %s, analysing in Python: %s: %s", hist, type(exc).__name__, exc)
        return None


def facts_and_checkers(idx: Any, name: str, stored: dict, hist: Path) -> tuple[ScenarioFacts, list[str] | None]:
    """The scenario's facts and the checkers its contracts need (None: none run, the
    scenario raised or did not apply)."""
    facts = facts_of(idx, name, stored)
    if not facts.contracts and not idx.get("scenario") and not stored:
        facts.contracts = list(BARE_CONTRACTS)
        if checkers.exactly_once.discover_topics(idx)[1] is not None:
            facts.contracts.append("exactly-once")
    unknown = [c for c in facts.contracts if c not in CONTRACTS]
    if unknown:
        raise ValueError(f"{hist}: unknown contract(s) {', '.join(unknown)}")
    if facts.error is not None or facts.not_applicable is not None:
        return facts, None
    wanted = checkers_for(facts.contracts)
    names = [n for n in checkers.CHECKERS if n not in checkers.OPTIONAL or n in wanted]
    if facts.options.get("output_topic") is None and "exactly-once" not in wanted and \
            checkers.exactly_once.discover_topics(idx)[1] is None:
        names.remove("exactly-once")
    return facts, names


def _result(directory: Path, facts: ScenarioFacts, verdicts: dict[str, checkers.Verdict],
            history_name: str = HISTORY_JSONL) -> ScenarioResult:
    figures: dict[str, Any] = {}
    if facts.error is not None:
        status = "error"
        contracts = [ContractResult(c, "unknown", [], f"scenario error: {facts.error}") for c in facts.contracts]
    elif facts.not_applicable is not None:
        status = "unknown"
        contracts = [ContractResult(c, "unknown", [], facts.notes.get(c, facts.not_applicable))
                     for c in facts.contracts]
        figures["not_applicable"] = facts.not_applicable
    else:
        contracts = contract_results(verdicts, facts.contracts, facts.notes)
        status = settle(contracts, facts.problems)
        figures.update(verdict_figures(verdicts))
        figures.update(facts.ramp)
        figures.update(facts.scale)
    figures.update(facts.traffic)
    figures.update(facts.measures)
    if facts.harness_errors:
        figures["workload_errors"] = facts.harness_errors
    duration = round(facts.ended - facts.started, 2) if facts.started and facts.ended else None
    schedule = f"{directory.name}/schedule.json" if (directory / "schedule.json").exists() else None
    return ScenarioResult(name=facts.name, status=status, contracts=contracts, figures=figures, title=facts.title,
                          description=facts.description, error=facts.error, duration_s=duration, started=facts.started,
                          seed=facts.seed,
                          history=f"{directory.name}/{history_name}", schedule=schedule,
                          wanted_contracts=list(facts.contracts), notes=facts.notes,
                          check_opts={k: v for k, v in facts.options.items()
                                      if v is None or isinstance(v, (str, int, float, bool))})


def analyze_run(run: Path) -> RunResult:
    """Re-check every scenario of a stored run from its histories alone."""
    run = Path(run)
    stored = _read_json(run / "results.json") or {}
    result = RunResult.from_dict(stored) if stored else RunResult(profile=run.name)
    dirs = sorted({p.parent for name in HISTORY_NAMES for p in run.glob(f"*/{name}")})
    if not dirs and not stored:
        raise ValueError(f"{run} is not a run directory (no results.json and no */history.kfh or */history.jsonl): "
                         "give reports/<time>-<profile>")
    by_name = {}
    for d in dirs:
        by_name[d.name] = analyze_scenario(d)[0]
    order = result.chosen or sorted(by_name)
    result.scenarios = [by_name[n] for n in order if n in by_name] + \
        [s for n, s in sorted(by_name.items()) if n not in order]
    if not result.chosen:
        result.chosen = [s.name for s in result.scenarios]
    return result


def _read_json(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); remove it to re-check from the histories alone") from None
    return data if isinstance(data, dict) else None


def _fmt(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"), default=str, sort_keys=True)


def render_text(verdicts: dict[str, Verdict] | dict[str, dict],
                max_examples: int = 3) -> str:
    """One line per checker (name, validity, anomaly counts), then examples."""
    vs = {k: (v if isinstance(v, Verdict) else Verdict.from_dict(v))
          for k, v in verdicts.items()}
    width = max([len(k) for k in vs] + [8])
    lines = [f"{'overall':<{width}}  {compose(vs).value.upper()}"]
    for name, v in vs.items():
        counts = ", ".join(f"{k}={n}" for k, n in sorted(v.counts().items())) or "-"
        reason = f"  ({v.reason})" if v.reason and str(v.valid) != "invalid" else ""
        lines.append(f"{name:<{width}}  {str(v.valid):<8} {counts}{reason}")
    for name, v in vs.items():
        for kind, a in sorted(v.anomalies.items()):
            if not a.examples:
                continue
            tag = " (informational)" if kind in v.informational else ""
            lines.append(f"\n{name} / {kind}: {a.count}{tag}")
            for ex in a.examples[:max_examples]:
                ex = dict(ex)
                faults = ex.pop("fault_windows", None) or []
                where = " ".join(f"{k}={ex.pop(k)}" for k in ("topic", "partition", "offset",
                                                               "id") if k in ex)
                fw = ", ".join(f"{w.get('fault')}/{w.get('fault_id')}" for w in faults)
                lines.append(f"  - {where} faults=[{fw}] {_fmt(ex)}")
    return "\n".join(lines)

"""Re-check a stored run without a cluster: every scenario's history goes through the
checkers again with the options recorded in its result.json."""
from __future__ import annotations

import json
from pathlib import Path

from harness import checkers
from harness.contracts import contract_results, figures, overall, run_problems, settle
from harness.history import iter_load


def recheck_scenario(d: Path) -> dict:
    old = json.loads((d / "result.json").read_text()) if (d / "result.json").exists() else {"name": d.name}
    wanted = tuple(old.get("wanted_contracts") or [c["contract"] for c in old.get("contracts", [])])
    verdicts = checkers.check_all(checkers.HistoryIndex.from_path(d / "history.jsonl"),
                                  **(old.get("check_opts") or {}))
    stored = json.loads((d / "verdicts.json").read_text()) if (d / "verdicts.json").exists() else {}
    for name, v in stored.items():   # verdicts computed outside check_all (e.g. replay isolation)
        if name not in verdicts:
            verdicts[name] = checkers.Verdict.from_dict(v)
    contracts = contract_results(verdicts, wanted, old.get("notes"))
    problems = run_problems(iter_load(d / "history.jsonl"), (old.get("figures") or {}).get("workload_errors"))
    status = settle(contracts, problems)
    if old.get("status") == "error":
        status = "error"
    return {**old, "status": status, "contracts": contracts,
            "figures": {**(old.get("figures") or {}), **figures(verdicts)}}


def recheck_run(run: Path, write: bool = False) -> dict:
    results = json.loads((run / "results.json").read_text()) if (run / "results.json").exists() else {
        "profile": run.name, "scenarios": []}
    by_name = {s["name"]: s for s in results.get("scenarios", [])}
    for d in sorted(p.parent for p in run.glob("*/history.jsonl")):
        by_name[d.name] = recheck_scenario(d)
    order = [s["name"] for s in results.get("scenarios", [])]
    scenarios = sorted(by_name.values(), key=lambda s: order.index(s["name"]) if s["name"] in order else 99)
    statuses = [c["verdict"] for s in scenarios for c in s.get("contracts", [])]
    statuses += ["error" for s in scenarios if s.get("status") == "error"]
    results = {**results, "scenarios": scenarios, "overall": overall(statuses)}
    if write:
        (run / "results.json").write_text(json.dumps(results, indent=1, default=str))
    return results

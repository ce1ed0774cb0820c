"""Contracts (what a platform review asks) mapped onto checker verdicts.

held = every checker behind the contract is valid; violated = one is invalid;
unknown otherwise (including: no checker could decide). Figures for reports are
pulled out of the verdicts here as well.
"""
from __future__ import annotations

from typing import Any

from harness.checkers import Verdict, compose

CONTRACTS: dict[str, tuple[str, ...]] = {
    "durability": ("lost",),
    "ordering": ("ordering", "duplicate"),
    "offset-continuity": ("offsets", "group"),
    "exactly-once": ("exactly-once",),
    "recovery": ("windows",),
    "replay-isolation": ("replay-isolation",),
}
WORDS = {"valid": "held", "invalid": "violated", "unknown": "unknown"}


def contract_results(verdicts: dict[str, Verdict], contracts: tuple[str, ...],
                     notes: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for name in contracts:
        behind = [verdicts[c] for c in CONTRACTS[name] if c in verdicts]
        if not behind:
            out.append({"contract": name, "verdict": "unknown", "checkers": list(CONTRACTS[name]),
                        "reason": (notes or {}).get(name, "no checker result"), "anomalies": {}})
            continue
        validity = compose(behind).value
        anomalies = {k: a.to_dict() for v in behind for k, a in v.anomalies.items() if a.count}
        reasons = "; ".join(f"{v.checker}: {v.reason}" for v in behind if v.reason)
        if notes and name in notes:
            reasons = f"{notes[name]}; {reasons}" if reasons else notes[name]
        out.append({"contract": name, "verdict": WORDS[validity], "checkers": [v.checker for v in behind],
                    "reason": reasons, "anomalies": anomalies,
                    "informational": sorted({k for v in behind for k in v.informational if k in anomalies})})
    return out


def run_problems(ops, workload_errors=()) -> list[str]:
    """Faults that did not take effect and workload errors: a contract cannot be
    certified as held by a run in which the planned fault never happened."""
    problems = [str(e) for e in workload_errors or ()]
    for op in ops:
        if op["f"] == "fault-start" and op["type"] in ("fail", "info"):
            problems.append(f"fault {op['value'].get('fault')} did not start: {op['value'].get('error')}")
    return problems


def settle(contracts: list[dict[str, Any]], problems: list[str]) -> str:
    """Downgrade held contracts to unknown when the run had problems; the scenario status."""
    for c in contracts:
        if c["verdict"] == "held" and problems:
            c["verdict"] = "unknown"
            c["reason"] = "the run did not go as planned: " + "; ".join(problems[:3])
    statuses = [c["verdict"] for c in contracts]
    return "violated" if "violated" in statuses else "unknown" if "unknown" in statuses else "held"


def overall(statuses: list[str]) -> str:
    if any(s in ("violated",) for s in statuses):
        return "violated"
    if not statuses or any(s in ("unknown", "error") for s in statuses):
        return "unknown"
    return "held"


def figures(verdicts: dict[str, Verdict]) -> dict[str, Any]:
    def count(checker: str, *kinds: str) -> int | None:
        v = verdicts.get(checker)
        return None if v is None else sum(v.anomalies[k].count for k in kinds if k in v.anomalies)

    f: dict[str, Any] = {"lost": count("lost", "lost"),
                         "duplicates": count("duplicate", "duplicate") if "duplicate" in verdicts else None}
    dup = verdicts.get("duplicate")
    if dup is not None:
        f["producer_epoch_bumps"] = dup.stats.get("producer-epoch-bumps")
    eo = verdicts.get("exactly-once")
    if eo is not None:
        f["duplicates"] = (f["duplicates"] or 0) + count("exactly-once", "duplicate-output")
        f["missing_output"] = count("exactly-once", "missing-output")
    w = verdicts.get("windows")
    if w is not None:
        rows = w.stats.get("windows") or []
        rec = [r.get("send_recovery_s") for r in rows if r.get("send_recovery_s") is not None]
        out = [r.get("output_resume_s") for r in rows if r.get("output_resume_s") is not None]
        f["recovery_s"] = max(rec) if rec else (max(out) if out else None)
        during = [r["during"]["latency_ms"]["p99"] for r in rows if r.get("during")
                  and r["during"].get("latency_ms", {}).get("p99") is not None]
        before = [r["before"]["latency_ms"]["p99"] for r in rows if r.get("before")
                  and r["before"].get("latency_ms", {}).get("p99") is not None]
        f["live_p99_ms_during_fault"] = max(during) if during else None
        f["baseline_p99_ms"] = max(before) if before else None
        overall_stats = w.stats.get("overall") or {}
        f["throughput_ok_per_s"] = overall_stats.get("send_ok_per_s") or overall_stats.get("throughput")
    ri = verdicts.get("replay-isolation")
    if ri is not None:
        f["live_p99_ms_during_fault"] = (ri.stats.get("window") or {}).get("latency_ms", {}).get("p99")
        f["baseline_p99_ms"] = (ri.stats.get("baseline") or {}).get("latency_ms", {}).get("p99")
    return f

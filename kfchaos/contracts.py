"""Contracts (what a platform review asks) mapped onto checker verdicts.

held = every checker behind the contract is valid; violated = one is invalid;
unknown otherwise (including: no checker could decide, or the run did not go as
planned: a fault that never took effect, a workload step that failed). The figures
derived from verdicts are computed here too (see :mod:`kfchaos.figures`).
"""
from __future__ import annotations

from typing import Any, Iterable

from kfchaos.checkers import Verdict, compose
from kfchaos.results import WORDS, ContractResult

CONTRACTS: dict[str, tuple[str, ...]] = {
    "durability": ("lost",),
    "ordering": ("ordering", "duplicate"),
    "offset-continuity": ("offsets", "group"),
    "exactly-once": ("exactly-once",),
    "recovery": ("recovery",),
    "replay-isolation": ("replay-isolation",),
    "access-control": ("access-control",),
    "mirroring": ("mirror",),
    "group-cutover": ("cutover",),
    "job-move": ("job-move",),
}


class UnknownContract(ValueError):
    pass


def checkers_for(contracts: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for c in contracts:
        if c not in CONTRACTS:
            raise UnknownContract(f"unknown contract {c!r}; known: {', '.join(CONTRACTS)}")
        out.update(CONTRACTS[c])
    return out


def contract_results(verdicts: dict[str, Verdict], contracts: Iterable[str],
                     notes: dict[str, str] | None = None) -> list[ContractResult]:
    out = []
    for name in contracts:
        behind = [verdicts[c] for c in CONTRACTS[name] if c in verdicts]
        note = (notes or {}).get(name)
        if not behind:
            out.append(ContractResult(name, "unknown", list(CONTRACTS[name]), note or "no checker result"))
            continue
        anomalies = {k: a.to_dict() for v in behind for k, a in v.anomalies.items() if a.count}
        reasons = "; ".join(f"{v.checker}: {v.reason}" for v in behind if v.reason)
        if note:
            reasons = f"{note}; {reasons}" if reasons else note
        out.append(ContractResult(name, WORDS[compose(behind).value], [v.checker for v in behind], reasons,
                                  anomalies, sorted({k for v in behind for k in v.informational if k in anomalies})))
    return out


def settle(contracts: list[ContractResult], problems: list[str]) -> str:
    """Downgrade held contracts to unknown when the run had problems; the scenario status."""
    for c in contracts:
        if c.verdict == "held" and problems:
            c.verdict = "unknown"
            c.reason = "the run did not go as planned: " + "; ".join(problems[:3])
    statuses = [c.verdict for c in contracts]
    return "violated" if "violated" in statuses else "unknown" if "unknown" in statuses or not statuses else "held"


def verdict_figures(verdicts: dict[str, Verdict]) -> dict[str, Any]:
    """The figures of :mod:`kfchaos.figures` whose source is a verdict."""
    def count(checker: str, *kinds: str) -> int | None:
        v = verdicts.get(checker)
        return None if v is None else sum(v.anomalies[k].count for k in kinds if k in v.anomalies)

    f: dict[str, Any] = {"lost": count("lost", "lost"), "duplicates": count("duplicate", "duplicate")}
    dup = verdicts.get("duplicate")
    if dup is not None:
        f["producer_epoch_bumps"] = dup.stats.get("producer-epoch-bumps")
    eo = verdicts.get("exactly-once")
    if eo is not None:
        f["duplicates"] = (f["duplicates"] or 0) + count("exactly-once", "duplicate-output")
        f["missing_output"] = count("exactly-once", "missing-output")
    rec = verdicts.get("recovery")
    if rec is not None:
        for key in ("recovery_s", "cluster_healthy_after_heal_s", "flink_time_to_running_s"):
            f[key] = rec.stats.get(key)
    f.update(_latency_figures(verdicts))
    f.update(_migration_figures(verdicts))
    return f


def _migration_figures(verdicts: dict[str, Verdict]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    m = verdicts.get("mirror")
    if m is not None and m.stats:
        f["replication_lag_max_records"] = m.stats.get("lag_max_records")
        f["replication_catch_up_s"] = m.stats.get("catch_up_s")
        f["mirror_duplicates"] = m.stats.get("duplicates")
    c = verdicts.get("cutover")
    if c is not None and c.stats:
        f["cutover_s"] = c.stats.get("cutover_s")
        f["cutover_redelivered"] = c.stats.get("redelivered")
        f["cutover_skipped"] = c.stats.get("skipped")
    j = verdicts.get("job-move")
    if j is not None and j.stats:
        f["job_move_downtime_s"] = j.stats.get("downtime_s")
        f["job_move_savepoint_bytes"] = j.stats.get("savepoint_bytes")
        f["job_move_output"] = f"{j.stats.get('output_before')} + {j.stats.get('output_after')}"
    return f


def _latency_figures(verdicts: dict[str, Verdict]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    w = verdicts.get("windows")
    if w is not None:
        rows = w.stats.get("windows") or []
        during = [r["during"]["latency_ms"]["p99"] for r in rows if r.get("during")
                  and r["during"].get("latency_ms", {}).get("p99") is not None]
        before = [r["before"]["latency_ms"]["p99"] for r in rows if r.get("before")
                  and r["before"].get("latency_ms", {}).get("p99") is not None]
        f["live_p99_ms_during_fault"] = max(during) if during else None
        f["baseline_p99_ms"] = max(before) if before else None
        overall_stats = w.stats.get("overall") or {}
        f["throughput_ok_per_s"] = overall_stats.get("send_ok_per_s") or overall_stats.get("throughput")
    ri = verdicts.get("replay-isolation")
    if ri is not None and ri.stats.get("window") is not None:
        f["live_p99_ms_during_fault"] = (ri.stats.get("window") or {}).get("latency_ms", {}).get("p99")
        f["baseline_p99_ms"] = (ri.stats.get("baseline") or {}).get("latency_ms", {}).get("p99")
        f["replay_records_per_s"] = (ri.stats.get("replay_read") or {}).get("records_per_s")
        mb = (ri.stats.get("replay_read") or {}).get("mb_per_s")
        f["replay_bytes_per_s"] = round(mb * 1e6) if isinstance(mb, (int, float)) else None
        f["baseline_lag_p99_ms"] = (ri.stats.get("baseline_lag_ms") or {}).get("p99")
        f["replay_lag_p99_ms"] = (ri.stats.get("window_lag_ms") or {}).get("p99")
    return f

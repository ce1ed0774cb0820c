"""Load ramp: per-step figures recomputed from the history, and where the budget broke.

Contract
--------
The ``load-ramp`` scenario records one ``ramp-step`` op (process ``harness``) per step:
``{"step", "rate", "consumers", "start", "end"}`` (monotonic ns of the step's producing
window) and, when Docker stats were sampled, ``saturated_first``. :func:`figures_of`
computes for each step, from the send and poll operations inside its window: acknowledged
sends per second, produce latency p99 and the live consumers' send-to-poll lag p99 (ms).
A step is *within budget* when both p99s are at or below ``ramp_p99_ms`` /
``ramp_lag_p99_ms`` (check options; a budget that is None is not checked). Figures:

* ``ramp_steps``: one dict per step (rate, consumers, ok_per_s, p99_ms, lag_p99_ms,
  saturated_first, within_budget);
* ``ramp_limit``: "every step within budget (highest: <rate>/s, <n> consumers)", or
  "budget broke at step k (<rate>/s, <n> consumers): <what>", or "no step recorded".

A step without latency samples is not within budget (its p99 is unknown).
"""
from __future__ import annotations

from typing import Any

__all__ = ["RAMP_STEP_F", "figures_of", "step_figures", "limit_of"]

RAMP_STEP_F = "ramp-step"


def step_figures(idx: Any, op: dict, p99_budget: float | None, lag_budget: float | None) -> dict:
    from kfchaos.checkers.isolation import consume_lag
    from kfchaos.checkers.windows import series_of
    v = op.get("value") or {}
    t0, t1 = int(v["start"]), int(v["end"])
    phase = series_of(idx).phase(t0, t1)
    p99 = phase["latency_ms"]["p99"]
    lag = consume_lag(idx, (t0, t1))["p99"]
    over = []
    if p99_budget is not None and (p99 is None or p99 > p99_budget):
        over.append(f"produce p99 {p99} ms > {p99_budget} ms")
    if lag_budget is not None and (lag is None or lag > lag_budget):
        over.append(f"consume lag p99 {lag} ms > {lag_budget} ms")
    return {"step": v.get("step"), "rate": v.get("rate"), "consumers": v.get("consumers"),
            "ok_per_s": phase["send_ok_per_s"], "p99_ms": p99, "lag_p99_ms": lag,
            "saturated_first": v.get("saturated_first"), "within_budget": not over,
            "over_budget": "; ".join(over) or None}


def limit_of(steps: list[dict]) -> str:
    if not steps:
        return "no step recorded"
    for s in steps:
        if not s["within_budget"]:
            return (f"budget broke at step {s['step']} ({s['rate']}/s, {s['consumers']} consumers): "
                    f"{s['over_budget']}")
    last = steps[-1]
    return f"every step within budget (highest: {last['rate']}/s, {last['consumers']} consumers)"


def figures_of(idx: Any, options: dict) -> dict:
    """``ramp_steps`` and ``ramp_limit`` ({} when the history has no ramp step)."""
    ops = [op for op in idx.get(RAMP_STEP_F) if op.get("type") == "ok"]
    if not ops:
        return {}
    p99, lag = options.get("ramp_p99_ms"), options.get("ramp_lag_p99_ms")
    steps = [step_figures(idx, op, p99, lag) for op in ops]
    return {"ramp_steps": steps, "ramp_limit": limit_of(steps)}

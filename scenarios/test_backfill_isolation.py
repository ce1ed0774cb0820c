"""Backfill isolation: a consumer re-reads the whole topic at full speed while live
traffic runs.

Contracts: replay isolation (live produce p99 latency during the backfill at most
`budgets.backfill_p99_ratio` x the p99 of the baseline window before it, default 2x),
durability and ordering of the live writes.
Load: the topic is preloaded with history (60,000 records); live producers run at
200/s; after a 15 s baseline a backfill reader re-reads the topic from offset 0 at full
speed for 20 s (client.id `backfill`; the profile's `quotas` apply, as a production
platform would cap replay clients). Reported: baseline and backfill p99, the read rate,
and which resource saturated first during this load step (Docker stats of every container,
see harness.platform.resources; samples and peaks in resources.json).
"""
import json

import pytest

from harness.checkers import replay_isolation
from harness.clients import RecordingProducer
from harness.faults.base import FaultSpec
from harness.history import load
from harness.platform.quotas import apply_quotas
from harness.platform.resources import ResourceSampler, to_jsonable
from harness.workload import WorkloadSpec

CONTRACTS = ("replay-isolation", "durability", "ordering")
pytestmark = [pytest.mark.scenario, pytest.mark.platform]
PRELOAD = 60_000


def test_backfill_isolation(scenario, profile, platform):
    if profile.quotas:
        scenario.extra_figures["quotas"] = apply_quotas(platform, profile.quotas)
    topic = scenario.topic()
    with RecordingProducer(scenario.platform.bootstrap_servers, topic, scenario.history, "preload",
                           config={"linger.ms": 20, "batch.num.messages": 5000}) as p:
        for i in range(PRELOAD):
            p.send(f"k{i % 64}")
            if i % 5000 == 0:
                p.poll(0)
    with ResourceSampler(platform) as sampler:
        scenario.workload(topic, WorkloadSpec(duration_s=45, rate=200),
                          faults=[FaultSpec("backfill", topic, start=15, duration=20)])
    scenario.history.flush()
    ops = load(scenario.dir / "history.jsonl")
    started = next(op for op in ops if op["f"] == "fault-start" and op["type"] == "ok")
    stopped = next(op for op in ops if op["f"] == "fault-stop" and op["type"] == "ok")
    fault_id = started["value"]["fault_id"]
    window = next((op["time"] for op in ops if op["f"] == "fault-start" and op["type"] == "invoke"),
                  None), stopped["time"]
    baseline = (window[0] - 12 * 10**9, window[0] - 10**9)
    load_step = sampler.summary(window_wall=(started["wall"], stopped["wall"]))   # the backfill window only
    (scenario.dir / "resources.json").write_text(json.dumps(
        {**load_step, "samples": to_jsonable(sampler.samples())}, indent=1))
    scenario.extra_figures["saturated_first"] = load_step["saturated_first"]
    scenario.extra_verdicts["replay-isolation"] = replay_isolation(
        ops, window, baseline, ratio_budget=profile.budgets["backfill_p99_ratio"])
    scenario.extra_figures["backfill_fault"] = fault_id
    scenario.conclude()

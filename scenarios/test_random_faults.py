"""Seeded random fault schedule (Jepsen-style nemesis) under acks=all load.

Contracts: durability, ordering, offset continuity, recovery.
Faults: a schedule generated from the run's seed (``harness.faults.schedule``): broker
kills, SIGSTOP pauses, clean restarts, zone isolation and inter-zone latency, one after
another over about a minute; the same seed gives the same schedule. Only faults that apply
to the platform kind are drawn (no controller kill or inter-zone latency on Tansu). To replay a stored
schedule exactly, set CHAOS_SCHEDULE=<run>/random-faults/schedule.json.
Expected: every fault heals; nothing acknowledged is lost; the group never skips.
"""
import os

import pytest

from harness.faults import schedule
from harness.workload import WorkloadSpec

CONTRACTS = ("durability", "ordering", "offset-continuity", "recovery")
pytestmark = [pytest.mark.scenario, pytest.mark.platform]
MENU = ["kill", "pause", "clean-restart", "isolate-zone", "zone-latency"]


def test_random_faults(scenario, platform):
    topic = scenario.topic()
    if os.environ.get("CHAOS_SCHEDULE"):
        specs = schedule.load(os.environ["CHAOS_SCHEDULE"])
    else:
        specs = schedule.generate(scenario.seed, MENU, total_s=60, fault_s=(5, 12), gap_s=(4, 8),
                                  applicable=lambda f: platform.flavor.fault_not_applicable(f) is None)
    scenario.workload(topic, WorkloadSpec(duration_s=max(40, max((s.start + s.duration for s in specs),
                                                                  default=0) + 5)), faults=specs)
    scenario.conclude()

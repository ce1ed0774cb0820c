"""Seeded random fault schedule (Jepsen-style nemesis) under acks=all load.

Contracts: durability, ordering, offset continuity, recovery.
Faults: a schedule generated from the run's seed (``kfchaos.faults.schedule``): broker
kills, SIGSTOP pauses, clean restarts, zone isolation and inter-zone latency over about a
minute, over the profile's zones; the same seed gives the same schedule. Only faults that
apply to the platform kind are drawn (no controller kill or inter-zone latency on Tansu).
To replay a stored schedule exactly, set CHAOS_SCHEDULE=<run>/random-faults/schedule.json.
Expected: every fault heals; nothing acknowledged is lost; the group never skips.
"""
import os

from kfchaos.faults import schedule
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec

MENU = ["kill", "pause", "clean-restart", "isolate-zone", "zone-latency"]


def plan(run: ScenarioRun) -> list:
    """The stored schedule named by CHAOS_SCHEDULE, or one generated from the seed."""
    platform = run.platform
    if os.environ.get("CHAOS_SCHEDULE"):
        return schedule.load(os.environ["CHAOS_SCHEDULE"], zones=tuple(platform.zones))
    return schedule.generate(run.seed, MENU, zones=tuple(platform.zones), total_s=60, fault_s=(5, 12),
                             gap_s=(4, 8), applicable=lambda f: platform.flavor.fault_not_applicable(f) is None)


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    specs = plan(run)
    end = max((s.start + s.duration for s in specs), default=0) + 5
    run.workload(topic, WorkloadSpec(duration_s=max(40, end)), faults=specs)


SCENARIO = Scenario("random-faults", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    tags=("fault",))

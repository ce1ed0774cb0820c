"""Rolling restart of every broker under load (clean shutdown, restart, wait for a full ISR).

Contracts: durability, ordering, offset continuity (group offsets continue: the
consumer group resumes from its committed offsets after every rebalance), recovery.
Fault: clean stop and start of kafka-a, kafka-b, kafka-c in turn, each waiting until
every partition is fully replicated before the next. Expected: producers and consumers
see only retriable errors; no write is lost; the group never skips a range.
"""
import pytest

from harness.faults.base import FaultSpec
from harness.workload import WorkloadSpec

CONTRACTS = ("durability", "ordering", "offset-continuity", "recovery")
pytestmark = [pytest.mark.scenario, pytest.mark.platform]


def test_rolling_restart(scenario):
    topic = scenario.topic()
    scenario.workload(topic, WorkloadSpec(duration_s=30),
                      faults=[FaultSpec("rolling-restart", "all", start=8, duration=1)])
    scenario.conclude()

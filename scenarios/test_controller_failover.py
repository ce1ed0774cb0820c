"""Active KRaft controller killed (SIGKILL) under acks=all load.

Contracts: durability, ordering, offset continuity, recovery.
Fault: SIGKILL of the broker that leads the metadata quorum (combined mode: it is a
broker too), found with kafka-metadata-quorum when the fault starts; restarted 15 s
later. Expected recovery: a new quorum leader is elected among the two survivors within
a few seconds; metadata changes (leader elections for the dead broker's partitions)
continue; producers and the consumer group carry on.
"""
import pytest

from harness.faults.base import FaultSpec
from harness.workload import WorkloadSpec

CONTRACTS = ("durability", "ordering", "offset-continuity", "recovery")
pytestmark = [pytest.mark.scenario, pytest.mark.platform]


def test_controller_failover(scenario):
    topic = scenario.topic()
    scenario.workload(topic, WorkloadSpec(duration_s=35),
                      faults=[FaultSpec("kill", "controller", start=8, duration=15)])
    scenario.conclude()

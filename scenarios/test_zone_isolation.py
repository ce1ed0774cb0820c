"""One zone isolated from the other two for 60 s, then healed.

Contracts: durability (nothing acknowledged is lost, including writes the isolated
zone's broker may have accepted), ordering, offset continuity, recovery (the majority
keeps serving; after heal the cluster is healthy again within the budget).
Fault: iptables cut between zone c and zones a+b (direct and proxied paths); clients
stay with the majority. Expected recovery: zone c's partitions elect leaders in a/b
once c is fenced (broker session timeout); producers retry through the majority; after
heal, c's broker rejoins and catches up.
"""
import pytest

from harness.faults.base import FaultSpec
from harness.workload import WorkloadSpec

CONTRACTS = ("durability", "ordering", "offset-continuity", "recovery")
pytestmark = [pytest.mark.scenario, pytest.mark.platform]


def test_zone_isolation(scenario):
    topic = scenario.topic()
    scenario.workload(topic, WorkloadSpec(duration_s=80),
                      faults=[FaultSpec("isolate-zone", "zone:c", start=8, duration=60)])
    scenario.conclude()

"""Partition leader cut off from its followers while clients can still reach it.

Contracts: durability, ordering, offset continuity.
Fault: iptables cut between the leader of partition 0's zone and the other two zones
for 25 s, with client traffic still reaching the cut-off broker (cut_clients=false).
With acks=all and min.insync.replicas=2 the cut-off leader cannot acknowledge writes,
so nothing acknowledged can be lost. With acks=1 (or min ISR 1) it keeps
acknowledging writes that the majority never sees; after heal it truncates to the new
leader's log and those acknowledged writes are lost: this is the scenario that tells a
safe configuration from an unsafe one.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.faults.targets import partition_leader, zone_of_node_id
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    platform = run.platform
    topic = run.topic()
    zone = zone_of_node_id(platform, partition_leader(platform, topic, 0))
    others = [z for z in platform.zones if z != zone]
    run.workload(topic, WorkloadSpec(duration_s=40), faults=[
        FaultSpec("partition", f"zone:{zone}", start=8, duration=25,
                  params={"groups": [[zone], others], "cut_clients": False})])


SCENARIO = Scenario("isolated-leader", __doc__, ("durability", "ordering", "offset-continuity"), steps,
                    requires=("partition-leader",), tags=("fault",))

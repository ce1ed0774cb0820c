"""A zone lost with its disk: one broker replaced by an empty one under acks=all load.

Contracts: durability (nothing acknowledged is lost: the data comes back from the other
zones' replicas), ordering, offset continuity (no gap, the group resumes from its
committed offsets), recovery (producers succeed again within the budget; the new broker
is fully re-replicated).
Fault: the last zone's broker container is removed with its data and a fresh broker with
the same node id and an empty log directory joins the cluster; the fault's stop waits
until every partition has its full ISR again (seconds and bytes re-replicated are its
proof). Expected: leadership moves to the surviving replicas at once; the empty broker
fetches every replica it hosts from the leaders; nothing acknowledged is lost.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    zone = run.platform.zones[-1]
    run.workload(topic, WorkloadSpec(duration_s=40),
                 faults=[FaultSpec("replace-broker", f"zone:{zone}", start=8, duration=10)])


SCENARIO = Scenario("zone-lost-with-disk", __doc__, ("durability", "ordering", "offset-continuity", "recovery"),
                    steps, requires=("replication",), tags=("fault",))

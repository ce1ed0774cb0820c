"""One zone isolated from the other two for 60 s, then healed.

Contracts: durability (nothing acknowledged is lost, including writes the isolated
zone's broker may have accepted), ordering, offset continuity, recovery (the majority
keeps serving; after heal the cluster is healthy again within the budget).
Fault: iptables cut between the last zone and the others (direct and proxied paths);
clients stay with the majority. Expected recovery: the isolated zone's partitions elect
leaders in the majority once its broker is fenced (broker session timeout); producers
retry through the majority; after heal, the broker rejoins and catches up.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    zone = run.platform.zones[-1]
    run.workload(topic, WorkloadSpec(duration_s=80),
                 faults=[FaultSpec("isolate-zone", f"zone:{zone}", start=8, duration=60)])


SCENARIO = Scenario("zone-isolation", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    tags=("fault",))

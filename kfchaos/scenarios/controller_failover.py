"""Active KRaft controller killed (SIGKILL) under acks=all load.

Contracts: durability, ordering, offset continuity, recovery.
Fault: SIGKILL of the broker that leads the metadata quorum (combined mode: it is a
broker too), found when the fault starts; restarted 15 s later. Expected recovery: a new
quorum leader is elected among the two survivors within a few seconds; metadata changes
(leader elections for the dead broker's partitions) continue; producers and the
consumer group carry on.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    run.workload(topic, WorkloadSpec(duration_s=35), faults=[FaultSpec("kill", "controller", start=8, duration=15)])


SCENARIO = Scenario("controller-failover", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    requires=("controller-quorum",), tags=("fault",))

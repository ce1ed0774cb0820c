"""A broker's log disk fills up under acks=all load, then space returns.

Contracts: durability (writes fail cleanly: nothing acknowledged is lost), ordering,
offset continuity, recovery (producers succeed again within the budget once space is
back, and the cluster is fully replicated).
Fault: a file takes every free byte of the middle zone's bounded log disk for 20 s
(needs a profile with ``platform.broker_disk_mb``: without it the scenario is left out,
since filling a container's own disk would fill the host's). Expected: Kafka takes the
log directory offline and the broker stops; its partitions move to the other replicas;
producers see retriable errors only; after the space is freed the broker restarts,
catches up and rejoins the ISR.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    zones = run.platform.zones
    zone = zones[len(zones) // 2]
    run.workload(topic, WorkloadSpec(duration_s=45),
                 faults=[FaultSpec("disk-full", f"zone:{zone}", start=8, duration=20)])


SCENARIO = Scenario("disk-full", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    only_with=("bounded-broker-disks",), tags=("fault",))

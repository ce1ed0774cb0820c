"""Partition leader killed (SIGKILL) under acks=all load.

Contracts: durability (no acknowledged write lost), ordering (per-producer sequence
order equals offset order; no duplicate), offset continuity (no gap in the log, the
consumer group resumes from its committed offsets), recovery (producers succeed again
within the profile's recovery budget after the broker is back).
Fault: SIGKILL of the leader of partition 0, resolved when the fault starts; restarted
15 s later. Expected recovery: leadership moves to an in-sync replica within seconds;
producers retry and resume; the restarted broker catches up and rejoins the ISR.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    run.workload(topic, WorkloadSpec(duration_s=35),
                 faults=[FaultSpec("kill", f"leader:{topic}:0", start=8, duration=15)])


SCENARIO = Scenario("kill-leader", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    requires=("partition-leader",), tags=("fault",))

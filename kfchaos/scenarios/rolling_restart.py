"""Rolling restart of every broker under load (clean shutdown, restart, wait for a full ISR).

Contracts: durability, ordering, offset continuity (group offsets continue: the
consumer group resumes from its committed offsets after every rebalance), recovery.
Fault: clean stop and start of every zone's broker in turn, each waiting until every
partition is fully replicated before the next. Expected: producers and consumers see
only retriable errors; no write is lost; the group never skips a range.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    run.workload(topic, WorkloadSpec(duration_s=30),
                 faults=[FaultSpec("rolling-restart", "all", start=8, duration=1)])


SCENARIO = Scenario("rolling-restart", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    tags=("fault",))

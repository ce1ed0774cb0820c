"""Smoke: a recorded workload with no fault, the baseline every platform must pass.

Contracts: durability (no acknowledged write lost), ordering (per-producer sequence order
equals offset order; no duplicate), offset continuity (no gap; the consumer group reads on
from its committed offsets).
Load: one idempotent producer (100/s) and one consumer group member for 20 s: the simplest
workload, so that a failure here is about the platform itself. Concurrent producers are
what every fault scenario runs (two of them).
Fault: none. Expected: every contract holds on any platform the harness can start; a
failure here means the platform (or the harness's integration with it) is broken, and the
fault scenarios of that profile cannot be trusted either. Its figures (throughput, p99,
bytes on broker disks and in object storage) are the baseline of the side-by-side table.
"""
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    run.workload(topic, WorkloadSpec(duration_s=20, rate=100, producers=1, consumers=1))


SCENARIO = Scenario("smoke", __doc__, ("durability", "ordering", "offset-continuity"), steps)

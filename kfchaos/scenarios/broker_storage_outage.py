"""Object storage down under brokers that keep their log in it.

Contracts: durability (no acknowledged write lost), ordering (per-producer sequence order
equals offset order; no duplicate), offset continuity (no gap; the consumer group resumes
from its committed offsets), recovery (producers succeed again within the profile's budget
after object storage is back).
Applies to platforms whose brokers write their log to object storage (tiered Kafka, Tansu,
AutoMQ); broker-local Kafka reports it not applicable (its brokers never touch S3).
Fault: every zone's S3 proxy disabled for 20 s (connections to MinIO refused) under acks=all
load. Expected: tiered Kafka keeps accepting writes on local disks while segment uploads fail
and retry, then catches up; shared-storage brokers cannot persist, so sends fail or time out
(never acknowledged) until storage is back, and nothing acknowledged before is lost.
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    run.workload(topic, WorkloadSpec(duration_s=50, rate=100),
                 faults=[FaultSpec("s3-down", "all", start=10, duration=20)])


SCENARIO = Scenario("broker-storage-outage", __doc__, ("durability", "ordering", "offset-continuity", "recovery"),
                    steps, only_with=("log-in-object-storage",), tags=("fault",))

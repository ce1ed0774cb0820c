"""A rolling upgrade of the brokers, then its rollback before the feature level is finalised.

Contracts: durability, ordering, offset continuity (the group's committed offsets survive
both rolls), recovery.
Fault: broker by broker, a clean shutdown and a restart on the release of
``platform.upgrade.kafka`` with the same data, waiting for a full ISR each time, *without*
``kafka-features upgrade``; then the same roll back to the platform's own release
(``platform.versions.kafka``). This is the escape hatch Kafka documents for a KRaft upgrade:
until ``metadata.version`` is finalised the brokers may go back to the old binaries. Both
rolls' proofs carry each broker's image and seconds and the ``metadata.version`` before
and after, which must not move. Expected: clients see only retriable errors, no write is
lost, the group resumes from its commits. Needs ``platform.upgrade.kafka`` newer than the
platform's release (left out without it, not applicable when it is not newer, with the
reason).
"""
from kfchaos.faults.base import FaultSpec
from kfchaos.images.versions import platform_versions
from kfchaos.scenario import NotApplicable, Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec


def release(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def rollback_plan(versions: dict, upgrade: dict) -> tuple[str, str]:
    """(from, to) of the upgrade to rehearse and roll back; NotApplicable when there is none."""
    frm, to = platform_versions(versions)["kafka"], str((upgrade or {}).get("kafka") or "")
    if not to:
        raise NotApplicable("no release to upgrade to: set platform.upgrade.kafka in the profile")
    if release(to) <= release(frm):
        raise NotApplicable(f"platform.upgrade.kafka {to} is not newer than the platform's Kafka {frm}: "
                            "there is no upgrade to roll back")
    return frm, to


def steps(run: ScenarioRun) -> None:
    frm, to = rollback_plan(run.platform.cfg.versions, run.platform.cfg.upgrade)
    topic = run.topic()
    run.workload(topic, WorkloadSpec(duration_s=40, rate=100, consumers=1),
                 faults=[FaultSpec("kafka-upgrade", "all", start=8, duration=1, params={"to": to, "finalize": False}),
                         FaultSpec("kafka-upgrade", "all", start=10, duration=1,
                                   params={"to": frm, "finalize": False})])


SCENARIO = Scenario("upgrade-rollback", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    requires=("replication",), only_with=("upgrade-release",), tags=("fault",))

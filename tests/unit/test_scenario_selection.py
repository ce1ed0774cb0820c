"""The scenario registry: names, declared contracts, and applicability as capabilities."""
import pytest

from kfchaos import scenarios
from kfchaos.certify import choose
from kfchaos.contracts import CONTRACTS
from kfchaos.platform.flavors import flavor_for
from kfchaos.scenario import Scenario


def test_broker_storage_outage_is_left_out_of_broker_local_kafka_only():
    chosen, left = scenarios.for_kind(flavor_for("kafka"))
    assert "broker-storage-outage" not in chosen and "local disks" in left["broker-storage-outage"]
    assert {"object-storage-outage", "object-storage-slowness", "kill-leader"} <= set(chosen)
    for kind in ("kafka-tiered", "tansu", "automq"):
        chosen, left = scenarios.for_kind(flavor_for(kind))
        assert "broker-storage-outage" in chosen and "object-storage-slowness" in chosen, kind
        assert "broker-storage-outage" not in left


def test_every_scenario_declares_contracts_that_exist_and_a_title():
    assert len(scenarios.REGISTRY) == 23
    for name, s in scenarios.REGISTRY.items():
        assert s.name == name and s.contracts and set(s.contracts) <= set(CONTRACTS), name
        assert s.title and s.title != name and "Contracts:" in s.doc, name


@pytest.mark.parametrize("kind, name, applies", [
    ("kafka", "kill-leader", True), ("tansu", "kill-leader", False),
    ("tansu", "controller-failover", False), ("tansu", "isolated-leader", False),
    ("tansu", "flink-taskmanager-kill", False), ("tansu", "smoke", True),
    ("kafka", "broker-storage-outage", False), ("kafka-tiered", "broker-storage-outage", True),
    ("kafka", "zone-lost-with-disk", True), ("tansu", "zone-lost-with-disk", False),
])
def test_applicability_is_requirements_against_capabilities(kind, name, applies):
    reason = scenarios.get(name).not_applicable(flavor_for(kind))
    assert (reason is None) == applies, reason
    if not applies:
        assert kind in reason


def test_unknown_scenario_is_one_clear_error():
    class P:
        kind = "kafka"
    with pytest.raises(scenarios.UnknownScenario, match="chaos list"):
        choose(P, ["kill-leaderr"])
    assert choose(P, ["smoke", "smoke"]) == (["smoke"], {})


def test_a_scenario_is_plain_data():
    s = Scenario("x", "Title line.\n\nMore.", ("durability",), steps=lambda run: None, requires=("transactions",))
    assert s.title == "Title line." and s.not_applicable(flavor_for("tansu"))
    assert s.not_applicable(flavor_for("kafka")) is None


def test_disk_full_needs_bounded_disks_from_the_profile():
    from types import SimpleNamespace
    kafka = flavor_for("kafka")
    chosen, left = scenarios.for_kind(kafka, SimpleNamespace(broker_disk_mb=0))
    assert "disk-full" not in chosen and "broker_disk_mb" in left["disk-full"]
    chosen, left = scenarios.for_kind(kafka, SimpleNamespace(broker_disk_mb=512))
    assert "disk-full" in chosen
    assert scenarios.get("disk-full").not_applicable(kafka, SimpleNamespace(broker_disk_mb=0))


def test_access_control_needs_sasl_and_acls_from_the_profile():
    from kfchaos import profiles
    kafka = flavor_for("kafka")
    plain, secured = profiles.load("kafka-3az").platform, profiles.load("kafka-3az-sasl").platform
    chosen, left = scenarios.for_kind(kafka, plain)
    assert "access-control" not in chosen and "platform.security" in left["access-control"]
    assert "access-control" in scenarios.for_kind(kafka, secured)[0]
    reason = scenarios.get("access-control").not_applicable(kafka, plain)
    assert reason and "acls: true" in reason and "kafka-3az-sasl" in reason


def test_upgrade_rollback_plans_only_a_move_to_a_newer_release():
    from kfchaos.scenario import NotApplicable
    from kfchaos.scenarios.upgrade_rollback import rollback_plan
    assert rollback_plan({"kafka": "3.9.1"}, {"kafka": "4.1.1"}) == ("3.9.1", "4.1.1")
    for versions, upgrade, why in (({"kafka": "4.1.1"}, {"kafka": "3.9.1"}, "is not newer"),
                                   ({"kafka": "4.1.1"}, {"kafka": "4.1.1"}, "is not newer"),
                                   ({}, {}, "set platform.upgrade.kafka")):
        with pytest.raises(NotApplicable, match=why):
            rollback_plan(versions, upgrade)

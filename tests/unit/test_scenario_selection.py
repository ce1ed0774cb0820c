"""Which scenarios a full certification of each platform kind runs (scenario modules read, not imported)."""
from harness.cli import default_scenarios, module_constant, scenario_catalog


def test_broker_storage_outage_is_left_out_of_broker_local_kafka_only():
    catalog = scenario_catalog()
    chosen, left = default_scenarios(catalog, "kafka")
    assert "broker-storage-outage" not in chosen and "local disks" in left["broker-storage-outage"]
    assert {"object-storage-outage", "object-storage-slowness", "kill-leader"} <= set(chosen)
    for kind in ("kafka-tiered", "tansu", "automq"):
        chosen, left = default_scenarios(catalog, kind)
        assert "broker-storage-outage" in chosen and "object-storage-slowness" in chosen, kind
        assert "broker-storage-outage" not in left


def test_every_scenario_declares_contracts_that_exist():
    from harness.contracts import CONTRACTS
    for name, (path, title) in scenario_catalog().items():
        declared = module_constant(path, "CONTRACTS")
        assert declared and set(declared) <= set(CONTRACTS), (name, declared)
        assert title, name

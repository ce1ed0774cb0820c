"""One package per fault: class, accepted targets, schedule menu, required capabilities and
report colour live together and are collected into one registry."""
from __future__ import annotations

import re

import pytest

from kfchaos.faults import registry
from kfchaos.faults.base import FaultError, FaultSpec
from kfchaos.faults.package import DEFAULT_COLOUR, form_matches, zone_pairs_menu
from kfchaos.platform.flavors import FEATURES, FLAVORS, KafkaFlavor, TansuFlavor, capabilities

ZONES = ("a", "b", "c")


def test_every_package_is_consistent():
    assert len(registry.PACKAGES) == 28
    for name, pkg in registry.PACKAGES.items():
        assert pkg.name == name == pkg.cls.name and registry.FAULTS[name] is pkg.cls
        assert pkg.accepts("") and pkg.accepts(pkg.cls.default_target, ZONES) or not pkg.cls.default_target, name
        assert set(pkg.menu) <= set(pkg.targets), name
        assert all(pkg.accepts(t, ZONES) for t in pkg.menu_targets(ZONES)), name
        assert set(pkg.needs) <= set(FEATURES), name
        assert re.fullmatch(r"#[0-9a-f]{6}", pkg.colour) and pkg.family, name


def test_colours_keep_the_old_fault_colour_for_process_faults_and_differ_by_family():
    assert registry.colour("kill") == registry.colour("pause") == DEFAULT_COLOUR == "#cf222e"
    assert registry.colour("no-such-fault") == DEFAULT_COLOUR
    families = {}
    for pkg in registry.PACKAGES.values():
        families.setdefault(pkg.family, set()).add(pkg.colour)
    assert all(len(c) == 1 for c in families.values())
    assert len({c for cs in families.values() for c in cs}) == len(families)


# What flavors.FAULT_NEEDS / TARGET_NEEDS said before packages held the requirements.
OLD_NEEDS = [
    (FaultSpec("replace-broker", "zone:a"), ("replication",)),
    (FaultSpec("zone-latency", "a-b"), ("replication",)),
    (FaultSpec("zone-loss", "zone:a"), ("replication",)),
    (FaultSpec("zone-bandwidth", "zone:a"), ("replication",)),
    (FaultSpec("kill", "controller"), ("controller-quorum",)),
    (FaultSpec("pause", "leader:t:0"), ("partition-leader",)),
    (FaultSpec("replace-broker", "controller"), ("replication", "controller-quorum")),
    (FaultSpec("kill", "zone:a"), ()),
    (FaultSpec("s3-down", "all"), ()),
    (FaultSpec("explode"), ()),
]


@pytest.mark.parametrize("spec,needs", OLD_NEEDS, ids=[s.label() for s, _ in OLD_NEEDS])
def test_requirements_are_what_they_were(spec, needs):
    assert registry.requirements(spec) == needs


def test_fault_not_applicable_consults_the_package(monkeypatch):
    from dataclasses import replace
    spec = FaultSpec("s3-down", "all")
    assert TansuFlavor().fault_not_applicable(spec) is None
    monkeypatch.setitem(registry.PACKAGES, "s3-down", replace(registry.PACKAGES["s3-down"], needs=("transactions",)))
    assert "transactions" in TansuFlavor().fault_not_applicable(spec)
    assert KafkaFlavor().fault_not_applicable(spec) is None


def test_menus_expand_for_the_given_zones():
    assert registry.menu_targets("kill", ("x", "y")) == ["random", "controller", "zone:x", "zone:y"]
    assert registry.menu_targets("zone-latency", ZONES)[:3] == ["a-b", "b-c", "a-c"]
    assert zone_pairs_menu(("p", "q", "r", "s")) == ["p-q", "q-r", "r-s", "p-r", "p-s", "q-s"]
    assert registry.menu_targets("freeze", ZONES) == [""]          # no menu: its default target
    assert "freeze" not in registry.default_menu() and "kill" in registry.default_menu()


@pytest.mark.parametrize("form,target,zones,ok", [
    ("zone:{zone}", "zone:a", ZONES, True), ("zone:{zone}", "zone:z", ZONES, False),
    ("zone:{zone}", "zone:z", None, True), ("zone:{zone}", "zone:", None, False),
    ("{pair}", "a-c", ZONES, True), ("{pair}", "c-c", ZONES, False), ("{pair}", "ac", None, False),
    ("leader:{topic}:{partition}", "leader:my.topic-1:12", ZONES, True),
    ("leader:{topic}:{partition}", "leader:t:-1", ZONES, False),
    ("all", "all", ZONES, True), ("all", "alll", ZONES, False),
])
def test_target_forms(form, target, zones, ok):
    assert form_matches(form, target, zones) is ok


def test_create_names_known_faults_when_unknown():
    with pytest.raises(FaultError, match="unknown fault 'explode'; known: backfill, broker-bandwidth, clean-restart, client-bandwidth"):
        registry.create(None, FaultSpec("explode"), None)


def test_capabilities_per_kind_before_any_platform_starts():
    assert capabilities("kafka") >= {"controller-quorum", "replication", "admin-tools", "transactions"}
    assert "log-in-object-storage" not in capabilities("kafka")
    assert capabilities("tansu") == {"log-in-object-storage"}
    for kind, cls in FLAVORS.items():
        assert cls().capabilities == frozenset(FEATURES) - set(cls.lacks), kind

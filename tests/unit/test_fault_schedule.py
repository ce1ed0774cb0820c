"""Fault schedules are deterministic by seed, well formed, and round-trip through JSON."""
from __future__ import annotations

from harness.faults import schedule
from harness.faults.base import FaultSpec
from harness.faults.registry import FAULTS


def test_same_seed_same_schedule():
    assert schedule.generate(42) == schedule.generate(42)


def test_different_seeds_differ():
    assert any(schedule.generate(s) != schedule.generate(s + 1) for s in range(5))


def test_faults_are_sequential_known_and_within_total():
    for seed in range(50):
        specs = schedule.generate(seed, total_s=200)
        end = 0.0
        for s in specs:
            assert s.fault in FAULTS
            assert s.start >= end
            end = s.start + s.duration
        assert end <= 200


def test_restricted_fault_list():
    specs = schedule.generate(7, ["kill"], total_s=300)
    assert specs and {s.fault for s in specs} == {"kill"}


def test_schedule_round_trips_through_json(tmp_path):
    specs = schedule.generate(3) + [FaultSpec("zone-latency", "a-b", 1.0, 2.0, {"delay_ms": 50})]
    path = schedule.save(tmp_path / "schedule.json", specs, seed=3)
    assert schedule.load(path) == specs


def test_generate_draws_only_applicable_faults_and_keeps_seeded_schedules():
    from harness.faults import schedule
    menu = ["kill", "pause", "clean-restart", "isolate-zone", "zone-latency"]
    assert schedule.generate(42, menu, total_s=300) == schedule.generate(42, menu, total_s=300,
                                                                         applicable=lambda f: True)
    no_quorum = schedule.generate(42, menu, total_s=600,
                                  applicable=lambda f: f.target != "controller" and f.fault != "zone-latency")
    assert no_quorum and all(f.target != "controller" and f.fault != "zone-latency" for f in no_quorum)
    assert schedule.generate(42, menu, applicable=lambda f: False) == []

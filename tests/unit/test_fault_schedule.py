"""Fault schedules are deterministic by seed, well formed, and round-trip through JSON."""
from __future__ import annotations

import json
import re

import pytest

from kfchaos.faults import schedule
from kfchaos.faults.base import FaultSpec
from kfchaos.faults.registry import FAULTS


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
    from kfchaos.faults import schedule
    menu = ["kill", "pause", "clean-restart", "isolate-zone", "zone-latency"]
    assert schedule.generate(42, menu, total_s=300) == schedule.generate(42, menu, total_s=300,
                                                                         applicable=lambda f: True)
    no_quorum = schedule.generate(42, menu, total_s=600,
                                  applicable=lambda f: f.target != "controller" and f.fault != "zone-latency")
    assert no_quorum and all(f.target != "controller" and f.fault != "zone-latency" for f in no_quorum)
    assert schedule.generate(42, menu, applicable=lambda f: False) == []


def test_generate_targets_the_given_zones():
    specs = schedule.generate(5, ["isolate-zone", "zone-latency", "kill"], zones=("x", "y"), total_s=600)
    targets = {s.target for s in specs}
    assert specs and targets <= {"random", "controller", "zone:x", "zone:y", "x-y"}
    assert schedule.generate(5, zones=("a", "b", "c")) == schedule.generate(5)


def test_generated_schedules_pass_validation():
    for seed in range(30):
        schedule.validate(schedule.generate(seed, total_s=300), ("a", "b", "c"))
        schedule.validate(schedule.generate(seed, total_s=300, zones=("eu1", "eu2")), ("eu1", "eu2"))


# ---- CHAOS_SCHEDULE validation: (file text, what the one-line error must say) ----------------
OK = '{"fault": "kill", "target": "zone:a", "start": 1, "duration": 2}'
BAD_FILES = [
    ('{"faults": [', "not valid JSON"),
    ('{"faults": [\n  {"fault": "kill",}\n]}', "line 2 column"),
    ('[]', "top level is a list"),
    ('"kill"', "top level is a str"),
    ('{"seed": 1}', 'no "faults" list'),
    ('{"faults": {"fault": "kill"}}', '"faults" must be a list'),
    ('{"seed": "x", "faults": []}', "seed must be an integer"),
    ('{"faults": ["kill"]}', "each fault must be an object"),
    ('{"faults": [{"fault": "kill", "start": 1}]}', "missing field(s) ['duration']"),
    ('{"faults": [{"target": "zone:a", "start": 1, "duration": 2}]}', "missing field(s) ['fault']"),
    ('{"faults": [{"fault": "kill", "start": 1, "duraton": 2, "duration": 2}]}', "unknown field(s) ['duraton']"),
    ('{"faults": [{"fault": "explode", "start": 1, "duration": 2}]}', "unknown fault 'explode'; known faults: "),
    ('{"faults": [{"fault": 3, "start": 1, "duration": 2}]}', "fault must be a fault name"),
    ('{"faults": [{"fault": "kill", "target": "zone:", "start": 1, "duration": 2}]}', "target 'zone:'"),
    ('{"faults": [{"fault": "kill", "target": "leader:t:x", "start": 1, "duration": 2}]}', "target 'leader:t:x'"),
    ('{"faults": [{"fault": "flink-kill", "target": "zone:a", "start": 1, "duration": 2}]}',
     "taskmanager, jobmanager"),
    ('{"faults": [{"fault": "zone-latency", "target": "a-a", "start": 1, "duration": 2}]}', "target 'a-a'"),
    ('{"faults": [{"fault": "kill", "target": 7, "start": 1, "duration": 2}]}', "target must be a string"),
    ('{"faults": [{"fault": "kill", "start": -1, "duration": 2}]}', "start is -1"),
    ('{"faults": [{"fault": "kill", "start": 1, "duration": 0}]}', "duration is 0"),
    ('{"faults": [{"fault": "kill", "start": 1, "duration": -3}]}', "duration is -3"),
    ('{"faults": [{"fault": "kill", "start": NaN, "duration": 2}]}', "start is nan"),
    ('{"faults": [{"fault": "kill", "start": 1, "duration": Infinity}]}', "duration is inf"),
    ('{"faults": [{"fault": "kill", "start": "10", "duration": 2}]}', "start must be a number"),
    ('{"faults": [{"fault": "kill", "start": true, "duration": 2}]}', "start must be a number"),
    ('{"faults": [{"fault": "kill", "start": 1, "duration": 2, "params": [1]}]}', "params must be an object"),
    ('{"faults": [{"fault": "partition", "start": 1, "duration": 2}]}', "params.groups must be"),
    ('{"faults": [{"fault": "partition", "start": 1, "duration": 2, "params": {"groups": [["a"], ["a"]]}}]}',
     "more than one group"),
    ('{"faults": [{"fault": "zone-loss", "target": "zone:b", "start": 1, "duration": 2, '
     '"params": {"probability": 2}}]}', "probability must be"),
    ('{"faults": [' + OK + ', {"fault": "kill", "start": 5}]}', "faults[1]"),
]


@pytest.mark.parametrize("text,says", BAD_FILES, ids=[s for _, s in BAD_FILES])
def test_load_rejects_a_bad_file_with_one_line_naming_file_and_problem(tmp_path, text, says):
    path = tmp_path / "schedule.json"
    path.write_text(text)
    with pytest.raises(schedule.ScheduleError) as info:
        schedule.load(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in message and message.startswith(str(path)), message
    assert says in message, message


def test_load_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(schedule.ScheduleError, match="cannot read the schedule"):
        schedule.load(tmp_path / "nope.json")


GOOD_ENTRIES = [
    {"fault": "kill", "start": 0, "duration": 0.5},
    {"fault": "kill", "target": "leader:orders-1:3", "start": 1, "duration": 2},
    {"fault": "kill", "target": "controller", "start": 1, "duration": 2},
    {"fault": "zone-latency", "target": "b-c", "start": 1, "duration": 2, "params": {"delay_ms": 5}},
    {"fault": "partition", "target": "zone:a", "start": 1, "duration": 2, "params": {"groups": [["a"], ["b", "c"]]}},
    {"fault": "backfill", "target": "orders", "start": 1, "duration": 2},
    {"fault": "s3-down", "target": None, "start": 1, "duration": 2, "params": None},
]


@pytest.mark.parametrize("entry", GOOD_ENTRIES, ids=[e["fault"] + ":" + str(e.get("target")) for e in GOOD_ENTRIES])
def test_load_accepts_good_entries(tmp_path, entry):
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps({"seed": 1, "faults": [entry]}))
    (spec,) = schedule.load(path, zones=("a", "b", "c"))
    assert spec.fault == entry["fault"] and spec.target == (entry.get("target") or "")


ZONE_CASES = [   # (spec, zones, error or None)
    (FaultSpec("kill", "zone:d", 1, 2), ("a", "b", "c"), "with zones ['a', 'b', 'c']"),
    (FaultSpec("kill", "zone:d", 1, 2), None, None),                 # shape only: fine before bring-up
    (FaultSpec("kill", "zone:eu-1", 1, 2), ("eu-1", "eu-2"), None),
    (FaultSpec("zone-latency", "eu-1-eu-2", 1, 2), ("eu-1", "eu-2"), None),
    (FaultSpec("zone-latency", "eu-1-eu-3", 1, 2), ("eu-1", "eu-2"), "target 'eu-1-eu-3'"),
    (FaultSpec("partition", "", 1, 2, {"groups": [["a"], ["q"]]}), ("a", "b"), "unknown zone(s) ['q']"),
    (FaultSpec("one-way", "c", 1, 2), ("a", "b", "c"), "use one of zone:{zone}"),
]


@pytest.mark.parametrize("spec,zones,error", ZONE_CASES)
def test_validate_against_the_platform_zones(spec, zones, error):
    if error is None:
        schedule.validate([spec], zones)
    else:
        with pytest.raises(schedule.ScheduleError, match=re.escape(error)):
            schedule.validate([spec], zones)

"""junit.xml from a RunResult (kfchaos.report.junit), parsed back."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kfchaos.report import write_junit
from kfchaos.results import ContractResult, RunResult, ScenarioResult


def run_result() -> RunResult:
    lost = {"lost": {"count": 3, "examples": [{"id": "p0-1", "note": "<b>&"}]}}
    return RunResult(
        profile="kafka-3az", seed=7, run_id="20261125-120000-kafka-3az", started=1_764_000_000.0,
        command="chaos certify --seed 7", chosen=["held", "violated", "error", "unknown", "n-a", "never"],
        scenarios=[
            ScenarioResult("held", "held", [ContractResult("durability", "held")], duration_s=12.5, seed=7),
            ScenarioResult("violated", "violated",
                           [ContractResult("durability", "violated", ["lost"], "3 acked writes lost", lost),
                            ContractResult("ordering", "held")], duration_s=30.0),
            ScenarioResult("error", "error", [], error="RuntimeError: disk \x00full\x1b"),
            ScenarioResult("unknown", "unknown", [ContractResult("recovery", "unknown", reason="no heal")]),
            ScenarioResult("n-a", "unknown", [], figures={"not_applicable": "no tiered storage"}),
        ])


@pytest.fixture
def suite(tmp_path):
    path = write_junit(run_result(), tmp_path / "out" / "junit.xml")
    assert path == tmp_path / "out" / "junit.xml"
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def cases(suite) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.findall("testcase")}


def test_one_suite_per_run_one_case_per_scenario(suite):
    assert suite.get("name") == "kafka-3az"
    assert list(cases(suite)) == ["held", "violated", "error", "unknown", "n-a", "never"]
    assert {c.get("classname") for c in cases(suite).values()} == {"chaos.kafka-3az"}
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("6", "1", "3", "1")
    assert suite.get("timestamp") == "2025-11-24T16:00:00"
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["seed"] == "7" and props["overall"] == "violated" and props["command"] == "chaos certify --seed 7"


def test_held_is_a_pass_with_its_duration(suite):
    c = cases(suite)["held"]
    assert c.get("time") == "12.500"
    assert c.find("failure") is None and c.find("error") is None and c.find("skipped") is None


def test_violated_is_a_failure_with_the_contract_summary(suite):
    f = cases(suite)["violated"].find("failure")
    assert f.get("type") == "violated" and f.get("message") == "violated: durability"
    assert "durability: violated - 3 acked writes lost" in f.text and "lost: 3" in f.text
    assert "<b>&" in f.text                            # escaped in the file, intact when parsed


def test_error_and_unknown_are_errors_never_passes(suite):
    e = cases(suite)["error"].find("error")
    assert e.get("type") == "error" and e.get("message") == "error: RuntimeError: disk ?full?"
    u = cases(suite)["unknown"].find("error")
    assert u.get("type") == "unknown" and u.get("message") == "unknown: recovery"
    n = cases(suite)["never"].find("error")
    assert n.get("type") == "no-result" and "no result" in n.get("message")


def test_not_applicable_is_the_only_skip(suite):
    skipped = [name for name, c in cases(suite).items() if c.find("skipped") is not None]
    assert skipped == ["n-a"]
    assert cases(suite)["n-a"].find("skipped").get("message") == "not applicable: no tiered storage"


def test_empty_run(tmp_path):
    root = ET.parse(write_junit(RunResult(profile="p"), tmp_path / "j.xml")).getroot()
    assert root.find("testsuite").get("tests") == "0" and root.find("testsuite").get("timestamp") is None

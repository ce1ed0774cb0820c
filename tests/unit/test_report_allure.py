"""Allure result files from a RunResult (kfchaos.report.allure), loaded back and checked
against the fields of allure_commons.model2.TestResult."""
from __future__ import annotations

import json

import attr
import pytest
from allure_commons import model2

from kfchaos.report import write_allure

from .test_report_junit import run_result


@pytest.fixture
def written(tmp_path):
    run = run_result()
    run_dir = tmp_path / "run"
    (run_dir / "held").mkdir(parents=True)
    (run_dir / "held" / "result.json").write_text('{"name": "held", "stored": true}\n')
    out = tmp_path / "run" / "allure-results"
    paths = write_allure(run, out, run_dir=run_dir)
    results = {}
    for p in paths:
        assert p.parent == out and p.name.endswith("-result.json")
        r = json.loads(p.read_text())
        results[r["name"]] = r
    return out, paths, results


def test_one_result_per_scenario_in_allure_format(written):
    _, paths, results = written
    assert list(results) == ["held", "violated", "error", "unknown", "n-a", "never"]
    fields = {f.name for f in attr.fields(model2.TestResult)}
    for r in results.values():
        assert set(r) <= fields, set(r) - fields
        assert r["stage"] == "finished" and r["uuid"] in str(paths)
        assert r["fullName"] == f"chaos.kafka-3az#{r['name']}"
        assert r["historyId"] == r["testCaseId"] and len(r["historyId"]) == 32
        assert {"name": "suite", "value": "kafka-3az"} in r["labels"]
        assert {p["name"]: p["value"] for p in r["parameters"]}["profile"] == "kafka-3az"
        for d in (r.get("statusDetails") or {}, *r["labels"], *r["parameters"], *r.get("attachments", [])):
            assert set(d) <= {f.name for f in attr.fields(model2.StatusDetails)} | {
                f.name for f in attr.fields(model2.Label)} | {f.name for f in attr.fields(model2.Parameter)} | {
                f.name for f in attr.fields(model2.Attachment)}


def test_statuses(written):
    _, _, results = written
    got = {name: r["status"] for name, r in results.items()}
    assert got == {"held": "passed", "violated": "failed", "error": "broken", "unknown": "broken",
                   "n-a": "skipped", "never": "broken"}
    v = results["violated"]["statusDetails"]
    assert v["message"] == "violated: durability" and "3 acked writes lost" in v["trace"]
    assert "statusDetails" not in results["held"]
    assert results["n-a"]["statusDetails"]["message"] == "not applicable: no tiered storage"


def test_labels_parameters_and_times(written):
    _, _, results = written
    v = results["violated"]
    assert [lb["value"] for lb in v["labels"] if lb["name"] == "feature"] == ["durability", "ordering"]
    assert {p["name"]: p["value"] for p in v["parameters"]}["seed"] == "7"      # the run's seed
    held = results["held"]
    assert held["start"] == 1_764_000_000_000 and held["stop"] == 1_764_000_012_500
    assert v["start"] == held["stop"] and v["stop"] == v["start"] + 30_000


def test_attachments(written):
    out, _, results = written
    held = results["held"]["attachments"]
    assert held == [{"name": "result.json", "source": f"{results['held']['uuid']}-attachment.json",
                     "type": "application/json"}]
    assert (out / held[0]["source"]).read_text() == '{"name": "held", "stored": true}\n'    # copied
    v = results["violated"]["attachments"][0]
    assert json.loads((out / v["source"]).read_text())["contracts"][0]["contract"] == "durability"
    assert "attachments" not in results["never"]


def test_writing_again_replaces(tmp_path):
    run = run_result()
    first = write_allure(run, tmp_path)
    second = write_allure(run, tmp_path)
    assert first == second and len(list(tmp_path.glob("*-result.json"))) == len(first)


def test_versions_are_parameters_and_the_history_is_attached(tmp_path):
    run = run_result()
    run.platform = {"versions": {"kafka": "4.1.1", "flink": "2.2.0"}}
    held = next(s for s in run.scenarios if s.name == "held")
    held.history = "held/history.jsonl"
    run_dir = tmp_path / "run"
    (run_dir / "held").mkdir(parents=True)
    (run_dir / "held" / "history.jsonl").write_text('{"index": 0}\n')
    out = run_dir / "allure-results"
    results = {json.loads(p.read_text())["name"]: json.loads(p.read_text())
               for p in write_allure(run, out, run_dir=run_dir)}
    params = {p["name"]: p["value"] for p in results["held"]["parameters"]}
    assert (params["kafka"], params["flink"]) == ("4.1.1", "2.2.0")
    hist = results["held"]["attachments"][1]
    assert hist["name"] == "history.jsonl" and hist["type"] == "application/x-ndjson"
    assert (out / hist["source"]).read_text() == '{"index": 0}\n'
    assert len(results["violated"]["attachments"]) == 1          # no stored history: none attached

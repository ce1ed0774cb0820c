"""summary.md (kfchaos.report.summary) from a RunResult, the ETA figure, and render_all
writing summary.md into the run directory."""
from __future__ import annotations

import pytest

from kfchaos.report.summary import duration_text, eta_text, render_summary, write_summary
from kfchaos.results import ContractResult, RunResult, ScenarioResult


def run_result(**over) -> RunResult:
    lost = {"lost": {"count": 3, "examples": [{"id": "p0-1"}]}}
    base = dict(
        profile="kafka-3az", kind="kafka", seed=7, started=1000.0, finished=1000.0 + 754,
        command="kfchaos certify --profile kafka-3az --seed 7 --scenario 'a|b'",
        chosen=["held", "violated", "error", "n-a", "never"], left_out={"broker-storage-outage": "no S3 log"},
        scenarios=[
            ScenarioResult("held", "held", [ContractResult("durability", "held")], duration_s=12.5),
            ScenarioResult("violated", "violated",
                           [ContractResult("durability", "violated", ["lost"], "3 acked | writes\nlost <b>", lost),
                            ContractResult("ordering", "held")], duration_s=95.0),
            ScenarioResult("error", "error", [], error="RuntimeError: boom"),
            ScenarioResult("n-a", "unknown", [], figures={"not_applicable": "no tiered storage"}),
        ])
    base.update(over)
    return RunResult(**base)


def table_rows(md: str) -> dict[str, list[str]]:
    rows = {}
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("| scenario"):
            cells = [c.strip() for c in line.strip("|").replace("\\|", "\0").split("|")]
            rows[cells[0]] = [c.replace("\0", "\\|") for c in cells[1:]]
    return rows


def test_summary_overall_table_and_rerun():
    md = render_summary(run_result())
    first = md.splitlines()[0]
    assert first == "## Chaos certification of `kafka-3az`: VIOLATED"
    assert "overall **violated** (exit code 1)" in md and "seed 7" in md and "4 of 5 scenarios finished" in md
    assert "12m 34s" in md
    rows = table_rows(md)
    assert rows["held"] == ["held", "durability=held", "12s"]
    assert rows["violated"][:2] == ["**violated**", "durability=violated, ordering=held"]
    assert rows["violated"][2] == "1m 35s"
    assert rows["error"][0] == "**error**" and "error: RuntimeError: boom" in rows["error"][1]
    assert rows["n-a"][:2] == ["not applicable", "no tiered storage"]
    assert rows["never"][0] == "**no result**"
    assert "- broker-storage-outage: no S3 log" in md
    # reasons: one line, pipes escaped, no HTML
    assert "- violated / durability: violated: 3 acked \\| writes lost &lt;b&gt;" in md
    assert "<b>" not in md
    assert "```\nkfchaos certify --profile kafka-3az --seed 7 --scenario 'a|b'\n```" in md


def test_summary_of_a_held_and_an_interrupted_run():
    ok = run_result(chosen=["held"], scenarios=run_result().scenarios[:1], left_out={})
    md = render_summary(ok)
    assert "HELD" in md.splitlines()[0] and "(exit code 0)" in md and "did not hold" not in md
    md = render_summary(run_result(interrupted="SIGTERM"))
    assert "Interrupted: SIGTERM" in md


def test_rerun_command_cannot_close_its_fence():
    md = render_summary(run_result(command="echo ```x```"))
    assert "````\necho ```x```\n````" in md


def test_write_summary_and_step_summary(tmp_path, monkeypatch):
    step = tmp_path / "step.md"
    step.write_text("before\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    path = write_summary(run_result(), tmp_path / "summary.md")
    assert path.read_text().startswith("## Chaos certification")
    assert step.read_text().startswith("before\n## Chaos certification")


def test_render_all_writes_summary_md(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    from kfchaos import certify
    from kfchaos.report import render
    monkeypatch.setattr(render, "render_report", lambda run_dir: None)
    result = run_result()
    result.write(tmp_path)
    certify.render_all(tmp_path, result)
    assert (tmp_path / "summary.md").read_text() == render_summary(result)


@pytest.mark.parametrize("done, total, elapsed, want", [
    (0, 12, 0.0, ""), (1, 12, 60.0, "ETA 11m 00s"), (3, 12, 90.0, "ETA 4m 30s"), (11, 12, 11.0, "ETA 1s"),
    (12, 12, 100.0, ""), (2, 4, 7200.0, "ETA 2h 00m"),
])
def test_eta(done, total, elapsed, want):
    assert eta_text(done, total, elapsed) == want


def test_duration_text():
    assert [duration_text(s) for s in (None, 0, 59.4, 60, 3599, 3600)] == ["", "0s", "59s", "1m 00s", "59m 59s",
                                                                          "1h 00m"]

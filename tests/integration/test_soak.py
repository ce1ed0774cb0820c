"""A short soak on the real platform: a periodic fault schedule from the seed, the history
rotated into several chunk files, a progress line, and ``analyze`` recomputing every verdict
from the stored chunks alone, on the compiled core and, the same, on the Python path."""
import json
import logging

import pytest

from kfchaos.analyze import facts_and_checkers, analyze_scenario
from kfchaos.checkers import native
from kfchaos.cli import main
from kfchaos.faults import schedule
from kfchaos.history import iter_load
from kfchaos.history_rotation import CHUNK_DIR, chunk_files

pytestmark = pytest.mark.platform


def test_a_short_soak_rotates_its_history_and_analyze_gives_the_same_verdicts(certification, run_dir, monkeypatch,
                                                                             caplog):
    monkeypatch.setenv("CHAOS_SOAK", "45s")
    monkeypatch.setenv("CHAOS_SOAK_PERIOD", "15s")
    monkeypatch.setenv("CHAOS_SOAK_CHUNK", "10s")          # so the short run rotates
    monkeypatch.delenv("CHAOS_SCHEDULE", raising=False)
    with caplog.at_level(logging.INFO, logger="chaos.soak"):
        result = certification.run("soak")
    assert result.status == "held", result.summary()
    d = run_dir / "soak"

    stored = schedule.load(d / "schedule.json")
    assert len(stored) == 3 and all(15 * k <= s.start < 15 * (k + 1) for k, s in enumerate(stored))
    assert json.loads((d / "schedule.json").read_text())["seed"] == certification.seed
    assert not (d / "history.jsonl").exists() and not (d / "history.kfh").exists()
    files = chunk_files(d / CHUNK_DIR)
    assert len(files) > 1, files
    assert result.figures["history_chunks"] >= 2

    lines = [r.getMessage() for r in caplog.records if r.name == "chaos.soak"]
    assert any(line.startswith("soak ") and "/45s: " in line and " ops, " in line for line in lines), lines

    again, verdicts = analyze_scenario(d)
    live = json.loads((d / "verdicts.json").read_text())
    assert json.loads(json.dumps({k: v.to_dict() for k, v in verdicts.items()}, default=str)) == live
    assert [(c.contract, c.verdict) for c in again.contracts] == [(c.contract, c.verdict) for c in result.contracts]
    assert again.status == result.status and again.figures["lost"] == result.figures["lost"] == 0
    faults = [op for op in iter_load(d / CHUNK_DIR) if op["f"] in ("fault-start", "fault-stop") and op["type"] == "ok"]
    assert [op["f"] for op in faults] == ["fault-start", "fault-stop"] * 3      # every fault took effect and healed
    assert main(["analyze", str(d)]) == 0

    # the compiled core decided the rotated history, with the Python path's result
    prepared = native.prepare(d / CHUNK_DIR)
    assert prepared is not None, native.scan(d / CHUNK_DIR)
    facts, names = facts_and_checkers(prepared.index, "soak", {}, d)
    assert native.decide_prepared(prepared, names, facts.options) is not None, names
    monkeypatch.setenv("KFCHAOS_NATIVE", "0")
    in_python, python_verdicts = analyze_scenario(d)
    assert in_python.to_dict() == again.to_dict()
    assert {k: v.to_dict() for k, v in python_verdicts.items()} == {k: v.to_dict() for k, v in verdicts.items()}

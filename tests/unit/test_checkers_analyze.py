"""harness.analyze: report rendering, result dict and CLI exit codes."""
import json
import subprocess
import sys

from harness.analyze import analyze, main, render_text
from harness.checkers import check_all
from harness.checkers.inject import inject_lost
from harness.checkers.synth import Builder, generate


def write_run(tmp_path, ops):
    with open(tmp_path / "history.jsonl", "w") as fh:
        for op in ops:
            fh.write(json.dumps(op) + "\n")
    return tmp_path


def test_analyze_valid_run(tmp_path, capsys):
    run = write_run(tmp_path, generate(1, 800).ops)
    res = analyze(run)
    assert res["valid"] == "valid" and res["ops"] > 800
    assert set(res["verdicts"]) >= {"lost", "duplicate", "ordering", "offsets", "group"}
    json.dumps(res)
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["overall", "VALID"]
    assert main([str(run)]) == 0


def test_analyze_invalid_run_prints_examples(tmp_path, capsys):
    sim = generate(2, 800, faults=2)
    inject_lost(sim.ops, rng=0)
    run = write_run(tmp_path, sim.ops)
    assert main([str(run)]) == 1
    out = capsys.readouterr().out
    assert "lost" in out and "invalid" in out and "lost / lost: 1" in out
    assert main([str(run), "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["verdicts"]["lost"]["anomalies"]["lost"]["count"] == 1


def test_unknown_and_usage_exit_codes(tmp_path, capsys):
    b = Builder().send("a", o=0)
    run = write_run(tmp_path, b.ops)
    assert main([str(run)]) == 2
    assert main([str(tmp_path / "missing")]) == 3
    r = subprocess.run([sys.executable, "-m", "harness.analyze", "--bogus"],
                       capture_output=True, text=True)
    assert r.returncode == 3


def test_render_text_accepts_dicts():
    b = Builder().send("a", o=0).send("b", o=1).final([(0, 0, "a")], end={0: 2})
    vs = check_all(b.ops)
    text = render_text({k: v.to_dict() for k, v in vs.items()})
    assert text.splitlines()[0].split() == ["overall", "INVALID"]
    assert "id=b" in text and "offset-gap=1" in text

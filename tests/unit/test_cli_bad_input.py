"""Bad input at the `chaos` entry point: one line naming what is wrong, exit 2, nothing started.

Each case runs the real CLI in a subprocess. "Nothing started" is checked by the reports
directory: a certification creates its run directory before the platform, so an empty
reports directory means no image build, no container and no network was attempted."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "kfchaos" / "profiles" / "kafka-3az.yaml").read_text()


def profile_with(tmp_path: Path, old: str, new: str) -> str:
    assert old in GOOD, old
    p = tmp_path / "p.yaml"
    p.write_text(GOOD.replace(old, new, 1))
    return str(p)


def run_cli(args, tmp_path, env=None):
    import os
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "kfchaos.cli", *args, "--reports", str(reports)]
                          if args and args[0] == "certify" else [sys.executable, "-m", "kfchaos.cli", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    return proc, reports


def assert_one_line(proc, reports, *words):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not reports.exists() or not any(reports.iterdir()), list(reports.iterdir())


PROFILE_CASES = [
    ("recovery_seconds: 60", "recovery_seconds: .nan", "recovery_seconds"),
    ("recovery_seconds: 60", "recovery_seconds: .inf", "recovery_seconds"),
    ("recovery_seconds: 60", "recovery_seconds: -5", "recovery_seconds"),
    ("  partitions: 3", "  partitions: 0", "partitions"),
    ("  replication_factor: 3", "  replication_factor: 4", "replication"),
    ("zones: [a, b, c]", "zones: [a, 'b/x', c]", "zone"),
    ("zones: [a, b, c]", "zones: [a, a, c]", "zone"),
    ("name: kafka-3az", "name: 'kafka 3az'", "name"),
    ("  backfill:\n    consumer_byte_rate: 1048576", "  backfill: 12", "quotas"),
    ("  kind: kafka", "  kind: kafka\n  port_base: 70000", "port_base"),
]


@pytest.mark.parametrize("old, new, word", PROFILE_CASES, ids=[c[2] + "-" + str(i) for i, c in enumerate(PROFILE_CASES)])
def test_bad_profile_is_one_line_before_anything_starts(tmp_path, old, new, word):
    proc, reports = run_cli(["certify", "--profile", profile_with(tmp_path, old, new)], tmp_path)
    assert_one_line(proc, reports, word)


def test_binary_and_missing_profiles(tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x00\xff\xfe" * 50)
    assert_one_line(*run_cli(["certify", "--profile", str(binary)], tmp_path), "UTF-8")
    assert_one_line(*run_cli(["certify", "--profile", "no-such-profile"], tmp_path), "no-such-profile")


@pytest.mark.parametrize("content, word", [
    ('{"faults": [{"fault": "no-such-fault", "target": "zone:a", "start": 1, "duration": 2}]}', "no-such-fault"),
    ('{"faults": [{"fault": "kill", "target": "zone:a", "start": -1, "duration": 2}]}', "start"),
    ('{"faults": [{"fault": "kill", "target": "zone:q", "start": 1, "duration": 2}]}', "zone"),
    ('{"faults": [ {"fault": ', "JSON"),
    ('[1, 2]', "faults"),
])
def test_bad_chaos_schedule_is_one_line(tmp_path, content, word):
    sched = tmp_path / "schedule.json"
    sched.write_text(content)
    proc, reports = run_cli(["certify", "--scenario", "random-faults"], tmp_path, env={"CHAOS_SCHEDULE": str(sched)})
    assert_one_line(proc, reports, "CHAOS_SCHEDULE", word)


def test_bad_environment_and_arguments(tmp_path):
    assert_one_line(*run_cli(["certify"], tmp_path, env={"CHAOS_IMAGES": "no-such-role=x:1"}), "no-such-role")
    assert_one_line(*run_cli(["certify", "--scenario", "kill-leaderr"], tmp_path), "kill-leaderr")
    assert_one_line(*run_cli(["certify", "--seed", "abc"], tmp_path), "seed")
    assert_one_line(*run_cli(["report", str(tmp_path / "nope")], tmp_path), "results.json")
    assert_one_line(*run_cli(["compare", str(tmp_path / "nope")], tmp_path), "results.json")


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_a_bad_scenario_timeout_is_one_line(value, tmp_path):
    proc, reports = run_cli(["certify", "--timeout", value], tmp_path)
    assert_one_line(proc, reports, "--timeout", "seconds above 0")


@pytest.mark.parametrize("args, words", [
    (["--from", "kafka-3az", "--to", "kafka-3az"], ("both kafka-3az", "two different profiles")),
    (["--from", "kafka-3az", "--to", "no-such-profile"], ("no-such-profile", "not found")),
    (["--from", "tansu-s3", "--to", "kafka-3az"], ("tansu-s3", "Apache Kafka")),
    (["--from", "kafka-3az", "--to", "kafka-3az-tiered", "--fault", "zap:target"], ("zap:target", "kill:target")),
    (["--from", "kafka-3az"], ("--to",)),
])
def test_bad_migration_input_is_one_line_before_anything_starts(tmp_path, args, words):
    reports = tmp_path / "reports"
    proc, _ = run_cli(["migrate", *args, "--reports", str(reports)], tmp_path)
    assert_one_line(proc, reports, *words)

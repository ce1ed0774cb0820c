"""A credential planted in a container's log and in a bring-up error never reaches a file.

The profile names an environment variable in `secrets_env` and uses its value in a broker
setting that makes the broker fail at start with the value in its log (a log directory
path): the bring-up error then carries the log tail. Every file of the run directory (saved
container logs included) and the CLI's output are searched for the value."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.platform]
ROOT = Path(__file__).resolve().parents[2]
SECRET = "planted-S3cr3t-9f2c41d7"


def test_planted_credential_is_redacted_everywhere(tmp_path):
    safe = (ROOT / "kfchaos" / "profiles" / "kafka-3az.yaml").read_text()
    profile = tmp_path / "planted.yaml"
    profile.write_text(safe.replace("name: kafka-3az", "name: planted\nsecrets_env: [CHAOS_PLANTED_SECRET]")
                       .replace("    min.insync.replicas: 2\ntopic:",
                                f"    min.insync.replicas: 2\n    log.dirs: /proc/no-such-dir/{SECRET}\n"
                                "  startup_timeout: 120\ntopic:", 1))
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "kfchaos.cli", "certify", "--profile", str(profile),
                           "--scenario", "smoke", "--reports", str(reports)], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env={**os.environ, "CHAOS_PLANTED_SECRET": SECRET})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert SECRET not in proc.stdout + proc.stderr
    files = [f for f in reports.rglob("*") if f.is_file()]
    assert any(f.parent.name == "logs" for f in files), files          # the logs were saved
    masked = False
    for f in files:
        text = f.read_text(errors="replace")
        assert SECRET not in text, f
        masked |= "/proc/no-such-dir/***" in text
    assert masked, "the planted value never reached a saved log: the test planted nothing"

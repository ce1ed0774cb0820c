"""The shipped kafka-3az profile as platform tests that share the host use it.

The suite runs two pytest-xdist workers, each with its own platform, on the 2 cores. There
a restarted TaskManager took more than the shipped 60 s to run the job again (CI,
2026-11-28) and a Flink restore on a new release 80 s (at load 75). Tests that certify
something else than recovery (the external path, the team's own job, version moves) give
recovery this budget; the shipped budget is certified by tests/system/test_certification.py.
"""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_HOST_RECOVERY_S = 180


def kafka_3az(name: str) -> dict:
    """The shipped kafka-3az profile renamed ``name``, recovery budgeted for the shared host."""
    data = yaml.safe_load((ROOT / "kfchaos" / "profiles" / "kafka-3az.yaml").read_text())
    data["name"] = name
    data["budgets"]["recovery_seconds"] = SHARED_HOST_RECOVERY_S
    return data


def write(directory: Path, data: dict) -> Path:
    """Write a profile as ``<directory>/<name>.yaml``; returns its path."""
    path = directory / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path

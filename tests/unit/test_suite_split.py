"""The suite's split between xdist workers (tests/conftest.py): the listed session-platform
modules are exactly those whose tests use the harness's session ``platform`` fixture, and
the scheduler keeps each unit on one worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import conftest

ROOT = Path(__file__).resolve().parents[2]

COLLECTOR = '''
import json, os


def pytest_collection_finish(session):
    users = set()
    for item in session.items:
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}).get("platform") or ()
        if defs and getattr(defs[-1].func, "__module__", "") == "kfchaos.pytest_fixtures":   # the one in effect
            users.add(item.nodeid.split("::", 1)[0])
    with open(os.environ["SPLIT_OUT"], "w") as fh:
        json.dump({"users": sorted(users), "order": [i.nodeid for i in session.items]}, fh)
'''


def collect(tmp_path: Path) -> dict:
    (tmp_path / "split_collector.py").write_text(COLLECTOR)
    out = tmp_path / "split.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests", "--collect-only", "-q", "-p", "no:xdist",
                           "-p", "split_collector"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SPLIT_OUT": str(out),
                               "PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_the_listed_modules_are_exactly_the_session_platform_users(tmp_path):
    got = collect(tmp_path)
    assert set(got["users"]) == conftest.SESSION_PLATFORM_MODULES
    order = [conftest.run_order(conftest.unit_of(n)) for n in got["order"]]
    assert order == sorted(order) and order[0] == 0       # the session platform's unit first


def test_units_are_the_session_platform_or_the_module():
    assert conftest.unit_of("tests/integration/test_faults.py::test_x[a]") == conftest.SESSION_PLATFORM_UNIT
    assert conftest.unit_of("tests/system/test_versions.py::test_y") == "tests/system/test_versions.py"
    assert conftest.unit_of("tests/unit/test_ramp.py::TestA::test_z") == "tests/unit/test_ramp.py"
    assert [conftest.run_order(u) for u in (conftest.SESSION_PLATFORM_UNIT, "tests/system/a.py",
                                            "tests/integration/b.py", "tests/unit/c.py")] == [0, 1, 2, 3]

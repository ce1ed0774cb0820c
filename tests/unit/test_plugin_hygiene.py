"""The pytest plugin does nothing to a session that does not use the harness: no header
line, no environment variable, no logging handler, no re-run section, no Docker client;
and does all of it in a session that does use it (a harness fixture, marker or option).

Each case runs pytest in a subprocess on a throwaway test directory, with this checkout
first on the path; a conftest there records, at the very end of the session, what the
session left behind.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent('''
    import json, logging, os, sys

    def pytest_unconfigure(config):
        handlers = [h for h in logging.getLogger("chaos").handlers if getattr(h, "_chaos", False)]
        with open(os.environ["PROBE_OUT"], "w") as fh:
            json.dump({"ryuk": os.environ.get("TESTCONTAINERS_RYUK_DISABLED"), "docker": "docker" in sys.modules,
                       "handlers": len(handlers), "plugin": config.pluginmanager.hasplugin("chaos")
                       or "kfchaos.pytest_plugin" in sys.modules}, fh)
''')


def run_pytest(tmp_path: Path, tests: str, *args: str, conftest: str = "") -> tuple[str, dict]:
    d = tmp_path / "proj"
    d.mkdir(exist_ok=True)
    (d / "conftest.py").write_text(PROBE + textwrap.dedent(conftest))
    (d / "test_it.py").write_text(textwrap.dedent(tests))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTCONTAINERS_", "PYTEST_", "CHAOS_"))}
    env.update(PYTHONPATH=str(REPO), PROBE_OUT=str(d / "probe.json"), CHAOS_REPORTS_DIR=str(tmp_path / "reports"))
    if "kfchaos.pytest_plugin" not in _entry_points():
        args = ("-p", "kfchaos.pytest_plugin", *args)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args], cwd=d,
                          env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    return out, json.loads((d / "probe.json").read_text())


def _entry_points() -> set[str]:
    from importlib.metadata import entry_points
    return {ep.value for ep in entry_points(group="pytest11")}


PLAIN = '''
    import os

    def test_passes():
        assert os.environ.get("TESTCONTAINERS_RYUK_DISABLED") is None

    def test_fails():
        assert 1 == 2
'''


def test_plain_session_is_untouched(tmp_path):
    out, probe = run_pytest(tmp_path, PLAIN)
    assert probe["plugin"], out                      # the plugin was loaded ...
    assert "1 failed, 1 passed" in out
    assert "chaos:" not in out                       # ... but printed no header line
    assert "re-run" not in out                       # no re-run section on the failing test
    assert probe == {"ryuk": None, "docker": False, "handlers": 0, "plugin": True}


def test_a_same_named_fixture_of_the_user_is_not_the_harness(tmp_path):
    out, probe = run_pytest(tmp_path, '''
        import pytest

        @pytest.fixture
        def profile():
            return "mine"

        def test_fails(profile):
            assert profile == "theirs"
    ''')
    assert "1 failed" in out and "chaos:" not in out and "re-run" not in out
    assert probe["ryuk"] is None and not probe["docker"] and probe["handlers"] == 0


def test_session_using_a_harness_fixture_gets_everything(tmp_path):
    out, probe = run_pytest(tmp_path, '''
        def test_uses_profile(profile):
            assert profile.name == "kafka-3az"

        def test_fails_with_profile(profile):
            assert profile.name == "other"

        def test_plain_fails():
            assert False
    ''', "--chaos-seed=7")
    assert "chaos: profile=kafka-3az seed=7" in out
    assert "2 failed, 1 passed" in out
    assert out.count("re-run") == 1                  # only the failing test that used the harness
    assert "test_it.py::test_fails_with_profile --chaos-seed=7 --chaos-profile=kafka-3az" in out
    assert probe["ryuk"] == "true" and probe["handlers"] == 1


def test_fixture_use_without_options_prints_the_seed_after_collection(tmp_path):
    out, probe = run_pytest(tmp_path, '''
        def test_uses_profile(profile):
            pass
    ''')
    assert "chaos: profile=kafka-3az seed=" in out
    assert probe["ryuk"] == "true"


def test_a_marker_counts_as_use(tmp_path):
    out, probe = run_pytest(tmp_path, '''
        import pytest

        @pytest.mark.fault
        def test_marked():
            pass
    ''')
    assert "chaos: profile=" in out and probe["ryuk"] == "true"


def test_an_option_counts_as_use(tmp_path):
    out, probe = run_pytest(tmp_path, PLAIN.replace('is None', 'in (None, "true")'), "--chaos-profile=kafka-3az")
    assert "chaos: profile=kafka-3az" in out and "re-run" not in out  # plain tests still get no re-run line
    assert probe["ryuk"] == "true"


def test_fixtures_are_documented(tmp_path):
    out, _ = run_pytest(tmp_path, PLAIN, "--fixtures")
    from kfchaos.pytest_fixtures import FIXTURES
    for name in FIXTURES:
        line = next((ln for ln in out.splitlines() if ln.startswith(f"{name} ") and "pytest_fixtures.py" in ln), None)
        assert line is not None, name
        after = out.split(line, 1)[1].splitlines()[1]
        assert after.strip() and "no docstring" not in after, name


def test_chaos_scenarios_option_registers_user_scenarios(tmp_path):
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "mine.yaml").write_text("name: mine-yaml\ndoc: Mine.\ncontracts: [durability]\n")
    out, _ = run_pytest(tmp_path, '''
        from kfchaos.scenarios import get

        def test_registered():
            assert get("mine-yaml").contracts == ("durability",)
    ''', f"--chaos-scenarios={scen}")
    assert "1 passed" in out, out
    (scen / "bad.yaml").write_text("name: bad\ndoc: Bad.\ncontracts: [speed]\n")
    out, _ = run_pytest(tmp_path, PLAIN, f"--chaos-scenarios={scen}")
    assert "unknown contract 'speed'" in out and "bad.yaml" in out


@pytest.mark.parametrize("given", ["--chaos-seed=3", "--chaos-profile", "--chaos-reports=x"])
def test_explicit_options_detection(given):
    from kfchaos.pytest_plugin import explicit_options

    class Cfg:
        invocation_params = type("P", (), {"args": ("tests", given)})()

        def getini(self, name):
            return []
    assert explicit_options(Cfg())
    Cfg.invocation_params.args = ("tests", "-k", "chaos")
    assert not explicit_options(Cfg())

"""The harness as a library another repository installs.

Builds the wheel from a copy of this checkout, installs it into a fresh virtual
environment outside the repository (``--system-site-packages`` so that the dependencies
are not downloaded again), writes a tiny user repository (a YAML scenario, a Python
scenario module, a pytest module using the plugin's fixtures, a profile copy) and checks:

- the wheel carries the plugin, its fixtures, the shipped scenarios and their YAML twins,
  the profiles and the reference Flink job's sources, and no top-level ``fixtures``;
- a plain test session in the user repository is untouched by the plugin;
- ``python -m kfchaos.cli list --scenarios DIR`` lists the user's scenarios;
- (``platform``) the user's smoke-like YAML scenario runs on a real platform through the
  plugin's ``certification`` fixture, once, when the machine is not busy (load average
  below 4), leaving a run directory with summary.md and nothing running.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

USER_YAML = textwrap.dedent('''
    name: my-smoke
    doc: |
      My smoke: the shipped smoke scenario, as a user writes it.

      Contracts: durability, ordering, offset continuity. Fault: none.
    contracts: [durability, ordering, offset-continuity]
    workload: {duration: 20, rate: 100, producers: 1, consumers: 1, transactional: false}
    faults: []
''')

USER_PY = textwrap.dedent('''
    """My kill: the last zone's broker killed for 10 s under load."""
    from kfchaos.faults.base import FaultSpec
    from kfchaos.scenario import Scenario
    from kfchaos.workload import WorkloadSpec


    def steps(run):
        topic = run.topic()
        zone = run.platform.zones[-1]
        kill = FaultSpec("kill", f"zone:{zone}", start=5, duration=10)
        run.workload(topic, WorkloadSpec(duration_s=25), faults=[kill])


    SCENARIO = Scenario("my-kill", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                        tags=("fault",))
''')

USER_TEST_CHAOS = textwrap.dedent('''
    """The user's scenarios through the plugin's fixtures (pytest --chaos-scenarios scenarios)."""
    import pytest

    from kfchaos.scenarios import REGISTRY, DEFAULT


    MINE = [n for n in REGISTRY if n not in DEFAULT]


    @pytest.mark.scenario
    @pytest.mark.parametrize("name", MINE)
    def test_my_scenario(name, certification):
        result = certification.run(name)
        assert result.status == "held", result.summary()
''')

USER_TEST_PLAIN = textwrap.dedent('''
    import logging
    import os
    import sys


    def test_unrelated():
        assert os.environ.get("TESTCONTAINERS_RYUK_DISABLED") is None
        assert "docker" not in sys.modules and "kfchaos.platform" not in sys.modules
        assert not logging.getLogger("chaos").handlers
''')


def _run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _clean_env(home: Path | None = None) -> dict[str, str]:
    """The environment of a user: none of this checkout's paths or the harness's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PYTEST_", "TESTCONTAINERS_", "CHAOS_REPORTS", "VIRTUAL_ENV"))}
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (the working tree is not written to)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "kfchaos", src / "kfchaos",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "target"))
    out = tmp_path_factory.mktemp("wheel")
    proc = _run([sys.executable, "-m", "pip", "wheel", ".", "-w", out, "--no-deps", "-q",
                 "--disable-pip-version-check"], cwd=src)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheels = list(out.glob("kafka_flink_chaos-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv_python(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    assert REPO not in root.parents
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(root)
    py = root / "bin" / "python"
    proc = _run([py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "--disable-pip-version-check",
                 wheel], cwd=root, env=_clean_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return py


@pytest.fixture(scope="module")
def user_repo(venv_python, tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("user-repo")
    (repo / "scenarios").mkdir()
    (repo / "scenarios" / "my_smoke.yaml").write_text(USER_YAML)
    (repo / "scenarios" / "my_kill.py").write_text(USER_PY)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_plain.py").write_text(USER_TEST_PLAIN)
    (repo / "tests" / "test_chaos.py").write_text(USER_TEST_CHAOS)
    (repo / "profiles").mkdir()
    proc = _run([venv_python, "-c", "import kfchaos.profiles as p; print(p.SHIPPED / 'kafka-3az.yaml')"], cwd=repo,
                env=_clean_env())
    assert proc.returncode == 0, proc.stderr
    shipped = Path(proc.stdout.strip())
    (repo / "profiles" / "my-3az.yaml").write_text(shipped.read_text().replace("name: kafka-3az", "name: my-3az"))
    return repo


def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    for want in ("kfchaos/pytest_plugin.py", "kfchaos/pytest_fixtures.py", "kfchaos/scenarios/kill_leader.py",
                 "kfchaos/scenarios/yaml_scenarios.py", "kfchaos/scenarios/data/kill-leader.yaml",
                 "kfchaos/scenarios/data/smoke.yaml", "kfchaos/scenarios/data/zone-isolation.yaml",
                 "kfchaos/profiles/kafka-3az.yaml", "kfchaos/report/summary.py", "kfchaos/flink/job/pom.xml",
                 "kfchaos/flink/job/src/main/java/harness/job/ExactlyOnceJob.java"):
        assert want in names, want
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"kfchaos"}, tops                 # no top-level `fixtures` (a PyPI name)
    assert not any("/target/" in n for n in names)
    assert "[pytest11]\nchaos = kfchaos.pytest_plugin" in entry_points
    assert "kfchaos = kfchaos.cli:main" in entry_points
    assert "\nchaos = kfchaos.cli" not in entry_points


def test_installed_package_is_the_wheel(venv_python, user_repo):
    proc = _run([venv_python, "-c", "import kfchaos, kfchaos.flink.jobjar as j; print(kfchaos.__file__); "
                 "print(j.job_project_dir()); print(j.source_hash()[:12])"], cwd=user_repo, env=_clean_env())
    assert proc.returncode == 0, proc.stderr
    where, project, digest = proc.stdout.split()
    venv_root = venv_python.parent.parent
    assert Path(where).is_relative_to(venv_root) and Path(project).is_relative_to(venv_root)
    from kfchaos.flink import jobjar
    assert digest == jobjar.source_hash()[:12]      # the same sources: the same cached jar


def test_plain_session_in_the_user_repo_is_untouched(venv_python, user_repo):
    proc = _run([venv_python, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_plain.py", "-rA"],
                cwd=user_repo, env=_clean_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "kafka-flink-chaos" in out               # the plugin is loaded ("plugins: ...") ...
    assert "chaos:" not in out and "re-run" not in out   # ... and did nothing


def test_user_fixtures_and_collection(venv_python, user_repo):
    proc = _run([venv_python, "-m", "pytest", "-p", "no:cacheprovider", "--fixtures", "tests/test_plain.py"],
                cwd=user_repo, env=_clean_env())
    assert proc.returncode == 0, proc.stderr
    for name in ("platform", "profile", "certification", "new_topic", "new_bucket", "run_dir"):
        assert any(ln.startswith(f"{name} ") and "pytest_fixtures.py" in ln for ln in proc.stdout.splitlines()), name
    proc = _run([venv_python, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                 "--chaos-scenarios", "scenarios", "tests/test_chaos.py"], cwd=user_repo, env=_clean_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test_my_scenario[my-kill]" in proc.stdout and "test_my_scenario[my-smoke]" in proc.stdout


def test_load_dir_and_cli_list(venv_python, user_repo):
    proc = _run([venv_python, "-c", "from kfchaos.scenarios import load_dir; s = load_dir('scenarios'); "
                 "print(sorted(s)); print(s['my-smoke'].steps.data.workload)"], cwd=user_repo, env=_clean_env())
    assert proc.returncode == 0, proc.stderr
    assert "['my-kill', 'my-smoke']" in proc.stdout and "duration_s=20" in proc.stdout
    proc = _run([venv_python, "-m", "kfchaos.cli", "list", "--scenarios", "scenarios"], cwd=user_repo,
                env=_clean_env())
    assert proc.returncode == 0, proc.stderr
    assert "my-smoke" in proc.stdout and "my-kill" in proc.stdout
    assert "my-3az" in proc.stdout                   # ./profiles/ of the user's repository


def test_console_script(venv_python, user_repo):
    bindir = venv_python.parent
    assert (bindir / "kfchaos").is_file() and not (bindir / "chaos").exists()
    proc = _run([bindir / "kfchaos", "--help"], cwd=user_repo, env=_clean_env())
    assert proc.returncode == 0 and "certify" in proc.stdout


def _docker_ok() -> bool:
    return shutil.which("docker") is not None and _run(["docker", "info"], cwd=Path("/"), timeout=30).returncode == 0


@pytest.fixture
def quiet_machine():
    """Docker must answer: the user's scenario runs on the real platform (fails loudly otherwise)."""
    assert _docker_ok(), "no Docker daemon answers: run ./run.sh test, which starts one (scripts/setup.sh)"


@pytest.mark.platform
def test_user_yaml_scenario_on_the_platform(quiet_machine, venv_python, user_repo, tmp_path):
    """The expensive step, at most once: the user's smoke twin on a real platform."""
    reports = tmp_path / "reports"
    proc = _run([venv_python, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_chaos.py", "-k", "my-smoke",
                 "--chaos-scenarios", "scenarios", "--chaos-profile", "profiles/my-3az.yaml",
                 f"--chaos-reports={reports}", "--chaos-seed=11"], cwd=user_repo, env=_clean_env(), timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "chaos: profile=profiles/my-3az.yaml seed=11" in out, out[-4000:]
    runs = [d for d in reports.iterdir() if d.is_dir() and not d.is_symlink()]
    assert len(runs) == 1, runs
    results = json.loads((runs[0] / "results.json").read_text())
    assert [s["name"] for s in results["scenarios"]] == ["my-smoke"]
    assert results["scenarios"][0]["status"] == "held"
    summary = (runs[0] / "summary.md").read_text()
    assert "| my-smoke | held |" in summary
    run_id = results.get("run_id")
    assert run_id
    for what in ("ps", "network"):
        cmd = ["docker", "ps", "-aq"] if what == "ps" else ["docker", "network", "ls", "-q"]
        left = _run([*cmd, "--filter", f"label=io.chaos-harness.run={run_id}"], cwd=Path("/")).stdout.split()
        assert not left, f"left behind by {run_id}: {left}"

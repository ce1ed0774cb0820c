"""SASL_SSL + ACLs on the real built-in platform (profile kafka-3az-sasl), one platform for all.

- certify `--profile kafka-3az-sasl --scenario access-control` holds: every intruder attempt
  denied before, during and after a leader kill and a rolling restart, while the workload
  principal keeps durability, ordering, offset continuity and recovery; `analyze` recomputes
  the same verdicts from the stored history;
- no generated password is in any file of the run directory;
- a client with a wrong SASL password gets one clear line (``check_login``), and so does
  `kfchaos certify --target FILE` for a target file pointing at this SASL_SSL platform with a
  wrong password (exit 2, nothing started);
- the run's private TLS dir is gone after the run, and nothing of the run is left in Docker.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest
import yaml

from kfchaos import profiles
from kfchaos.analyze import analyze_run
from kfchaos.certify import certify
from kfchaos.platform.platform import Platform
from kfchaos.platform.security import LoginError, check_login

pytestmark = [pytest.mark.platform, pytest.mark.scenario]
ROOT = Path(__file__).resolve().parents[2]


class Observed(Platform):
    """The built-in platform, observed by the test just before it stops (while still up)."""
    seen: dict = {}

    def stop(self) -> None:
        try:
            if self.security is not None and "passwords" not in self.seen:
                self.seen.update(passwords=dict(self.security.passwords), tls_dir=self.security.dir,
                                 run_id=self.run_id)
                self.seen["login"] = _wrong_login(self)
                self.seen["target"] = _wrong_target(self)
        finally:
            super().stop()


def _wrong_login(p: Platform) -> str:
    try:
        check_login(p.bootstrap_servers, p.principal_settings("workload", password="not-the-password"))
    except LoginError as exc:
        return str(exc)
    return "no error"


def _wrong_target(p: Platform) -> subprocess.CompletedProcess:
    from kfchaos.targets.builtin import ACCESS_ENV, PASSWORD_ENV, SECRET_ENV, USERNAME_ENV, target_document
    directory = p.security.dir.parent / f"chaos-{p.run_id}-target"
    directory.mkdir(exist_ok=True)
    target = directory / "target.yaml"
    target.write_text(yaml.safe_dump(target_document(p)))
    env = {**os.environ, ACCESS_ENV: p.s3_access_key, SECRET_ENV: p.s3_secret_key, USERNAME_ENV: "workload",
           PASSWORD_ENV: "not-the-password", "PYTHONPATH": str(ROOT)}
    try:
        return subprocess.run([sys.executable, "-m", "kfchaos.cli", "certify", "--target", str(target),
                               "--scenario", "smoke", "--reports", str(directory / "reports")],
                              cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    finally:
        import shutil
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    profile = profiles.load("kafka-3az-sasl")
    Observed.seen = {}
    run_dir = tmp_path_factory.mktemp("run")
    result = certify(profile, ["access-control"], seed=11, run_dir=run_dir,
                     platform_factory=lambda d: Observed(profile.platform, log_dir=d / "logs"))
    Observed.seen["dir"] = run_dir
    return result, Observed.seen


def test_access_control_holds_under_faults(run):
    result, seen = run
    [scenario] = result.scenarios
    assert result.exit_code == 0
    verdicts = {c.contract: c.verdict for c in scenario.contracts}
    assert verdicts == {"access-control": "held", "durability": "held", "ordering": "held",
                        "offset-continuity": "held", "recovery": "held"}, \
        [(c.contract, c.verdict, c.reason) for c in scenario.contracts]
    stats = json.loads((seen["dir"] / "access-control" / "verdicts.json").read_text())["access-control"]["stats"]
    assert all(stats["phases"][p]["denied"] > 0 for p in ("before", "during", "after")), stats
    assert sum(p["succeeded"] for p in stats["phases"].values()) == 0
    again = analyze_run(seen["dir"])
    assert [(c.contract, c.verdict) for c in again.scenarios[0].contracts] == \
        [(c.contract, c.verdict) for c in scenario.contracts]


def test_no_password_in_the_run_directory(run):
    result, seen = run
    assert len(seen["passwords"]) == 3
    files = [f for f in seen["dir"].rglob("*") if f.is_file()]
    assert files
    for f in files:
        data = f.read_bytes()
        for principal, password in seen["passwords"].items():
            assert password.encode() not in data, f"{principal}'s password is in {f}"


def test_wrong_password_is_one_clear_line(run):
    _, seen = run
    line = seen["login"]
    assert "\n" not in line and "rejected the SASL login of user 'workload'" in line and "wrong password" in line, line


def test_a_target_with_a_wrong_password_exits_2_with_one_line(run):
    _, seen = run
    proc = seen["target"]
    errors = [x for x in proc.stderr.splitlines() if x.startswith(("error", "kfchaos", "kafka"))]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "rejected" in proc.stderr and "CHAOS_KAFKA_PASSWORD" in proc.stderr, proc.stderr[-2000:]
    assert "not-the-password" not in proc.stderr + proc.stdout
    assert errors, proc.stderr[-2000:]


def test_nothing_is_left_behind(run):
    _, seen = run
    assert not Path(seen["tls_dir"]).exists()
    left = docker.from_env().containers.list(all=True, filters={"label": f"io.chaos-harness.run={seen['run_id']}"})
    assert not left, [c.name for c in left]

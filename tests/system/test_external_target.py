"""Certify a platform the harness did not start, through the external path only.

`kfchaos platform up` starts the built-in platform on its own and writes a target file;
`kfchaos certify --target FILE` then certifies it with the docker actuator, knowing nothing
but the file (and the credentials the environment gives): kill-leader,
flink-taskmanager-kill and object-storage-outage (a process, a Flink and an object-storage
fault) hold there as they do on the built-in path (test_certification.py, the README's
certification). The dry run plans the same scenarios and touches nothing. `kfchaos platform
down` removes it all. A network fault through the external path (a zone cut by iptables in
the target's containers) is tested in tests/integration/test_targets.py; the wider
comparison (smoke and zone-isolation too, built-in against external, scenario by scenario)
is `benchmarks/bench_external.py`, kept out of the suite for its length.
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

from tests import shared_host
from kfchaos.platform.owners import LABEL_PID

pytestmark = [pytest.mark.platform, pytest.mark.scenario]
ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("kill-leader", "flink-taskmanager-kill", "object-storage-outage")


def cli(*args: str, env: dict | None = None, timeout: int = 2400) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "kfchaos.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    sys.stderr.write(proc.stderr[-3000:])
    return proc


def read_env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip().removeprefix("export ")
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v.strip("'\"")
    return out


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    where = tmp_path_factory.mktemp("platform")
    up = cli("platform", "up", "--profile", "kafka-3az", "--dir", str(where), "--startup-timeout", "300", timeout=900)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        yield where / "target.yaml", read_env(where / "credentials.env")
    finally:
        down = cli("platform", "down", str(where), timeout=300)
        assert down.returncode == 0, down.stderr[-2000:]


def target_containers(path: Path) -> dict[str, tuple[str, str]]:
    """The target's containers (named in its file): name -> (id, status)."""
    names = {n["actuator"]["container"] for n in yaml.safe_load(path.read_text())["nodes"]
             if (n.get("actuator") or {}).get("container")}
    client = docker.from_env()
    return {c.name: (c.id, c.status) for c in client.containers.list(all=True) if c.name in names}


def test_dry_run_plans_and_touches_nothing(target):
    """The plan names every scenario and the nodes it would touch; the target's containers are
    the same ones in the same state afterwards, and the dry run created none of its own (checked
    by its process id label, so other runs on the same Docker do not disturb the check)."""
    path, env = target
    before = target_containers(path)
    assert before, "the target file names no container"
    proc = subprocess.Popen([sys.executable, "-m", "kfchaos.cli", "certify", "--target", str(path), "--dry-run",
                             *[a for s in SCENARIOS for a in ("--scenario", s)]], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    for name in SCENARIOS:
        assert name in out
    assert "kafka-" in out                             # the nodes a fault would touch
    assert target_containers(path) == before
    own = docker.from_env().containers.list(all=True, filters={"label": f"{LABEL_PID}={proc.pid}"})
    assert not own, [c.name for c in own]


def test_external_path_holds_what_the_built_in_path_holds(target, tmp_path):
    path, env = target
    secret = env["CHAOS_S3_SECRET_KEY"]
    reports = tmp_path / "reports"
    profile = shared_host.write(tmp_path, shared_host.kafka_3az("kafka-3az-shared-host"))
    proc = cli("certify", "--target", str(path), "--profile", str(profile), "--seed", "9",
               "--reports", str(reports),
               *[a for s in SCENARIOS for a in ("--scenario", s)], env=env)
    run = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    results = json.loads((run / "results.json").read_text())
    not_held = [(s["name"], c["contract"], c["verdict"], c["reason"]) for s in results["scenarios"]
                for c in s["contracts"] if c["verdict"] != "held"]
    assert proc.returncode == 0 and results["overall"] == "held", (proc.stdout[-3000:], not_held)
    assert [s["name"] for s in results["scenarios"]] == list(SCENARIOS)
    assert results["kind"] == "external"
    for f in run.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".jsonl", ".html", ".xml", ".md", ".txt", ".log"):
            assert secret not in f.read_text(errors="replace"), f
    # the dry run's plan names what the real run then did: the broker kill-leader killed
    plan = cli("certify", "--target", str(path), "--dry-run", "--scenario", "kill-leader", env=env, timeout=300).stdout
    started = [json.loads(line) for line in (run / "kill-leader" / "history.jsonl").read_text().splitlines()
               if '"fault-start"' in line and '"ok"' in line]
    zones = started[0]["value"]["target"]
    assert zones and all(f"kafka-{z}" in plan for z in zones), (zones, plan)
    assert "docker kill --signal SIGKILL" in plan, plan
    # idempotent producers record their ids and epoch bumps, so the figure is a count, not "—"
    kill = next(s for s in results["scenarios"] if s["name"] == "kill-leader")
    assert isinstance(kill["figures"].get("producer_epoch_bumps"), int), kill["figures"]
    history = (run / "kill-leader" / "history.jsonl").read_text()
    assert '"f":"client-event"' in history and '"event":"pid-assigned"' in history

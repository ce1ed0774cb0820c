"""A team's own Flink job (tests/userjob/enrich-job: orders in, enriched orders out, a Maven
module of its own, not the reference job), certified as a user would: a profile naming the
job, `kfchaos certify` on the real platform, the `exactly-once-by-id` output contract.

* the good build, given by Maven coordinates, holds exactly-once through a TaskManager kill
  and through a bad deploy (its next release cannot restore the savepoint) + rollback;
* the at-least-once build of the same job is flagged by the contract under a TaskManager kill.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kfchaos.history_pages import assemble
from tests import shared_host

pytestmark = [pytest.mark.platform, pytest.mark.flink]
ROOT = Path(__file__).resolve().parents[2]
JOB_PROJECT = ROOT / "tests" / "userjob" / "enrich-job"
GROUP = "org.example.chaos-test"


def mvn(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["mvn", "-q", "-B", *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"mvn {' '.join(args)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"


@pytest.fixture(scope="module")
def jars(tmp_path_factory) -> dict[str, Path]:
    """The job's three builds: good, next (source uid changed) and at-least-once."""
    out = tmp_path_factory.mktemp("enrich-jars")
    builds = {"good": [], "next": ["-Dsource.uid=orders-source-v2"], "alo": ["-Ddelivery=AT_LEAST_ONCE"]}
    for name, props in builds.items():
        work = out / f"src-{name}"
        shutil.copytree(JOB_PROJECT, work, ignore=shutil.ignore_patterns("target"))
        mvn("package", f"-Djar.name=orders-enrich-{name}", *props, cwd=work)
        shutil.copy(work / "target" / f"orders-enrich-{name}.jar", out / f"orders-enrich-{name}.jar")
    return {name: out / f"orders-enrich-{name}.jar" for name in builds}


@pytest.fixture(scope="module")
def good_coordinates(jars, tmp_path_factory):
    """The good build installed into the local Maven repository under throwaway coordinates."""
    version = f"1.0.{uuid.uuid4().int % 10**6}"
    mvn("org.apache.maven.plugins:maven-install-plugin:3.1.2:install-file", f"-Dfile={jars['good']}",
        f"-DgroupId={GROUP}", "-DartifactId=orders-enrich", f"-Dversion={version}", "-Dpackaging=jar",
        cwd=tmp_path_factory.mktemp("install"))
    yield f"{GROUP}:orders-enrich:{version}"
    shutil.rmtree(Path.home() / ".m2" / "repository" / Path(*GROUP.split(".")), ignore_errors=True)


def profile(tmp: Path, name: str, job: dict) -> Path:
    data = shared_host.kafka_3az(name)     # this module certifies the job's output contract
    data["job"] = {
        "entry_class": "org.example.enrich.EnrichJob",
        "args": ["--brokers", "{bootstrap}", "--orders", "{input_topic}", "--enriched", "{output_topic}",
                 "--group", "{group}", "--txn-prefix", "{txn_prefix}", "--checkpoint-ms", "{checkpoint_interval_ms}"],
        "input": {"id_field": "orderId", "key_field": "customer", "template": {"amount": 120, "currency": "EUR"}},
        "output": {"contract": "exactly-once-by-id", "id_field": "orderId"}, **job}
    return shared_host.write(tmp, data)


def certify(profile_path: Path, reports: Path, *scenarios: str) -> tuple[int, dict, Path]:
    picks = [a for s in scenarios for a in ("--scenario", s)]
    proc = subprocess.run([sys.executable, "-m", "kfchaos.cli", "certify", "--profile", str(profile_path),
                           "--seed", "11", *picks, "--reports", str(reports)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500)
    sys.stderr.write(proc.stderr[-4000:])
    run = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    return proc.returncode, json.loads((run / "results.json").read_text()), run


def contract(results: dict, scenario: str, name: str) -> dict:
    s = next(s for s in results["scenarios"] if s["name"] == scenario)
    return next(c for c in s["contracts"] if c["contract"] == name)


def test_good_build_holds_exactly_once_by_id_through_kill_and_bad_deploy(jars, good_coordinates, tmp_path):
    path = profile(tmp_path, "enrich-good", {"maven": good_coordinates, "next_jar": str(jars["next"])})
    code, results, run = certify(path, tmp_path / "reports", "flink-taskmanager-kill", "bad-deploy-rollback")
    for scenario in ("flink-taskmanager-kill", "bad-deploy-rollback"):
        eo = contract(results, scenario, "exactly-once")
        assert eo["verdict"] == "held", (scenario, eo)
    assert code == 0, results["overall"]
    history = (run / "bad-deploy-rollback" / "history.jsonl").read_text().splitlines()
    ops = list(assemble(json.loads(line) for line in history))      # output reads in pages assembled
    upgrade = [o for o in ops if o["f"] == "upgrade" and o["type"] != "invoke"]
    rollback = [o for o in ops if o["f"] == "rollback" and o["type"] == "ok"]
    assert upgrade and upgrade[-1]["type"] in ("fail", "info") and rollback, "the next release must fail, then roll back"
    out = [o for o in ops if o["f"] == "output-read" and o["type"] == "ok"][-1]["value"]["records"]
    assert out and all(r["value"]["tier"] == "gold" and "orderId" in r["value"] for r in out)
    sends = [o for o in ops if o["f"] == "send" and o["type"] == "ok"]
    assert len({r["value"]["orderId"] for r in out}) == len(out) >= len(sends)


def test_at_least_once_build_is_flagged_by_the_output_contract(jars, tmp_path):
    path = profile(tmp_path, "enrich-alo", {"jar": str(jars["alo"])})
    code, results, _ = certify(path, tmp_path / "reports", "flink-taskmanager-kill")
    eo = contract(results, "flink-taskmanager-kill", "exactly-once")
    assert code == 1 and eo["verdict"] == "violated", eo
    dup = eo["anomalies"]["duplicate-output"]
    assert dup["count"] > 0 and {"id", "partition", "offset"} <= set(dup["examples"][0])

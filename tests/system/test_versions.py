"""Versions as parameters, end to end on the real platform:

* a rolling upgrade from Kafka 3.9.1 to 4.1.1 under load (brokers on their data volumes,
  then the feature-level bump) holds every contract: 3.9.1 brings up and serves, 4.1.1
  takes over the same data;
* a version matrix (`--kafka 4.0.2 --flink 2.0.2`) brings up another Kafka 4.x and another
  Flink release with their own images and reference-job jar, moves the job to Flink 2.2.0
  through a savepoint with exactly-once held (Kafka and Flink both under test), and writes
  the comparison;
* a release that does not exist is one line and exit 2 before any container starts.
"""
from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
import yaml

from tests.system.test_certification import chaos

pytestmark = [pytest.mark.platform, pytest.mark.scenario]
ROOT = Path(__file__).resolve().parents[2]


def runs_in(reports: Path) -> list[Path]:
    return sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and (p / "results.json").exists())


def test_rolling_upgrade_39_to_41_holds_every_contract(tmp_path):
    data = yaml.safe_load((ROOT / "kfchaos" / "profiles" / "kafka-3az.yaml").read_text())
    data.update(name="kafka-39-to-41")
    data["platform"].update(versions={"kafka": "3.9.1"}, upgrade={"kafka": "4.1.1"})
    profile = tmp_path / "kafka-39-to-41.yaml"
    profile.write_text(yaml.safe_dump(data))
    proc = chaos("certify", "--profile", str(profile), "--scenario", "rolling-upgrade", "--seed", "5",
                 "--reports", str(tmp_path / "reports"))
    (run,) = runs_in(tmp_path / "reports")
    results = json.loads((run / "results.json").read_text())
    (sc,) = results["scenarios"]
    assert proc.returncode == 0 and sc["status"] == "held", [(c["contract"], c["verdict"], c["reason"])
                                                            for c in sc["contracts"]]
    assert results["platform"]["versions"]["kafka"] == "3.9.1"
    ops = [json.loads(line) for line in (run / "rolling-upgrade" / "history.jsonl").read_text().splitlines()]
    (started,) = [o for o in ops if o["f"] == "fault-start" and o["type"] == "ok"]
    proof = started["value"]["proof"]
    assert [s["broker"] for s in proof["steps"]] == ["kafka-a", "kafka-b", "kafka-c"]
    assert proof["metadata_version_before"].startswith("3.9") and proof["metadata_version_after"].startswith("4.1")
    left = docker.from_env().volumes.list(filters={"label": f"chaos.run={results['run_id']}"})
    assert not left, [v.name for v in left]


def test_version_matrix_brings_up_other_releases_and_moves_the_job_to_the_next_flink(tmp_path):
    """Kafka 4.0.2 with Flink 2.0.2 from `--kafka/--flink`, and the reference job moved to Flink
    2.2.0 through a savepoint (flink-upgrade): exactly-once holds across the move, the Flink
    containers run the new release's image, and the comparison names the releases."""
    data = yaml.safe_load((ROOT / "kfchaos" / "profiles" / "kafka-3az.yaml").read_text())
    data.update(name="kafka-3az-flink-move")
    data["platform"]["upgrade"] = {"flink": "2.2.0"}
    profile = tmp_path / "kafka-3az-flink-move.yaml"
    profile.write_text(yaml.safe_dump(data))
    reports = tmp_path / "reports"
    proc = chaos("certify", "--profile", str(profile), "--kafka", "4.0.2", "--flink", "2.0.2", "--seed", "3",
                 "--scenario", "flink-upgrade", "--reports", str(reports))
    (run,) = runs_in(reports)
    results = json.loads((run / "results.json").read_text())
    assert results["platform"]["versions"] == {"kafka": "4.0.2", "flink": "2.0.2"}
    (sc,) = results["scenarios"]
    assert proc.returncode == 0 and sc["status"] == "held", [(c["contract"], c["verdict"], c["reason"])
                                                            for c in sc["contracts"]]
    ops = [json.loads(line) for line in (run / "flink-upgrade" / "history.jsonl").read_text().splitlines()]
    (moved,) = [o for o in ops if o["f"] == "flink-release" and o["type"] == "ok"]
    proof = moved["value"]["proof"]
    assert (moved["value"]["from"], moved["value"]["to"]) == ("2.0.2", "2.2.0")
    assert set(proof["images_after"].values()) == {moved["value"]["image"]} != set(proof["images_before"].values())
    (stopped,) = [o for o in ops if o["f"] == "stop" and o["type"] == "ok"]
    (restored,) = [o for o in ops if o["f"] == "restore" and o["type"] == "ok"]
    assert restored["value"]["savepoint"] == stopped["value"]["savepoint"] and restored["value"]["restored"]
    (matrix,) = reports.glob("matrix-*")
    md = (matrix / "compare.md").read_text()
    assert "kafka 4.0.2" in md and "flink 2.0.2" in md
    assert "4.0.2" in (run / "report.html").read_text()


def test_a_release_that_does_not_exist_is_one_line_before_any_container(tmp_path):
    client = docker.from_env()
    before = {c.id for c in client.containers.list(all=True)}
    proc = chaos("certify", "--kafka", "4.9.9", "--scenario", "smoke", "--reports", str(tmp_path), timeout=600)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and lines[-1].startswith("error: ") and "4.9.9 is not in the repository" in lines[-1]
    assert {c.id for c in client.containers.list(all=True)} <= before

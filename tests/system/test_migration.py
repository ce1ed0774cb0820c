"""A migration rehearsal end to end, two real platforms at once: kafka-3az to kafka-3az-tiered.

MirrorMaker 2 (built from Maven Central's jars of the platform's Kafka release) mirrors the
workload's topic under recorded load while the target's broker of zone b is paused; a
consumer group moves to the target from its translated offsets. Every acknowledged record
is on the target exactly once and in order, the group skips nothing, the figures are in the
results and recomputed by `kfchaos analyze` from the history alone, and nothing of either
platform (nor MirrorMaker) is left behind.
"""
from __future__ import annotations

import json

import docker
import pytest

from kfchaos.history import iter_load
from tests.system.test_certification import chaos, only_run

pytestmark = [pytest.mark.platform, pytest.mark.scenario]
FIGURES = ("replication_lag_max_records", "replication_catch_up_s", "mirror_duplicates", "cutover_s",
           "cutover_redelivered", "cutover_skipped")


def test_rehearsal_from_kafka_3az_to_tiered_holds_and_leaves_nothing(tmp_path):
    reports = tmp_path / "reports"
    proc = chaos("migrate", "--from", "kafka-3az", "--to", "kafka-3az-tiered", "--fault", "pause:target",
                 "--seed", "4", "--reports", str(reports), timeout=900)
    run = only_run(reports)
    results = json.loads((run / "results.json").read_text())
    (sc,) = results["scenarios"]
    verdicts = {c["contract"]: (c["verdict"], c["reason"]) for c in sc["contracts"]}
    assert proc.returncode == 0 and sc["status"] == "held", verdicts
    assert set(verdicts) == {"mirroring", "group-cutover", "durability", "ordering", "offset-continuity"}
    f = sc["figures"]
    assert all(f.get(k) is not None for k in FIGURES), {k: f.get(k) for k in FIGURES}
    assert f["mirror_duplicates"] == 0 and f["cutover_skipped"] == 0 and f["cutover_s"] > 0
    ops = list(iter_load(run / "migration" / "history.jsonl"))
    (started,) = [o for o in ops if o["f"] == "fault-start" and o["type"] == "ok"]
    assert started["value"]["target"] == ["b"] and started["value"]["proof"]
    (move,) = [o["value"] for o in ops if o["f"] == "cutover"]
    assert move["translated"] and set(move["translated"]) == set(move["source_committed"])
    assert results["platform"]["target"]["profile"] == "kafka-3az-tiered"
    again = chaos("analyze", str(run), "--json")
    (re_sc,) = json.loads(again.stdout)["scenarios"]
    assert again.returncode == 0 and {k: re_sc["figures"].get(k) for k in FIGURES} == {k: f[k] for k in FIGURES}
    ids = [results["run_id"], results["platform"]["target"]["run_id"]]
    client = docker.from_env()
    left = [c.name for c in client.containers.list(all=True) if any(i in c.name for i in ids)]
    left += [n.name for n in client.networks.list() if any(i in n.name for i in ids)]
    assert not left, left

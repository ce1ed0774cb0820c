"""A migration rehearsal end to end, two real platforms at once: kafka-3az to kafka-3az-tiered.

MirrorMaker 2 (built from Maven Central's jars of the platform's Kafka release) mirrors the
workload's topic under recorded load while the target's broker of zone b is paused; a
consumer group moves to the target from its translated offsets, and the Flink reference job
moves from A's Flink to B's through a savepoint (stopped on A, its savepoint copied between
the object stores, restored on B reading the mirrored topic from the positions matching
what it had read on A). Every acknowledged record is on the target in order, the group
skips nothing, and the job's committed output on A and on B together holds every input
exactly once with its per-key counts running on; the duplicates MirrorMaker's
at-least-once delivery leaves (196 in one run here) are reported, counted as the raw final
read shows them, and decide the mirroring contract; the figures are recomputed by
`kfchaos analyze` from the history alone, and nothing of either platform (nor MirrorMaker)
is left behind.
"""
from __future__ import annotations

import json
from collections import Counter

import docker
import pytest

from kfchaos.history import iter_load
from kfchaos.history_pages import assemble
from tests.system.test_certification import chaos, only_run

pytestmark = [pytest.mark.platform, pytest.mark.scenario]
FIGURES = ("replication_lag_max_records", "replication_catch_up_s", "mirror_duplicates", "cutover_s",
           "cutover_redelivered", "cutover_skipped", "job_move_downtime_s", "job_move_savepoint_bytes")


def duplicates_in(read: dict) -> int:
    """Extra copies of harness ids in one final read, counted here from the raw records."""
    ids = Counter(r["value"]["id"] for r in read["records"] if isinstance(r.get("value"), dict))
    return sum(n - 1 for n in ids.values())


def _job_moved(ops: list[dict], verdict: dict, f: dict) -> None:
    """The job stopped on A with a savepoint, restored on B from its copy with a new source uid,
    and its output on both sides, recounted here from the raw final reads, holds every input once."""
    (moved,) = [o for o in ops if o["f"] == "job-move"]
    assert moved["type"] == "ok", moved
    m = moved["value"]
    (stop,) = [o for o in ops if o["f"] == "stop" and o["type"] == "ok"]
    (restore,) = [o for o in ops if o["f"] == "restore" and o["type"] == "ok"]
    assert restore["value"]["savepoint"] == stop["value"]["savepoint"] == m["savepoint"]
    assert restore["value"]["allow_non_restored_state"] is True
    assert m["target_input_topic"] == "source." + m["input_topic"]
    reads = {o["value"]["topic"]: o["value"] for o in ops if o["f"] == "final-read"}
    inputs = {r["value"]["id"] for r in reads[m["input_topic"]]["records"] if isinstance(r.get("value"), dict)}
    outputs = Counter(r["value"]["id"] for t in m["output_topics"] for r in reads[t]["records"])
    assert all(reads[t]["isolation"] == "read_committed" for t in m["output_topics"])
    before, after = (len(reads[t]["records"]) for t in m["output_topics"])
    assert before > 0 and after > 0, (before, after)       # the job wrote on both sides
    assert verdict["verdict"] == ("held" if set(outputs) == inputs and max(outputs.values()) == 1 else "violated"), (
        verdict, len(inputs), len(outputs), inputs - set(outputs))
    assert verdict["verdict"] == "held", verdict
    assert f["job_move_downtime_s"] > 0 and f["job_move_savepoint_bytes"] > 0


def test_rehearsal_from_kafka_3az_to_tiered_decides_every_contract_and_leaves_nothing(tmp_path):
    reports = tmp_path / "reports"
    proc = chaos("migrate", "--from", "kafka-3az", "--to", "kafka-3az-tiered", "--fault", "pause:target",
                 "--seed", "4", "--reports", str(reports), timeout=900)
    run = only_run(reports)
    results = json.loads((run / "results.json").read_text())
    (sc,) = results["scenarios"]
    verdicts = {c["contract"]: c for c in sc["contracts"]}
    assert set(verdicts) == {"mirroring", "group-cutover", "job-move", "durability", "ordering", "offset-continuity"}
    for name in ("group-cutover", "durability", "offset-continuity"):
        assert verdicts[name]["verdict"] == "held", verdicts[name]
    # MirrorMaker 2 delivers at least once: duplicates on the target are a finding the run
    # must report, never hide; nothing may be missing, moved or reordered
    mirroring = verdicts["mirroring"]
    assert set(mirroring["anomalies"]) <= {"mirror-duplicate", "mirror-unacked"}, mirroring["anomalies"]
    f = sc["figures"]
    assert all(f.get(k) is not None for k in FIGURES), {k: f.get(k) for k in FIGURES}
    ops = list(assemble(iter_load(run / "migration" / "history.jsonl")))
    (move,) = [o["value"] for o in ops if o["f"] == "cutover"]
    (target_read,) = [o["value"] for o in ops if o["f"] == "final-read" and o["value"]["topic"] == move["target_topic"]]
    assert f["mirror_duplicates"] == duplicates_in(target_read)
    assert mirroring["verdict"] == ("held" if f["mirror_duplicates"] == 0 else "violated")
    assert proc.returncode == (0 if sc["status"] == "held" else 1), (proc.returncode, sc["status"])
    assert f["cutover_skipped"] == 0 and f["cutover_s"] > 0
    (started,) = [o for o in ops if o["f"] == "fault-start" and o["type"] == "ok"]
    assert started["value"]["target"] == ["b"] and started["value"]["proof"]
    assert move["translated"] and set(move["translated"]) == set(move["source_committed"])
    assert results["platform"]["target"]["profile"] == "kafka-3az-tiered"
    _job_moved(ops, verdicts["job-move"], f)
    again = chaos("analyze", str(run), "--json")
    (re_sc,) = json.loads(again.stdout)["scenarios"]
    assert again.returncode == proc.returncode
    assert {k: re_sc["figures"].get(k) for k in FIGURES} == {k: f[k] for k in FIGURES}
    ids = [results["run_id"], results["platform"]["target"]["run_id"]]
    client = docker.from_env()
    left = [c.name for c in client.containers.list(all=True) if any(i in c.name for i in ids)]
    left += [n.name for n in client.networks.list() if any(i in n.name for i in ids)]
    assert not left, left

"""The migration checkers on hand-made histories: mirror (source's acked writes on the target
exactly once, in order; lag figures) and cutover (a group moved to the target: skips,
redelivery, cut-over time). Every injected anomaly is found, and none is invented."""
from kfchaos.checkers import check_all, cutover, mirror
from kfchaos.checkers.synth import Builder

SRC, DST = "t", "source.t"
OPTS = {"mirror_topics": {SRC: DST}}


def written(n: int = 6) -> Builder:
    """Ids r0..r{n-1} acked on the source: partition i % 2, offsets 0, 1, 2 ... per partition."""
    b = Builder()
    for i in range(n):
        b.send(f"r{i}", p=i % 2, o=i // 2, seq=i)
    return b


def source_read(b: Builder, n: int = 6) -> Builder:
    return b.final([(i % 2, i // 2, f"r{i}") for i in range(n)], topic=SRC)


def mirror_read(b: Builder, recs: list[tuple]) -> Builder:
    return b.final(recs, topic=DST, isolation="read_uncommitted")


def exact(n: int = 6) -> list[tuple]:
    return [(i % 2, i // 2, f"r{i}") for i in range(n)]


def test_an_exact_mirror_is_valid():
    v = mirror.check(mirror_read(written(), exact()).ops, **OPTS)
    assert v.valid == "valid" and v.counts() == {}
    assert v.stats["acked"] == 6 and v.stats["mirrored"] == 6 and v.stats["duplicates"] == 0


def test_missing_duplicate_partition_and_reorder_are_each_found():
    recs = [(0, 0, "r0"), (0, 1, "r4"), (0, 2, "r2"),      # r4 before r2: reordered
            (1, 0, "r1"), (1, 1, "r3"), (1, 2, "r3"),      # r3 twice: duplicate
            (1, 3, "r6")]                                   # r6 acked in partition 0; r5 missing
    b = written(7)
    v = mirror.check(mirror_read(b, recs).ops, **OPTS)
    assert v.valid == "invalid"
    assert v.counts() == {"mirror-missing": 1, "mirror-duplicate": 1, "mirror-partition": 1, "mirror-reorder": 1}
    assert v.anomalies["mirror-missing"].examples[0]["id"] == "r5"
    assert v.anomalies["mirror-duplicate"].examples[0] == {"id": "r3", "topic": DST, "partition": 1, "offset": 2,
                                                           "first_at": {"partition": 1, "offset": 1}}
    assert v.anomalies["mirror-reorder"].examples[0]["id"] == "r2"
    assert v.stats["duplicates"] == 1


def test_a_record_of_unknown_outcome_on_the_target_is_informational():
    b = written()
    b.send("u0", p=0, o=None, type_="info")
    v = mirror.check(mirror_read(b, exact() + [(0, 3, "u0")]).ops, **OPTS)
    assert v.valid == "valid" and v.counts() == {"mirror-unacked": 1}


def test_without_the_targets_final_read_the_verdict_is_unknown():
    v = mirror.check(written().ops, **OPTS)
    assert v.valid == "unknown" and "no final read of source.t" in v.reason
    assert mirror.check(written().ops).valid == "unknown"      # no pair named


def test_lag_figures_from_the_samples():
    b = written()
    b.op("harness", "ok", "mirror-lag", {"source_end": {"0": 3, "1": 3}, "target_end": {"0": 1, "1": 2}})
    b.sleep(2000)
    b.op("harness", "ok", "mirror-lag", {"source_end": {"0": 3, "1": 3}, "target_end": {"0": 3, "1": 3}})
    v = mirror.check(mirror_read(b, exact()).ops, **OPTS)
    assert v.stats["lag_max_records"] == 3 and v.stats["lag_samples"] == 2
    assert 2.0 < v.stats["catch_up_s"] < 2.1


def moved(polled_on_target: list[tuple], committed: dict, translated: dict | None = None) -> Builder:
    """A group read r0..r3 on the source, committed ``committed``, then read ``polled`` on the target."""
    b = source_read(written())
    b.assign([0, 1], process="source-consumer", topic=SRC)
    b.poll([(0, 0, "r0"), (1, 0, "r1"), (0, 1, "r2"), (1, 1, "r3")], process="source-consumer", topic=SRC)
    b.commit(committed, process="source-consumer", topic=SRC)
    stopped = b.now
    b.sleep(3000)
    b.assign([0, 1], process="target-consumer", topic=DST, positions=translated)
    b.poll(polled_on_target, process="target-consumer", topic=DST)
    mirror_read(b, exact())
    b.op("harness", "ok", "cutover", {
        "group": "g", "source_topic": SRC, "target_topic": DST, "process": "target-consumer",
        "stopped_at": stopped, "source_committed": {str(p): o for p, o in committed.items()},
        "translated": {str(p): o for p, o in (translated or {}).items()}})
    return b


def test_a_group_that_resumes_where_it_stopped_is_valid_and_timed():
    b = moved([(0, 2, "r4"), (1, 2, "r5")], {0: 2, 1: 2}, {0: 2, 1: 2})
    v = cutover.check(b.ops, max_redelivery=0)
    assert v.valid == "valid" and v.counts() == {}
    assert v.stats["redelivered"] == 0 and v.stats["skipped"] == 0
    assert 3.0 <= v.stats["cutover_s"] < 3.1


def test_redelivery_is_counted_and_bounded_by_the_budget():
    b = moved([(0, 1, "r2"), (0, 2, "r4"), (1, 2, "r5")], {0: 2, 1: 2}, {0: 1, 1: 2})
    assert cutover.check(b.ops).stats["redelivered_by_partition"] == {"0": 1}
    assert cutover.check(b.ops, max_redelivery=1).valid == "valid"
    v = cutover.check(b.ops, max_redelivery=0)
    assert v.counts() == {"excess-redelivery": 1}


def test_a_record_the_group_never_read_on_the_target_is_skipped():
    b = moved([(1, 2, "r5")], {0: 2, 1: 2}, {0: 3, 1: 2})
    v = cutover.check(b.ops)
    assert v.valid == "invalid" and v.counts() == {"cutover-skipped": 1}
    ex = v.anomalies["cutover-skipped"].examples[0]
    assert ex["id"] == "r4" and ex["committed_on_source"] == 2 and ex["translated"] == 3


def test_a_partition_without_a_translated_offset_is_informational():
    b = moved([(0, 2, "r4"), (1, 2, "r5")], {0: 2, 1: 2}, {0: 2})
    v = cutover.check(b.ops)
    assert v.valid == "valid" and v.counts() == {"no-translated-offset": 1}


def test_no_cutover_op_is_unknown():
    assert cutover.check(mirror_read(written(), exact()).ops).valid == "unknown"


def test_the_other_checkers_stay_valid_on_a_clean_migration_history():
    b = moved([(0, 2, "r4"), (1, 2, "r5")], {0: 2, 1: 2}, {0: 2, 1: 2})
    verdicts = check_all(b.ops, checkers=["lost", "duplicate", "ordering", "offsets", "group", "mirror", "cutover"],
                         **OPTS)
    assert {k: v.valid for k, v in verdicts.items()} == dict.fromkeys(verdicts, "valid")

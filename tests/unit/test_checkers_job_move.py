"""The job-move checker on hand-made histories: a Flink job stopped on the source with a
savepoint and restored on the target; the output of both sides together holds every input
exactly once and the per-key counts run on. Every injected anomaly is found, none invented,
and a write or a move of unknown outcome is never counted as a failure."""
from kfchaos.checkers import job_move
from kfchaos.checkers.synth import Builder

IN, OUT_A, OUT_B = "in", "out", "moved.out"


def move(b: Builder, type_: str = "ok", first_after_ms: float | None = 4000) -> Builder:
    b.op("harness", type_, "job-move", {
        "input_topic": IN, "target_input_topic": f"source.{IN}", "output_topics": [OUT_A, OUT_B],
        "stopped_at": 1_000_000_000, "savepoint_bytes": 2048,
        "first_output_at": None if first_after_ms is None else 1_000_000_000 + int(first_after_ms * 1e6),
        "source_positions": {"0": 2}, "target_positions": {"0": 2}})
    return b


def out(i: int, rid: str, count: int, key: str = "k") -> tuple:
    return (0, i, {"id": rid, "key": key, "count": count}, None)


def history(before: list, after: list, n: int = 4, type_: str = "ok", extra_sends=()) -> Builder:
    """r0..r{n-1} acked on the input; ``before`` in A's output, ``after`` in B's."""
    b = Builder()
    for i in range(n):
        b.send(f"r{i}", p=0, o=i, topic=IN)
    for rid, t in extra_sends:
        b.send(rid, p=0, o=None, topic=IN, type_="info")
    landed = [(0, i, f"r{i}") for i in range(n)] + [(0, n + j, rid) for j, (rid, t) in enumerate(extra_sends)
                                                     if t == "landed"]
    b.final(landed, topic=IN)
    move(b, type_)
    b.final([out(i, rid, c) for i, (rid, c) in enumerate(before)], topic=OUT_A)
    b.final([out(i, rid, c) for i, (rid, c) in enumerate(after)], topic=OUT_B)
    return b


def test_every_input_once_across_the_move_is_valid_with_its_figures():
    v = job_move.check(history([("r0", 1), ("r1", 2)], [("r2", 3), ("r3", 4)]).ops)
    assert v.valid == "valid" and v.counts() == {}, v.counts()
    assert v.stats["required"] == 4 and v.stats["output_before"] == 2 and v.stats["output_after"] == 2
    assert v.stats["downtime_s"] == 4.0 and v.stats["savepoint_bytes"] == 2048


def test_an_input_lost_in_the_move_is_missing_and_the_count_gap_shows_it():
    v = job_move.check(history([("r0", 1), ("r1", 2)], [("r3", 4)]).ops)
    assert v.valid == "invalid"
    assert v.counts() == {"move-missing": 1, "move-count-gap": 1}
    assert v.anomalies["move-missing"].examples[0]["id"] == "r2"


def test_an_input_processed_on_both_sides_is_a_duplicate_across_the_move():
    v = job_move.check(history([("r0", 1), ("r1", 2)], [("r1", 2), ("r2", 3), ("r3", 4)]).ops)
    assert v.valid == "invalid"
    assert v.counts() == {"move-duplicate": 1, "move-count-repeat": 1}
    ex = v.anomalies["move-duplicate"].examples[0]
    assert ex["id"] == "r1" and ex["where"] == "both sides" and ex["first_at"] == [OUT_A, 0, 1]
    assert v.stats["duplicates"] == 1


def test_a_duplicate_within_the_targets_output_is_found():
    v = job_move.check(history([("r0", 1), ("r1", 2)], [("r2", 3), ("r2", 3), ("r3", 4)]).ops)
    assert v.counts()["move-duplicate"] == 1
    assert v.anomalies["move-duplicate"].examples[0]["where"] == OUT_B


def test_a_state_not_carried_over_restarts_the_counts():
    v = job_move.check(history([("r0", 1), ("r1", 2)], [("r2", 1), ("r3", 2)]).ops)
    assert v.valid == "invalid" and set(v.counts()) == {"move-count-repeat"}


def test_an_output_no_one_wrote_is_unexpected():
    v = job_move.check(history([("r0", 1), ("r1", 2)], [("r2", 3), ("r3", 4), ("x9", 5)]).ops)
    assert v.counts() == {"move-unexpected": 1}


def test_writes_of_unknown_outcome_are_never_counted_as_failures():
    # u0 (unknown, never landed) is not required; u1 (unknown, landed) is, and is in the output
    b = history([("r0", 1), ("r1", 2)], [("r2", 3), ("r3", 4), ("u1", 5)],
                extra_sends=[("u0", "info"), ("u1", "landed")])
    v = job_move.check(b.ops)
    assert v.valid == "valid" and v.counts() == {}, v.counts()
    assert v.stats["required"] == 5


def test_a_move_of_unknown_outcome_is_decided_from_the_data():
    v = job_move.check(history([("r0", 1), ("r1", 2)], [("r2", 3), ("r3", 4)], type_="info").ops)
    assert v.valid == "valid" and v.stats["moved"] == "info"
    v = job_move.check(history([("r0", 1), ("r1", 2)], [], type_="info").ops)
    assert v.valid == "invalid" and v.counts()["move-missing"] == 2


def test_without_the_move_or_a_final_read_the_verdict_is_unknown():
    b = Builder()
    b.send("r0", p=0, o=0, topic=IN)
    assert job_move.check(b.ops).valid == "unknown"
    move(b)
    b.final([(0, 0, "r0")], topic=IN)
    b.final([out(0, "r0", 1)], topic=OUT_A)
    v = job_move.check(b.ops)
    assert v.valid == "unknown" and "no final read of moved.out" in v.reason

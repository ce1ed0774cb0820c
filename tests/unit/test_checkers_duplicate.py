"""Duplicate and inconsistent-offset checker."""
from kfchaos.checkers import duplicate
from kfchaos.checkers.synth import Builder


def test_consistent_observations_are_valid():
    b = Builder()
    b.send("a", o=0).send("b", o=1)
    b.poll([(0, 0, "a"), (0, 1, "b")]).poll([(0, 1, "b")], process="consumer-1")
    b.final([(0, 0, "a"), (0, 1, "b")])
    v = duplicate.check(b.ops)
    assert v.valid == "valid" and v.stats["positions"] == 2


def test_duplicate_in_final_read():
    b = Builder()
    b.send("a", o=0).send("b", o=1)
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 2, "a")])
    v = duplicate.check(b.ops)
    assert v.counts() == {"duplicate": 1}
    ex = v.anomalies["duplicate"].examples[0]
    assert ex["id"] == "a" and ex["positions"] == [[0, 0], [0, 2]] and ex["in_final_read"]


def test_duplicate_across_poll_and_final_read():
    b = Builder()
    b.poll([(0, 0, "a"), (1, 4, "a")])
    b.final([(0, 0, "a")], end={0: 1, 1: 5})
    v = duplicate.check(b.ops)
    assert v.counts()["duplicate"] == 1
    assert not v.anomalies["duplicate"].examples[0]["in_final_read"]


def test_inconsistent_offset_between_reads_and_acks():
    b = Builder()
    b.send("a", o=0).send("b", o=1)
    b.poll([(0, 0, "a"), (0, 1, "x")])
    b.final([(0, 0, "a"), (0, 1, "b")])
    v = duplicate.check(b.ops)
    assert v.counts() == {"inconsistent-offset": 1}
    ex = v.anomalies["inconsistent-offset"].examples[0]
    assert (ex["partition"], ex["offset"]) == (0, 1) and sorted(ex["ids"]) == ["b", "x"]
    # an ack pointing at an offset that holds another record
    b2 = Builder()
    b2.send("a", o=0).send("b", o=0)
    b2.final([(0, 0, "a")])
    v2 = duplicate.check(b2.ops)
    assert v2.counts() == {"inconsistent-offset": 1}
    assert "ack" in v2.anomalies["inconsistent-offset"].examples[0]["sources"]


def test_two_polls_disagree_without_final_read():
    b = Builder()
    b.poll([(0, 5, "a")]).poll([(0, 5, "b")], process="consumer-1")
    v = duplicate.check(b.ops)
    assert v.counts() == {"inconsistent-offset": 1} and v.valid == "invalid"


def test_non_harness_values_only_conflict_by_offset():
    b = Builder()
    b.final([(0, 0, "hello", "raw"), (0, 1, "hello", "raw"), (0, 2, None)])
    assert duplicate.check(b.ops).valid == "valid"

"""Ordering checker: producer seq order and consumer offset order."""
from kfchaos.checkers import ordering
from kfchaos.checkers.synth import Builder


def test_in_order_acks_and_polls_are_valid():
    b = Builder()
    b.send("a", seq=0, o=0).send("b", seq=1, o=1).send("c", key="j", seq=0, o=2)
    b.assign([0]).poll([(0, 0, "a"), (0, 1, "b")]).poll([(0, 2, "c")])
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")])
    v = ordering.check(b.ops)
    assert v.valid == "valid" and v.stats["acked-writes-checked"] == 3


def test_reordered_acks():
    b = Builder()
    b.send("a", seq=0, o=5).send("b", seq=1, o=4)
    v = ordering.check(b.ops)
    assert v.counts() == {"reordered": 1}
    ex = v.anomalies["reordered"].examples[0]
    assert ex["seqs"] == [0, 1] and ex["offsets"] == [5, 4] and ex["ids"] == ["a", "b"]


def test_reordered_found_when_acks_arrive_out_of_seq_order():
    b = Builder()
    for rid, seq in (("a", 0), ("b", 1), ("c", 2)):
        b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": rid, "seq": seq})
    for rid, seq, o in (("c", 2, 10), ("a", 0, 11), ("b", 1, 12)):
        b.op("producer-0", "ok", "send",
             {"topic": "t", "key": "k", "id": rid, "seq": seq, "partition": 0, "offset": o})
    v = ordering.check(b.ops)
    assert v.counts() == {"reordered": 1}
    assert v.anomalies["reordered"].examples[0]["seqs"] == [1, 2]


def test_other_producer_or_partition_not_compared():
    b = Builder()
    b.send("a", seq=0, o=5).send("b", seq=1, o=4, process="producer-1")
    b.send("c", seq=1, p=1, o=0)
    assert ordering.check(b.ops).valid == "valid"


def test_nonmonotonic_and_skip_within_assignment():
    b = Builder()
    b.assign([0]).poll([(0, 0, "a"), (0, 1, "b")]).poll([(0, 1, "b")])
    b.poll([(0, 5, "f")])
    b.final([(0, i, x) for i, x in enumerate("abcdef")])
    v = ordering.check(b.ops)
    assert v.counts() == {"nonmonotonic": 1, "skip": 1}
    ex = v.anomalies["skip"].examples[0]
    assert ex["missing"] == [2, 4] and ex["process"] == "consumer-0"


def test_rebalance_resets_tracking():
    b = Builder()
    b.assign([0]).poll([(0, 3, "d")]).revoke([0]).assign([0]).poll([(0, 0, "a")])
    b.final([(0, i, x) for i, x in enumerate("abcd")])
    assert ordering.check(b.ops).valid == "valid"


def test_gap_of_txn_markers_is_explained():
    # offsets 2 and 3 are a commit marker and an aborted record: absent from
    # the read_committed final read, so the consumer's jump 1 -> 4 is fine
    b = Builder()
    b.txn("t0", [("a", "k", 0, 0, 0), ("b", "k", 1, 0, 1)])
    b.txn("t1", [("x", "k", 2, 0, 3)], type_="fail")
    b.txn("t2", [("c", "k", 3, 0, 5)])
    b.assign([0]).poll([(0, 0, "a"), (0, 1, "b"), (0, 5, "c")])
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 5, "c")], end={0: 7})
    v = ordering.check(b.ops)
    assert v.valid == "valid" and v.stats["explained-gaps"] == 1


def test_aborted_records_in_read_uncommitted_final_read_explain_gap():
    b = Builder()
    b.txn("t0", [("a", "k", 0, 0, 0)])
    b.txn("t1", [("x", "k", 1, 0, 2)], type_="fail")
    b.txn("t2", [("c", "k", 2, 0, 4)])
    b.assign([0]).poll([(0, 0, "a"), (0, 4, "c")])
    b.final([(0, 0, "a"), (0, 2, "x"), (0, 4, "c")], isolation="read_uncommitted", end={0: 6})
    assert ordering.check(b.ops).valid == "valid"


def test_unexplainable_gap_without_final_read():
    b = Builder()
    b.send("a", o=0).send("b", seq=1, o=1).send("c", seq=2, o=2)
    b.assign([0]).poll([(0, 0, "a"), (0, 2, "c")])
    assert ordering.check(b.ops).counts() == {"skip": 1}
    # an external/transactional topic without final read: counted, not flagged
    b2 = Builder()
    b2.assign([0], topic="out").poll([(0, 0, "a"), (0, 2, "c")], topic="out")
    v = ordering.check(b2.ops)
    assert v.valid == "valid" and v.stats["unverified-gaps"] == 1

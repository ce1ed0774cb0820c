"""Offset continuity of final reads."""
from kfchaos.checkers import offsets
from kfchaos.checkers.synth import Builder


def test_contiguous_plain_topic_is_valid():
    b = Builder()
    b.send("a", o=0).send("b", o=1)
    b.final([(0, 0, "a"), (0, 1, "b")], end={0: 2, 1: 0})
    v = offsets.check(b.ops)
    assert v.valid == "valid" and v.stats["partitions"] == 2


def test_gap_in_plain_topic_is_anomaly():
    b = Builder()
    b.send("a", o=0).send("c", o=3)
    b.final([(0, 0, "a"), (0, 3, "c")], end={0: 5})
    v = offsets.check(b.ops)
    assert v.counts() == {"offset-gap": 2}
    gaps = [e["missing"] for e in v.anomalies["offset-gap"].examples]
    assert gaps == [[1, 2], [4, 4]] and v.stats["missing-offsets"] == 3


def test_gap_at_head_after_start_offset():
    b = Builder()
    b.send("c", o=3)
    b.final([(0, 3, "c")], start={0: 1}, end={0: 4})
    assert offsets.check(b.ops).anomalies["offset-gap"].examples[0]["missing"] == [1, 2]


def test_transactional_topic_gaps_allowed_and_counted():
    b = Builder()
    b.txn("t0", [("a", "k", 0, 0, 0)])
    b.txn("t1", [("b", "k", 1, 0, 2)])
    b.final([(0, 0, "a"), (0, 2, "b")], end={0: 4})
    v = offsets.check(b.ops)
    assert v.valid == "valid"
    assert v.stats["transactional-gaps"] == 2 and v.stats["transactional-missing"] == 2


def test_external_topic_is_transactional_unless_declared():
    b = Builder()
    b.final([(0, 0, "a"), (0, 2, "b")], topic="out", end={0: 3})
    assert offsets.check(b.ops).valid == "valid"
    assert offsets.check(b.ops, transactional_topics=[]).counts() == {"offset-gap": 1}
    b2 = Builder()
    b2.send("a", o=0).send("b", o=2)
    b2.final([(0, 0, "a"), (0, 2, "b")], end={0: 3})
    assert offsets.check(b2.ops, transactional_topics=["t"]).valid == "valid"


def test_no_final_read_is_unknown():
    b = Builder()
    b.send("a", o=0)
    assert offsets.check(b.ops).valid == "unknown"


def test_an_offset_seen_with_two_records_is_reused():
    """A log rewritten below offsets already handed out: a consumer polled a at offset 0,
    the final read has z there."""
    b = Builder().send("a", o=0).send("b", o=1)
    b.poll([(0, 0, "a"), (0, 1, "b")])
    b.final([(0, 0, "z"), (0, 1, "b")])
    v = offsets.check(b.ops)
    assert v.valid == "invalid" and v.counts() == {"offset-reused": 1}
    ex = v.anomalies["offset-reused"].examples[0]
    assert (ex["partition"], ex["offset"], ex["first"], ex["then"]) == (0, 0, "a", "z")
    b2 = Builder().send("a", o=0).poll([(0, 0, "a")]).poll([(0, 0, "q")], process="consumer-1")
    b2.final([(0, 0, "a")])
    assert offsets.check(b2.ops).counts() == {"offset-reused": 1}
    ok = Builder().send("a", o=0).poll([(0, 0, "a")]).final([(0, 0, "a")])
    assert offsets.check(ok.ops).valid == "valid"


def _understated(platform: dict | None = None, acked_after: bool = False) -> Builder:
    """Five acked writes on partition 0; the platform listed end 3, Fetch served 3 and 4."""
    b = Builder()
    if platform is not None:
        b.op("harness", "ok", "scenario", {"name": "smoke", "platform": platform})
    for i, rid in enumerate("abc"):
        b.send(rid, seq=i, o=i)
    before_d = b.now
    b.send("d", seq=3, o=3).send("e", seq=4, o=4)
    listed_at = before_d if acked_after else None      # None: listed after every ack
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")], end={0: 3},
            past_end=[(0, 3, "d"), (0, 4, "e")], listed_at=listed_at)
    return b


def test_an_end_offset_listed_below_acked_writes_that_fetch_serves_is_an_anomaly():
    v = offsets.check(_understated().ops)
    assert v.counts() == {"end-offset-understated": 2}
    ex = v.anomalies["end-offset-understated"].examples[0]
    assert (ex["id"], ex["offset"], ex["listed_end"], ex["fetch_end"]) == ("d", 3, 3, 5)
    assert "likely_cause" not in ex


def test_records_served_past_the_listed_end_count_as_read_for_durability_and_group():
    from kfchaos.checkers import group, lost
    b = _understated()
    b.commit({0: 5})
    assert lost.check(b.ops).valid == "valid"
    assert "commit-beyond-log-end" not in group.check(b.ops).counts()


def test_records_written_after_the_listing_are_not_an_anomaly():
    v = offsets.check(_understated(acked_after=True).ops)
    assert v.valid == "valid" and v.stats["past-end-later"] == 2


def test_a_known_upstream_cause_is_named_without_changing_the_verdict():
    tansu = offsets.check(_understated({"kind": "tansu", "versions": {"tansu": "0.6.0"}}).ops)
    assert tansu.valid == "invalid"
    assert "Tansu 0.6" in tansu.anomalies["end-offset-understated"].examples[0]["likely_cause"]
    newer = offsets.check(_understated({"kind": "tansu", "versions": {"tansu": "0.7.0"}}).ops)
    assert "likely_cause" not in newer.anomalies["end-offset-understated"].examples[0]

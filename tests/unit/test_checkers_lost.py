"""Lost checker: lost vs unseen vs recovered unknowns vs aborted reads."""
from kfchaos.checkers import check_all, lost
from kfchaos.checkers.synth import Builder


def base():
    b = Builder()
    b.send("a", o=0).send("b", o=1).send("c", o=2)
    return b


def test_all_acked_present_is_valid():
    b = base().final([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")])
    v = lost.check(b.ops)
    assert v.valid == "valid" and v.stats["acked"] == 3 and v.stats["lost"] == 0


def test_missing_acked_write_is_lost_with_fault_window():
    b = Builder()
    b.fault("f1", "kill-leader")
    b.send("a", o=0).send("b", o=1)
    b.fault("f1", "kill-leader", stop=True)
    b.send("c", o=2)
    b.final([(0, 0, "a"), (0, 2, "c")], end={0: 3})
    v = lost.check(b.ops)
    assert v.valid == "invalid"
    (ex,) = v.anomalies["lost"].examples
    assert ex["id"] == "b" and ex["partition"] == 0 and ex["offset"] == 1
    assert ex["fault_windows"] == [{"fault": "kill-leader", "fault_id": "f1"}]


def test_write_acked_before_a_fault_and_lost_names_that_fault():
    """acks=1: a record acked just before the leader is cut off is truncated later."""
    b = Builder()
    b.send("a", o=0).send("b", o=1)
    b.fault("f1", "partition")
    b.fault("f1", "partition", stop=True)
    b.send("c", o=2)
    b.final([(0, 0, "a"), (0, 2, "c")], end={0: 3})
    (ex,) = lost.check(b.ops).anomalies["lost"].examples
    assert ex["id"] == "b" and ex["fault_windows"] == [{"fault": "partition", "fault_id": "f1"}]


def test_lost_write_does_not_name_a_fault_after_the_final_read():
    b = Builder()
    b.send("a", o=0).send("b", o=1)
    b.final([(0, 0, "a")], end={0: 2})
    b.fault("f1", "partition")
    b.fault("f1", "partition", stop=True)
    (ex,) = lost.check(b.ops).anomalies["lost"].examples
    assert ex["fault_windows"] == []
    assert ex["time"] > ex["invoke_time"] and ex["wall"] > 1.7e9
    assert "absent" in ex["note"]


def test_info_and_fail_sends_later_read_are_fine():
    b = Builder()
    b.send("a", o=0).send("b", type_="info").send("c", type_="fail").send("d", type_=None)
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")])
    v = lost.check(b.ops)
    assert v.valid == "valid"
    assert v.stats["recovered-unknown"] == 2 and v.stats["unacked"] == 3


def test_no_final_read_is_unknown():
    v = lost.check(base().ops)
    assert v.valid == "unknown" and "final read" in v.reason


def test_unseen_is_informational_not_loss():
    b = base()
    b.assign([0]).poll([(0, 0, "a"), (0, 1, "b")])
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")])
    v = lost.check(b.ops)
    assert v.valid == "valid"
    assert v.anomalies["unseen"].count == 1
    assert v.anomalies["unseen"].examples[0]["id"] == "c"


def test_lost_and_unseen_are_distinct():
    b = base()
    b.assign([0]).poll([(0, 0, "a")])
    b.final([(0, 0, "a"), (0, 2, "c")], end={0: 3})
    v = lost.check(b.ops)
    assert v.counts() == {"lost": 1, "unseen": 1}
    assert v.anomalies["lost"].examples[0]["id"] == "b"
    assert v.anomalies["unseen"].examples[0]["id"] == "c"


def test_txn_commit_required_and_abort_must_be_invisible():
    b = Builder()
    b.txn("t0", [("x1", "k", 0, 0, 0), ("x2", "k", 1, 0, 1)])
    b.txn("t1", [("y1", "k", 2, 0, 3)], type_="fail")
    b.txn("t2", [("z1", "k", 3, 0, 5)], type_="info")
    b.final([(0, 0, "x1"), (0, 1, "x2"), (0, 7, "z1")], end={0: 8})
    v = lost.check(b.ops)
    assert v.valid == "valid" and v.stats["recovered-unknown"] == 1
    b.final([(0, 0, "x1"), (0, 3, "y1")], end={0: 8})
    v = lost.check(b.ops)
    assert v.counts() == {"lost": 1, "aborted-read": 1}


def test_check_all_runs_on_plain_lists_and_topics_option():
    b = base().final([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")])
    b.send("q", topic="other", o=0)
    assert lost.check(b.ops).valid == "unknown"
    assert lost.check(b.ops, topics=["t"]).valid == "valid"
    assert set(check_all(b.ops)) == {"lost", "duplicate", "ordering", "offsets", "group",
                                     "windows", "recovery"}

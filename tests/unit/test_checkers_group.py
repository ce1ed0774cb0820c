"""Consumer-group continuity across rebalances."""
from kfchaos.checkers import group
from kfchaos.checkers.synth import Builder

FINAL = [(0, i, f"r{i}") for i in range(10)]


def failover(first: int, committed: int, b: Builder | None = None, **kw) -> Builder:
    b = b or Builder()
    b.assign([0], process="consumer-0").poll([(0, i, f"r{i}") for i in range(6)],
                                             process="consumer-0")
    b.commit({0: committed}, process="consumer-0")
    b.revoke([0], process="consumer-0")
    b.assign([0], process="consumer-1", **kw)
    b.poll([(0, i, f"r{i}") for i in range(first, 10)], process="consumer-1")
    return b.final(FINAL)


def test_resume_at_committed_offset_with_redelivery_counted():
    v = group.check(failover(first=4, committed=4).ops)
    assert v.valid == "valid"
    assert v.stats["redelivered"] == 2 and v.stats["redelivery-events"] == 1


def test_skipped_range_after_failover():
    b = Builder()
    b.fault("f9", "kill-consumer")
    v = group.check(failover(first=7, committed=4, b=b).ops)
    assert v.counts() == {"skipped-range": 1}
    ex = v.anomalies["skipped-range"].examples[0]
    assert ex["range"] == [4, 6] and ex["process"] == "consumer-1" and ex["group"] == "g"
    assert ex["fault_windows"] == [{"fault": "kill-consumer", "fault_id": "f9"}]


def test_below_commit_is_redelivery_and_bounded_by_option():
    b = failover(first=1, committed=4)
    v = group.check(b.ops)
    assert v.valid == "valid" and v.stats["below-commit"] == 1
    assert v.stats["redelivered"] == 5
    v = group.check(b.ops, max_redelivery=3)
    assert v.counts() == {"excess-redelivery": 1}


def test_positions_from_assign_and_unknown_commits_extend_bound():
    # broker says committed 7 (e.g. auto-commit), our history has no commit ok
    b = Builder()
    b.assign([0], positions={0: 7}).poll([(0, 7, "r7")])
    b.final(FINAL)
    assert group.check(b.ops).valid == "valid"
    # an info commit of 6 may have applied: starting at 6 is fine, at 8 is not
    b1 = Builder()
    b1.assign([0]).poll([(0, 0, "r0")]).commit({0: 1}).commit({0: 6}, type_="info")
    b1.revoke([0]).assign([0], process="consumer-1").poll([(0, 6, "r6")], process="consumer-1")
    assert group.check(b1.final(FINAL).ops).valid == "valid"
    b2 = Builder()
    b2.assign([0]).poll([(0, 0, "r0")]).commit({0: 1}).commit({0: 6}, type_="info")
    b2.revoke([0]).assign([0], process="consumer-1").poll([(0, 8, "r8")], process="consumer-1")
    b2.final(FINAL)
    v = group.check(b2.ops)
    assert v.counts() == {"skipped-range": 1}
    assert v.anomalies["skipped-range"].examples[0]["range"] == [6, 7]


def test_failed_commit_does_not_count():
    b = Builder()
    b.assign([0]).poll([(0, 0, "r0")]).commit({0: 5}, type_="fail")
    b.revoke([0]).assign([0], process="consumer-1").poll([(0, 5, "r5")], process="consumer-1")
    b.final(FINAL)
    v = group.check(b.ops)
    assert v.counts() == {"skipped-range": 1}
    assert v.anomalies["skipped-range"].examples[0]["range"] == [0, 4]


def test_fresh_group_earliest_start_vs_latest():
    b = Builder()
    b.assign([0]).poll([(0, 3, "r3")]).final(FINAL)
    assert group.check(b.ops).counts() == {"skipped-range": 1}
    assert group.check(b.ops, auto_offset_reset="latest").valid == "valid"


def test_commit_pointing_at_txn_marker_is_explained():
    b = Builder()
    b.txn("t0", [("a", "k", 0, 0, 0), ("b", "k", 1, 0, 1)])   # marker at 2
    b.txn("t1", [("c", "k", 2, 0, 3)])
    b.assign([0]).poll([(0, 0, "a"), (0, 1, "b")]).commit({0: 2}).revoke([0])
    b.assign([0], process="consumer-1").poll([(0, 3, "c")], process="consumer-1")
    b.final([(0, 0, "a"), (0, 1, "b"), (0, 3, "c")], end={0: 5})
    assert group.check(b.ops).valid == "valid"


def test_no_group_consumers_ignored():
    b = Builder()
    b.assign([0], group=None).poll([(0, 5, "r5")], group=None).final(FINAL)
    v = group.check(b.ops)
    assert v.valid == "valid" and v.stats["rebalance-starts"] == 0


def test_commit_beyond_the_log_end_is_flagged():
    """The group committed past offset 3, but the log now ends at 2 (a broker lost its data)."""
    from kfchaos.checkers.synth import Builder
    b = Builder().send("a", o=0).send("b", o=1).send("c", o=2)
    b.assign([0]).poll([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")]).commit({0: 3})
    b.final([(0, 0, "a"), (0, 1, "b")], end={0: 2})
    v = group.check(b.ops)
    assert v.counts() == {"commit-beyond-log-end": 1}
    ex = v.anomalies["commit-beyond-log-end"].examples[0]
    assert (ex["partition"], ex["committed"], ex["log_end"]) == (0, 3, 2)
    fine = Builder().send("a", o=0).assign([0]).poll([(0, 0, "a")]).commit({0: 1}).final([(0, 0, "a")])
    assert group.check(fine.ops).counts() == {}

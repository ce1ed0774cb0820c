"""The compiled core's `group` checker gives the Python checker's verdict on hand-written
histories: re-delivery and below-commit starts, the committed bound (assign positions,
commits ok, of unknown outcome, in flight, failed), uncommitted starts under each
`auto_offset_reset`, skips the final read explains or holds, skips of topics without a
final read (declared transactional or not), `max_redelivery`, commits beyond the log
end, consumers without a group, and the group/topic a process's last `assign` or
`revoke` named.  It decides the clean cases and hands the anomalous ones over."""
import random

import pytest

from kfchaos.checkers.synth import Builder

from .test_native_offsets import _write, verdicts

FINAL = [(0, i, f"r{i}") for i in range(10)]
NAMES = (["group"], ["lost", "duplicate", "offsets", "ordering", "group"])


@pytest.fixture(autouse=True)
def _native_on(monkeypatch):
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)


def check(tmp_path, b, opts=None, names=("group",)):
    path = _write(tmp_path, b.ops, f"h{random.random()}.jsonl")
    return verdicts(path, opts, names=names, checker="group")


def failover(first, committed, b=None, final=True, **kw):
    b = b or Builder()
    b.assign([0], process="consumer-0").poll([(0, i, f"r{i}") for i in range(6)], process="consumer-0")
    b.commit({0: committed}, process="consumer-0")
    b.revoke([0], process="consumer-0")
    b.assign([0], process="consumer-1", **kw)
    b.poll([(0, i, f"r{i}") for i in range(first, 10)], process="consumer-1")
    return b.final(FINAL) if final else b


@pytest.mark.parametrize("names", NAMES)
def test_a_resume_with_redelivery_is_decided(tmp_path, names):
    got, want = check(tmp_path, failover(first=4, committed=4), names=names)
    assert got == want and want["valid"] == "valid"
    assert want["stats"]["redelivered"] == 2 and want["stats"]["rebalance-starts"] == 2


def test_a_skipped_range_is_python_s(tmp_path):
    got, want = check(tmp_path, failover(first=7, committed=4))
    assert got is None and want["stats"]["skipped-range"] == 1


def test_below_commit_and_the_redelivery_limit(tmp_path):
    b = failover(first=1, committed=4)
    got, want = check(tmp_path, b)
    assert got == want and want["stats"]["below-commit"] == 1 and want["stats"]["redelivered"] == 5
    got, want = check(tmp_path, b, {"max_redelivery": 5})
    assert got == want and want["stats"]["max-redelivery-limit"] == 5
    got, want = check(tmp_path, b, {"max_redelivery": 4})
    assert got is None and "excess-redelivery" in want["anomalies"]


def test_the_bound_from_positions_and_unknown_commits(tmp_path):
    b = Builder()
    b.assign([0], positions={0: 7}).poll([(0, 7, "r7")]).final(FINAL)
    got, want = check(tmp_path, b)
    assert got == want and want["valid"] == "valid"
    # a position under a key not in canonical form is not the partition's (Python's str(p))
    b = Builder()
    b.op("consumer-0", "ok", "assign", {"group": "g", "topic": "t", "partitions": [0],
                                        "positions": {"00": 7, "1": None}})
    b.poll([(0, 7, "r7")]).final(FINAL)
    got, want = check(tmp_path, b)
    assert got is None and want["stats"]["skipped-range"] == 1
    for start, kind in ((6, "info"), (8, "info"), (6, None)):   # None: still in flight
        b = Builder()
        b.assign([0]).poll([(0, 0, "r0")]).commit({0: 1}).commit({0: 6}, type_=kind)
        b.revoke([0]).assign([0], process="consumer-1").poll([(0, start, f"r{start}")], process="consumer-1")
        got, want = check(tmp_path, b.final(FINAL))
        assert (got is None) == (start == 8) and got in (None, want)
        assert want["stats"]["skipped-range"] == (start == 8)


def test_a_failed_commit_does_not_move_the_bound(tmp_path):
    b = Builder()
    b.assign([0]).poll([(0, 0, "r0")]).commit({0: 5}, type_="fail")
    b.revoke([0]).assign([0], process="consumer-1").poll([(0, 5, "r5")], process="consumer-1")
    got, want = check(tmp_path, b.final(FINAL))
    assert got is None and want["stats"]["skipped-range"] == 1 and want["stats"]["commits"]["fail"] == 1


def test_uncommitted_starts_under_each_reset(tmp_path):
    b = Builder().assign([0]).poll([(0, 3, "r3")]).final(FINAL)
    got, want = check(tmp_path, b)
    assert got is None and want["stats"]["skipped-range"] == 1
    for reset in ("latest", "none"):
        got, want = check(tmp_path, b, {"auto_offset_reset": reset})
        assert got == want and want["stats"]["uncommitted-starts"] == 1
    # the final read's start offset is the bound: the log starts at 3 (whatever it lists)
    b = Builder().assign([0]).poll([(0, 3, "r3")]).final(FINAL, start={0: 3})
    got, want = check(tmp_path, b)
    assert got == want and want["valid"] == "valid"


def test_skips_the_final_read_explains_or_cannot(tmp_path):
    # offsets 4..6 hold nothing in the final read (compacted, markers): explained
    final = [r for r in FINAL if not 4 <= r[1] < 7]
    got, want = check(tmp_path, failover(first=7, committed=4, final=False).final(final))
    assert got == want and want["valid"] == "valid"
    # no final read of the topic: unverified if it is transactional, else a skip
    b = failover(first=7, committed=4, final=False)
    got, want = check(tmp_path, b, {"transactional_topics": ["t"]})
    assert got == want and want["stats"]["unverified-skips"] == 1
    got, want = check(tmp_path, b, {"transactional_topics": []})
    assert got is None and want["stats"]["skipped-range"] == 1
    got, want = check(tmp_path, b)          # no send writes t: transactional by default
    assert got == want and want["stats"]["unverified-skips"] == 1
    b = Builder().send("x", o=0).assign([0]).poll([(0, 3, "r3")])
    got, want = check(tmp_path, b)          # uncommitted, earliest: bound 0, t written
    assert got is None and want["stats"]["skipped-range"] == 1
    got, want = check(tmp_path, b, {"transactional_topics": ["t"]})
    assert got == want and want["stats"]["unverified-skips"] == 1


def test_a_commit_beyond_the_log_end(tmp_path):
    b = Builder().send("a", o=0).send("b", o=1).send("c", o=2)
    b.assign([0]).poll([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")]).commit({0: 3})
    got, want = check(tmp_path, b.final([(0, 0, "a"), (0, 1, "b")], end={0: 2}))
    assert got is None and "commit-beyond-log-end" in want["anomalies"]
    # the end is the furthest of the listed end, Fetch's end and the past-end records
    for drop in ("past_end", "fetch_end_offsets"):
        b = Builder().send("a", o=0).send("b", o=1).send("c", o=2)
        b.assign([0]).poll([(0, 0, "a"), (0, 1, "b"), (0, 2, "c")]).commit({0: 3})
        b.final([(0, 0, "a"), (0, 1, "b")], end={0: 2}, past_end=[(0, 2, "c")])
        del b.ops[-1]["value"][drop]
        got, want = check(tmp_path, b)
        assert got == want and want["valid"] == "valid"
    # a commit with no group, or of a topic named only by the process's assign
    b = Builder().send("a", o=0).assign([0]).poll([(0, 0, "a")])
    b.op("consumer-0", "ok", "commit", {"group": None, "offsets": {"0": 4}})
    got, want = check(tmp_path, b.final([(0, 0, "a")]))
    assert got is None and "commit-beyond-log-end" in want["anomalies"]


def test_consumers_without_a_group_are_ignored(tmp_path):
    b = Builder().assign([0], group=None).poll([(0, 5, "r5")], group=None).final(FINAL)
    got, want = check(tmp_path, b)
    assert got == want and want["stats"]["rebalance-starts"] == 0
    # assigned in a group, polling with "group": null: not the group's poll
    b = Builder().assign([0]).poll([(0, 5, "r5")], group=None).final(FINAL)
    got, want = check(tmp_path, b)
    assert got == want and want["stats"]["rebalance-starts"] == 0
    # a poll without a group field is the group its process's last assign named
    b = Builder().assign([0])
    b.op("consumer-0", "ok", "poll", {"topic": "t", "records": [Builder.rec((0, 5, "r5"))]})
    got, want = check(tmp_path, b.final(FINAL))
    assert got is None and want["stats"]["rebalance-starts"] == 1


def test_commits_keys_topics_and_revokes(tmp_path):
    # "0" and "00" name partition 0 in one commit: the last value is the commit's
    b = Builder().assign([0]).poll([(0, 0, "r0")])
    b.op("consumer-0", "info", "commit", {"group": "g", "topic": "t", "offsets": {"0": 9, "00": 5}})
    b.revoke([0]).assign([0], process="consumer-1").poll([(0, 7, "r7")], process="consumer-1")
    got, want = check(tmp_path, b.final(FINAL))
    assert got is None and want["stats"]["skipped-range"] == 1
    # a commit with an empty topic is of the process's last assigned topic
    b = Builder().assign([0]).poll([(0, 0, "r0")])
    b.op("consumer-0", "ok", "commit", {"group": "g", "topic": "", "offsets": {"0": 7}})
    b.revoke([0]).assign([0], process="consumer-1").poll([(0, 7, "r7")], process="consumer-1")
    got, want = check(tmp_path, b.final(FINAL))
    assert got == want and want["valid"] == "valid"
    # a revoke before the first poll: no rebalance start
    b = Builder().assign([0, 1]).revoke([0]).poll([(0, 5, "r5"), (1, 0, "s0")]).final(FINAL)
    got, want = check(tmp_path, b)
    assert got == want and want["stats"]["rebalance-starts"] == 1

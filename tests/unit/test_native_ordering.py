"""The compiled core's `ordering` checker gives the Python checker's verdict on
hand-written histories: producer order (reorders, acks out of seq order, acks without a
partition or offset, keys null or absent), consumer order (steps back, gaps the final
read explains or not, gaps of topics without a final read, declared transactional or
not), and the resets of `assign` and `revoke` (of the topic, of another, of every topic,
of other partitions).  It decides the clean cases and hands the anomalous ones over."""
import copy
import random

import pytest

from kfchaos.checkers import inject
from kfchaos.checkers.synth import Builder, generate

from .test_native_offsets import _write, verdicts

NAMES = (["ordering"], ["lost", "duplicate", "offsets", "ordering"])


@pytest.fixture(autouse=True)
def _native_on(monkeypatch):
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)


def check(tmp_path, b_or_ops, opts=None, names=("ordering",)):
    ops = b_or_ops.ops if isinstance(b_or_ops, Builder) else b_or_ops
    path = _write(tmp_path, ops, f"h{random.random()}.jsonl")
    got, want = verdicts(path, opts, names=names, checker="ordering")
    return got, want


def test_a_reorder_and_acks_out_of_seq_order_are_python_s(tmp_path):
    ops = copy.deepcopy(generate(3, 800, txn=False, consumers=1).ops)
    got, want = check(tmp_path, ops)
    assert got == want and want["valid"] == "valid"
    assert inject.inject_swap(ops, rng=random.Random(1)) is not None
    got, want = check(tmp_path, ops)
    assert got is None and want["stats"]["reordered"] >= 1
    b = Builder()
    b.send("a", seq=0, o=None, type_=None).send("b", seq=1, o=None, type_=None)
    b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": "b", "seq": 1, "partition": 0, "offset": 1})
    b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": "a", "seq": 0, "partition": 0, "offset": 0})
    got, want = check(tmp_path, b)
    assert got is None and want["valid"] == "valid" and want["stats"]["out-of-order-acks"] == 1


def test_acks_without_position_and_keys_null_or_absent(tmp_path):
    b = Builder()
    b.send("a", seq=0, o=None, p=None).send("b", seq=1, o=None, p=None)
    b.send("c", seq=0, key=None, o=0).send("d", seq=1, key=None, o=0)
    b.op("producer-0", "invoke", "send", {"topic": "t", "id": "e", "seq": 5})
    b.op("producer-0", "ok", "send", {"topic": "t", "id": "e", "seq": 5, "partition": 0, "offset": 0})
    got, want = check(tmp_path, b)
    assert got is None and want["stats"]["reordered"] == 2       # d after c, e after d
    b = Builder()
    b.send("a", seq=0, o=None, p=None).send("b", seq=1, o=None, p=None)
    b.send("c", seq=0, key=None, o=0).send("d", seq=1, key=None, o=1)
    b.send("x", seq=0, key="k", o=0, process="producer-1")
    # another partition between two acks of a key: neither pair is compared (Python
    # compares an ack with the key's last one only, if of the same topic and partition)
    b.send("m0", seq=0, key="m", p=0, o=5).send("m1", seq=1, key="m", p=1, o=0)
    b.send("m2", seq=2, key="m", p=0, o=3)
    got, want = check(tmp_path, b)
    assert got == want and want["stats"]["acked-writes-checked"] == 8


def _sends(b, n, topic="t"):
    for k in range(n):
        b.send(f"{topic}-{k}", seq=k, o=k, topic=topic)
    return [(0, k, f"{topic}-{k}") for k in range(n)]


def test_a_step_back_is_python_s(tmp_path):
    b = Builder()
    recs = _sends(b, 4)
    b.poll(recs[:3]).poll(recs[1:2])
    b.final(recs)
    got, want = check(tmp_path, b)
    assert got is None and want["stats"]["nonmonotonic"] == 1


@pytest.mark.parametrize("final", ["explains", "holds", "none"])
@pytest.mark.parametrize("opts", [{}, {"transactional_topics": ["t"]}, {"transactional_topics": []}])
def test_gaps(final, opts, tmp_path):
    b = Builder()
    recs = _sends(b, 6)
    b.poll(recs[:2]).poll(recs[4:])
    if final == "explains":
        b.final(recs[:2] + recs[4:], end={0: 6})
    elif final == "holds":
        b.final(recs)
    got, want = check(tmp_path, b, opts)
    st = want["stats"]
    if final == "explains":
        assert got == want and st["explained-gaps"] == 1
    elif final == "holds" or opts.get("transactional_topics") != ["t"]:
        assert got is None and st["skip"] == 1
    else:
        assert got == want and st["unverified-gaps"] == 1


def test_gaps_of_a_topic_no_send_writes(tmp_path):
    """Without a final read, undeclared: transactional (unverified); declared without
    it: a skip."""
    b = Builder()
    _sends(b, 2)
    b.poll([(0, 0, "x"), (0, 3, "y")], topic="out")
    b.final([(0, 0, "t-0"), (0, 1, "t-1")])
    for names in NAMES:
        got, want = check(tmp_path, b, names=names)
        assert got == want and want["stats"]["unverified-gaps"] == 1
    got, want = check(tmp_path, b, {"transactional_topics": []})
    assert got is None and want["stats"]["skip"] == 1


@pytest.mark.parametrize("how", ["revoke", "assign", "revoke-all", "revoke-other-topic",
                                 "revoke-other-partition", "revoke-other-process", "unknown-topic"])
def test_rebalances_reset_the_order_tracking(how, tmp_path):
    b = Builder()
    recs = _sends(b, 8)
    b.poll(recs[:3])
    if how in ("revoke", "revoke-all"):
        b.revoke([0], topic=None if how == "revoke-all" else "t")
    elif how == "assign":
        b.assign([0, 1])
    elif how == "revoke-other-topic":
        _sends(b, 1, topic="u")
        b.revoke([0], topic="u")
    elif how == "revoke-other-partition":
        b.revoke([1])
    elif how == "revoke-other-process":
        b.revoke([0], process="consumer-1")
    else:
        b.revoke([0], topic="never-seen")
    b.poll(recs[6:])
    b.final(recs)
    got, want = check(tmp_path, b)
    if how in ("revoke", "assign", "revoke-all"):
        assert got == want and want["valid"] == "valid"
    else:
        assert got is None and want["stats"]["skip"] == 1

"""Exactly-once output checker (Flink counting job)."""
from kfchaos.checkers import check_all, exactly_once
from kfchaos.checkers.synth import Builder, Sim


def out(i, key, count, rid):
    return (0, i, {"id": rid, "key": key, "count": count, "seq": 0, "in_partition": 0,
                   "in_offset": 0})


def history(outputs, sends=("a", "b", "c"), extra=None):
    b = Builder()
    b.op("flink", "ok", "deploy", {"input_topic": "t", "output_topic": "out"})
    for i, rid in enumerate(sends):
        b.send(rid, key="k", seq=i, o=i)
    if extra:
        extra(b)
    b.final([(0, i, rid) for i, rid in enumerate(sends)])
    b.final(outputs, topic="out")
    return b.ops


def test_exact_output_valid_and_discovered_from_deploy():
    ops = history([out(0, "k", 1, "a"), out(1, "k", 2, "b"), out(2, "k", 3, "c")])
    v = exactly_once.check(ops)
    assert v.valid == "valid" and v.stats["required"] == 3
    assert "exactly-once" in check_all(ops)


def test_missing_and_duplicate_and_count_anomalies():
    ops = history([out(0, "k", 1, "a"), out(1, "k", 2, "b"), out(2, "k", 2, "b")])
    v = exactly_once.check(ops)
    assert v.counts() == {"missing-output": 1, "duplicate-output": 1, "count-repeat": 1}
    assert v.anomalies["missing-output"].examples[0]["id"] == "c"
    ops = history([out(0, "k", 1, "a"), out(1, "k", 3, "c")])
    v = exactly_once.check(ops)
    assert v.counts() == {"missing-output": 1, "count-gap": 1}
    assert v.anomalies["count-gap"].examples[0]["missing"] == [2, 2]


def test_unexpected_output():
    ops = history([out(0, "k", 1, "a"), out(1, "k", 2, "b"), out(2, "k", 3, "c"),
                   out(3, "j", 1, "zzz")])
    assert exactly_once.check(ops).counts() == {"unexpected-output": 1}


def test_unknown_outcome_inputs():
    # "b" timed out (info) but landed in the input topic: its output is required;
    # "d" timed out and is not in the input topic: not required, not unexpected
    def extra(b):
        b.send("d", key="k", seq=9, type_="info")
    b = Builder()
    b.send("a", key="k", seq=0, o=0).send("b", key="k", seq=1, type_="info")
    b.send("d", key="k", seq=2, type_="info")
    b.final([(0, 0, "a"), (0, 1, "b")])
    b.final([out(0, "k", 1, "a")], topic="out")
    v = exactly_once.check(b.ops, input_topic="t", output_topic="out")
    assert v.counts() == {"missing-output": 1}
    assert v.anomalies["missing-output"].examples[0]["id"] == "b"
    b.final([out(0, "k", 1, "a"), out(1, "k", 2, "b"), out(2, "k", 3, "d")], topic="out")
    assert exactly_once.check(b.ops, output_topic="out").valid == "valid"


def test_unknown_without_output_topic_or_read():
    b = Builder()
    b.send("a", o=0)
    assert exactly_once.check(b.ops).valid == "unknown"
    assert exactly_once.check(b.ops, output_topic="out").valid == "unknown"
    assert "exactly-once" not in check_all(b.ops)


def test_sim_flink_job_is_valid():
    sim = Sim(3)
    sim.topic("t", 2)
    sim.flink_deploy("t", "out")
    for i in range(40):
        sim.send("producer-0", f"k{i % 3}")
        if i % 7 == 0:
            sim.flink_step(5)
    while sim.flink_step(100):
        pass
    sim.final_read("t")
    sim.final_read("out")
    v = exactly_once.check(sim.ops)
    assert v.valid == "valid" and v.stats["keys"] == 3

"""Verdict/Anomaly records, composition rule and fault windows."""
import json

from kfchaos.checkers import (INVALID, UNKNOWN, VALID, Anomaly, Verdict, compose,
                              fault_windows, overlapping)
from kfchaos.checkers.synth import Builder


def test_verdict_finish_and_roundtrip():
    v = Verdict("lost", informational=("unseen",))
    for i in range(15):
        v.add("lost", {"id": i})
    v.add("unseen", {"id": "x"})
    v.stats["acked"] = 3
    v.finish()
    assert v.valid == INVALID and v.valid == "invalid"
    assert v.anomalies["lost"].count == 15 and len(v.anomalies["lost"].examples) == 10
    assert "15 lost" in v.reason
    d = json.loads(json.dumps(v.to_dict()))
    assert d["valid"] == "invalid"
    v2 = Verdict.from_dict(d)
    assert v2.valid == INVALID and v2.counts() == v.counts() and v2.stats == v.stats
    assert v2.informational == ("unseen",)


def test_informational_and_unknown():
    v = Verdict("lost", informational=("unseen",))
    v.add("unseen", {"id": 1})
    assert v.finish().valid == VALID
    assert Verdict("x").finish("no final read").valid == UNKNOWN
    assert Verdict("x").finish().valid == VALID


def test_compose_rule():
    assert compose([]) == UNKNOWN
    assert compose(["valid", "valid"]) == VALID
    assert compose(["valid", "unknown"]) == UNKNOWN
    assert compose(["unknown", "invalid", "valid"]) == INVALID
    assert compose({"a": Verdict("a").finish(), "b": Verdict("b").finish("?")}) == UNKNOWN
    a = Anomaly()
    a.add(None, n=5)
    assert a.count == 5 and a.examples == []


def test_fault_windows_matched_open_and_overlap():
    b = Builder()
    b.fault("f1", "kill")                 # t=1,2
    b.op("producer-0", "ok", "noop", None)
    b.fault("f1", "kill", stop=True)      # t=4,5
    b.fault("f2", "partition")            # t=6,7 -- never stopped
    b.op("producer-0", "ok", "noop", None)
    ws = fault_windows(b.ops, end_time=b.ops[-1]["time"])
    assert [(w.fault_id, w.open) for w in ws] == [("f1", False), ("f2", True)]
    f1, f2 = ws
    assert f1.start == b.ops[0]["time"] and f1.end == b.ops[4]["time"]
    assert f1.stop_type == "ok" and f1.start_type == "ok"
    assert f2.end == b.ops[-1]["time"]
    assert overlapping(ws, b.ops[3]["time"]) == [{"fault": "kill", "fault_id": "f1"}]
    assert overlapping(ws, b.ops[0]["time"] - 10) == []
    assert [x["fault_id"] for x in overlapping(ws, b.ops[4]["time"], b.ops[6]["time"])] \
        == ["f1", "f2"]


def test_stop_without_completion_keeps_window_open():
    b = Builder()
    b.fault("f1")
    b.fault("f1", stop=True, type_=None)
    b.op("x", "ok", "noop", None)
    (w,) = fault_windows(b.ops, end_time=b.ops[-1]["time"])
    assert w.open and w.end == b.ops[-1]["time"]

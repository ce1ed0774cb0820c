"""The shared streaming index: file vs memory equivalence, truncation, API."""
import json

import pytest

from kfchaos.checkers import check_all
from kfchaos.checkers.index import HistoryIndex, as_index
from kfchaos.checkers.inject import inject_lost
from kfchaos.checkers.synth import Builder, generate
from kfchaos.history import History


def write(ops, path):
    with open(path, "w") as fh:
        for op in ops:
            fh.write(json.dumps(op) + "\n")


def summary(verdicts):
    return {k: (str(v.valid), v.counts(), {s: x for s, x in v.stats.items()
                                           if isinstance(x, (int, float))})
            for k, v in verdicts.items()}


@pytest.mark.parametrize("chunk", [1 << 10, 1 << 22])
def test_from_path_equals_in_memory(tmp_path, chunk):
    sim = generate(7, 3000, flink=True, faults=2)
    inject_lost(sim.ops, rng=1)
    path = tmp_path / "history.jsonl"
    write(sim.ops, path)
    a = check_all(HistoryIndex(sim.ops))
    b = check_all(HistoryIndex.from_path(path, chunk_bytes=chunk))
    assert summary(a) == summary(b)
    assert a["lost"].anomalies["lost"].examples == b["lost"].anomalies["lost"].examples


def test_from_path_tolerates_truncated_last_line(tmp_path):
    sim = generate(3, 500)
    path = tmp_path / "history.jsonl"
    write(sim.ops, path)
    with open(path, "a") as fh:
        fh.write('{"index": 99999, "process": "x", "ty')
    idx = HistoryIndex.from_path(path)
    assert len(idx) == len(sim.ops)
    with open(path, "w") as fh:
        fh.write(json.dumps(sim.ops[0]) + "\n{oops\n" + json.dumps(sim.ops[1]) + "\n")
    with pytest.raises(ValueError):
        HistoryIndex.from_path(path)


def test_writer_file_is_readable_by_index(tmp_path):
    path = tmp_path / "history.jsonl"
    with History(path) as h:
        h.invoke("producer-0", "send", {"topic": "t", "key": "k", "id": "a", "seq": 0})
        h.ok("producer-0", "send", {"topic": "t", "key": "k", "id": "a", "seq": 0,
                                    "partition": 0, "offset": 0})
        h.ok("final-reader", "final-read", {
            "topic": "t", "isolation": "read_committed", "start_offsets": {"0": 0},
            "end_offsets": {"0": 1}, "records": [{"partition": 0, "offset": 0, "key": "k",
                                                  "value": {"id": "a"}}]})
    v = check_all(HistoryIndex.from_path(path))
    assert all(x.valid == "valid" for x in v.values())


def test_index_keeps_compact_state_only():
    b = Builder()
    b.send("a", o=0).assign([0]).poll([(0, 0, "a")]).commit({0: 1})
    b.fault("f1")
    b.op("flink", "ok", "checkpoint", {"id": 1})
    b.final([(0, 0, "a")])
    idx = as_index(b.ops)
    assert as_index(idx) is idx
    assert idx.get("send") == [] and idx.get("poll") == [] and idx.get("commit") == []
    assert len(idx.get("fault-start")) == 2
    assert idx.counts["commit-ok"] == 1 and idx.checkpoint_times
    assert idx.write("a").id == "a" and idx.final_read("t").position("a") == (0, 0)


def test_generator_input_and_empty_history():
    b = Builder().send("a", o=0)
    assert len(HistoryIndex(iter(b.ops))) == 2
    v = check_all([])
    assert v["lost"].valid == "unknown" and v["offsets"].valid == "unknown"

"""History writer/reader: indices, thread safety, flushing, truncation, pairing."""
import json
import threading
import time

import pytest

from kfchaos.history import History, completions, correlation_key, iter_load, load, pair


def test_in_memory_ops_have_full_shape():
    h = History()
    a = h.invoke("producer-0", "send", {"id": "p0-0"})
    b = h.ok("producer-0", "send", {"id": "p0-0", "partition": 0, "offset": 5})
    c = h.info("nemesis", "fault-start", {"fault_id": "f1"})
    d = h.fail("consumer-0", "commit", {"group": "g"})
    assert [o["index"] for o in (a, b, c, d)] == [0, 1, 2, 3]
    assert h.ops == [a, b, c, d]
    assert set(a) == {"index", "process", "type", "f", "value", "time", "wall"}
    assert a["time"] <= b["time"] <= c["time"] <= d["time"]
    assert isinstance(a["time"], int) and isinstance(a["wall"], float)
    assert len(h) == 4


def test_append_validates_and_keeps_given_times():
    h = History()
    with pytest.raises(ValueError):
        h.append({"process": "p", "type": "done", "f": "send"})
    with pytest.raises(ValueError):
        h.append({"type": "ok", "f": "send"})
    op = h.append({"process": "p", "type": "ok", "f": "x", "value": 1, "time": 42, "wall": 1.5})
    assert (op["time"], op["wall"], op["index"]) == (42, 1.5, 0)


def test_complete_copies_invoke_value():
    h = History()
    inv = h.invoke("p", "commit", {"offsets": {"0": 3}})
    done = h.complete(inv, "ok")
    assert done["value"] == inv["value"] and done["f"] == "commit"
    with pytest.raises(ValueError):
        h.complete(inv, "invoke")


def test_file_roundtrip_and_close(tmp_path):
    path = tmp_path / "history.jsonl"
    with History(path) as h:
        h.invoke("p", "send", {"id": "a", "topic": "t", "key": "k", "seq": 0,
                               "raw": b"\xffbytes", "s": {1}})
        h.ok("p", "send", {"id": "a", "topic": "t", "key": "k", "seq": 0,
                           "partition": 0, "offset": 0})
    ops = load(path)
    assert [o["index"] for o in ops] == [0, 1]
    assert ops[0]["value"]["s"] == [1]
    assert list(iter_load(path)) == ops
    assert h.ok("p", "send", {})["index"] is None and h.late_writes == 1    # after close: not recorded
    assert load(path) == ops


def test_flush_every_n_ops_and_immediately_for_faults(tmp_path):
    path = tmp_path / "history.jsonl"
    h = History(path, flush_every=3, flush_interval=60)
    h.ok("p", "x", 1)
    h.ok("p", "x", 2)
    assert path.read_text() == ""
    h.ok("p", "x", 3)
    assert len(path.read_text().splitlines()) == 3
    h.invoke("nemesis", "fault-start", {"fault_id": "f"})
    assert len(path.read_text().splitlines()) == 4
    h.close()


def test_background_flush_interval(tmp_path):
    path = tmp_path / "history.jsonl"
    h = History(path, flush_every=10_000, flush_interval=0.05)
    h.ok("p", "x", 1)
    deadline = time.time() + 5
    while time.time() < deadline and not path.read_text():
        time.sleep(0.02)
    assert len(path.read_text().splitlines()) == 1
    h.close()


def test_thread_safe_unique_ordered_indices(tmp_path):
    path = tmp_path / "history.jsonl"
    h = History(path, flush_every=64)

    def worker(i):
        for j in range(500):
            h.ok(f"p{i}", "x", j)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    h.close()
    ops = load(path)
    assert [o["index"] for o in ops] == list(range(4000))
    assert all(a["time"] <= b["time"] for a, b in zip(ops, ops[1:]))
    for i in range(8):
        assert [o["value"] for o in ops if o["process"] == f"p{i}"] == list(range(500))


def test_load_tolerates_truncated_last_line_only(tmp_path):
    path = tmp_path / "history.jsonl"
    good = [json.dumps({"index": i, "process": "p", "type": "ok", "f": "x", "value": i,
                        "time": i, "wall": 0.0}) for i in range(3)]
    path.write_text("\n".join(good) + "\n" + good[0][:17])
    assert [o["index"] for o in load(path)] == [0, 1, 2]
    assert [o["index"] for o in iter_load(path)] == [0, 1, 2]
    path.write_text(good[0] + "\n{broken\n" + good[2] + "\n")
    with pytest.raises(ValueError):
        load(path)
    path.write_text("")
    assert load(path) == []


def test_pairing_by_id_with_concurrent_sends():
    h = History()
    a = h.invoke("producer-0", "send", {"id": "a"})
    b = h.invoke("producer-0", "send", {"id": "b"})
    c = h.invoke("consumer-0", "commit", {"group": "g"})
    bd = h.ok("producer-0", "send", {"id": "b"})
    poll = h.ok("consumer-0", "poll", {"records": []})
    ad = h.info("producer-0", "send", {"id": "a"})
    pairs = pair(h.ops)
    assert pairs[:3] == [(a, ad), (b, bd), (c, None)]
    assert pairs[3] == (None, poll)
    assert completions(h.ops) == {0: ad, 1: bd, 2: None}
    assert correlation_key(a) == ("producer-0", "send", "a")

"""The checkers' whole-list shortcuts change nothing: verdicts equal those of
the exact record-by-record paths, on valid and on damaged histories; the
streaming reader equals the in-memory one; the parser equals json.loads."""
import copy
import io
import json
import random

import pytest

from harness import history
from harness.checkers import check_all, digests, index, inject
from harness.checkers.synth import Builder, generate
from harness.history import line_chunks, loads

OPTS = [{}, {"transactional_topics": ["t"], "max_redelivery": 2},
        {"recovery_budget_s": 0.001, "latency_ratio_budget": 1.01,
         "auto_offset_reset": "latest"}]


def damage(ops, rng):
    """A few random injections and record-level mutations."""
    for _ in range(rng.randint(0, 3)):
        k = rng.randrange(7)
        if k == 0:
            inject.inject_lost(ops, rng=rng)
        elif k == 1:
            inject.inject_duplicate(ops, rng=rng)
        elif k == 2:
            inject.inject_swap(ops, rng=rng)
        elif k == 3:
            inject.inject_skip(ops, rng=rng)
        else:
            reads = [o for o in ops if o["f"] in ("poll", "final-read") and o["type"] == "ok"
                     and o["value"]["records"]]
            if not reads:
                continue
            recs = rng.choice(reads)["value"]["records"]
            i = rng.randrange(len(recs))
            if k == 4:
                recs[i] = dict(recs[i], value=rng.choice([None, "raw", 7, {"x": 1}]))
            elif k == 5:
                recs.insert(i, copy.deepcopy(recs[i]))
            else:
                recs[i]["offset"] += rng.choice([-1, 1, 3])


def exact_only(monkeypatch):
    monkeypatch.setattr(digests.FinalRead, "_bulk", lambda self, recs: False)
    monkeypatch.setattr(digests.PollDigest, "agrees_with", lambda self, fr: False)
    monkeypatch.setattr(index.HistoryIndex, "acks_in_place", lambda self, topic: False)


def verdicts(ops, opts):
    return {k: v.to_dict() for k, v in check_all(index.HistoryIndex(ops), **opts).items()}


@pytest.mark.parametrize("seed", range(24))
def test_shortcuts_equal_exact_paths(seed, monkeypatch):
    rng = random.Random(seed)
    sim = generate(seed, rng.randint(200, 1500), producers=rng.randint(1, 3),
                   partitions=rng.randint(1, 4), consumers=rng.randint(0, 3),
                   txn=rng.random() < 0.5, flink=rng.random() < 0.5, faults=rng.randint(0, 2),
                   unknown_rate=rng.choice([0.0, 0.1]))
    ops = copy.deepcopy(sim.ops)
    if seed % 4:
        damage(ops, rng)
    opts = OPTS[seed % len(OPTS)]
    fast = verdicts(copy.deepcopy(ops), opts)
    with monkeypatch.context() as m:
        exact_only(m)
        slow = verdicts(copy.deepcopy(ops), opts)
    assert fast == slow


def test_shortcut_fallbacks_on_odd_final_reads():
    b = Builder()
    b.send("a", o=0).send("b", o=1).send("c", o=5, p=1)
    b.assign([0, 1]).poll([(0, 0, "a"), (0, 1, "b"), (1, 5, "c")])
    b.final([(0, 1, "b"), (0, 0, "a"), (1, 5, "c")], start={0: 0, 1: 5})   # unsorted
    v = check_all(b.ops)
    assert all(x.valid == "valid" for x in v.values()), {k: x.counts() for k, x in v.items()}
    b = Builder()
    b.send("a", o=0).send("b", o=10 ** 6)                              # sparse offsets
    b.final([(0, 0, "a"), (0, 10 ** 6, "b")], start={0: 0}, end={0: 10 ** 6 + 1})
    v = check_all(b.ops, transactional_topics=["t"])
    assert v["lost"].valid == "valid" and v["duplicate"].valid == "valid"


def test_from_path_chunks_and_huge_lines_equal_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(history, "HUGE_LINE", 2000)
    from harness.checkers import stream
    monkeypatch.setattr(stream, "HUGE_LINE", 2000)
    monkeypatch.setattr(stream, "PARSE_CHARS", 700)
    sim = generate(5, 2500, flink=True, faults=2, poll_size=30)
    path = tmp_path / "history.jsonl"
    with open(path, "w") as fh:
        for op in sim.ops:
            fh.write(json.dumps(op) + "\n")
        fh.write('{"index": 1, "truncated')
    for chunk in (1 << 12, 1 << 16, 1 << 22):
        a = check_all(index.HistoryIndex(sim.ops))
        b = check_all(index.HistoryIndex.from_path(path, chunk_bytes=chunk))
        assert {k: v.to_dict() for k, v in a.items()} == {k: v.to_dict() for k, v in b.items()}
    lines = open(path).read().split("\n")
    lines.insert(7, "{oops")
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError):
        index.HistoryIndex.from_path(path)


def _reference_chunks(fh, chunk):
    pending, size = [], 0
    for line in fh:
        if len(line) < 3 and not line.strip():
            continue
        pending.append(line)
        size += len(line)
        if size >= chunk:
            last = pending.pop()
            yield [x.rstrip("\n") for x in pending], False
            pending, size = [last], len(last)
    yield [x.rstrip("\n") for x in pending], True


def test_line_chunks_equal_the_line_loop(monkeypatch):
    rng = random.Random(3)
    for _ in range(500):
        monkeypatch.setattr(history, "_BLOCK", rng.choice([1, 3, 16, 1000]))
        parts = [rng.choice(["", " ", "  ", "x", "ab", "abc", "{}", "a" * rng.randint(1, 40)])
                 for _ in range(rng.randint(0, 30))]
        text = "\n".join(parts) + rng.choice(["", "\n", "xy"])
        chunk = rng.choice([1, 5, 30, 1000])
        want = list(_reference_chunks(io.StringIO(text, newline="\n"), chunk))
        got = [(list(x), e) for x, e in line_chunks(io.StringIO(text, newline="\n"), chunk)]
        assert got == want, (text, chunk)


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}', "123456789012345678901234567890", "-9223372036854775809",
    "18446744073709551616", "[1e400]", "[NaN, Infinity]", '"\\ud800"', "[1.5, -0.0, 1e-7]",
    '{"x": "\\u00e9\\ud83d\\ude00"}', " [1] ", b"[1, 2]", "[1,", ""])
def test_loads_equals_json_loads(text):
    try:
        want = ("ok", json.dumps(json.loads(text)))
    except ValueError as e:
        want = ("err", type(e))
    try:
        got = ("ok", json.dumps(loads(text)))
    except ValueError as e:
        got = ("err", type(e))
    assert got == want


@pytest.mark.parametrize("seed", range(6))
def test_consumer_batch_size_changes_nothing(seed, monkeypatch):
    rng = random.Random(seed)
    ops = copy.deepcopy(generate(seed, 1500, consumers=3, poll_size=25, flink=seed % 2 == 0).ops)
    damage(ops, rng)
    want = verdicts(copy.deepcopy(ops), OPTS[seed % len(OPTS)])
    monkeypatch.setattr(index, "_BATCH", rng.choice([1, 7, 64]))
    assert verdicts(copy.deepcopy(ops), OPTS[seed % len(OPTS)]) == want

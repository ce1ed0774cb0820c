"""The checkers' shortcuts change nothing: verdicts equal those computed
with every shortcut disabled and counts equal an independent reference
computed here from the raw ops, on valid and on damaged histories; the
streaming reader equals the in-memory one; the parser equals json.loads."""
import copy
import io
import json
import random

import pytest

from kfchaos import history_codec, history_reader
from kfchaos.checkers import check_all, consumers, digests, duplicate, index, inject
from kfchaos.checkers.synth import Builder, generate
from kfchaos.history import line_chunks, loads

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


def no_shortcuts(monkeypatch):
    monkeypatch.setattr(digests.PollDigest, "agrees_with", lambda self, fr: False)
    monkeypatch.setattr(duplicate, "_acks_agree", lambda idx, acked, fr: False)


def verdicts(ops, opts):
    return {k: v.to_dict() for k, v in check_all(index.HistoryIndex(ops), **opts).items()}


def damaged(seed):
    rng = random.Random(seed)
    sim = generate(seed, rng.randint(200, 1500), producers=rng.randint(1, 3),
                   partitions=rng.randint(1, 4), consumers=rng.randint(0, 3),
                   txn=rng.random() < 0.5, flink=rng.random() < 0.5, faults=rng.randint(0, 2),
                   unknown_rate=rng.choice([0.0, 0.1]))
    ops = copy.deepcopy(sim.ops)
    if seed % 4:
        damage(ops, rng)
    return ops


@pytest.mark.parametrize("seed", range(24))
def test_shortcuts_change_nothing(seed, monkeypatch):
    ops = damaged(seed)
    opts = OPTS[seed % len(OPTS)]
    fast = verdicts(copy.deepcopy(ops), opts)
    with monkeypatch.context() as m:
        no_shortcuts(m)
        slow = verdicts(copy.deepcopy(ops), opts)
    assert fast == slow


def _rid(val):
    return val.get("id") if isinstance(val, dict) else ("raw", json.dumps(val))


def reference(ops, topic="t"):
    """lost / unseen / duplicate / recovered-unknown counts of ``topic``,
    straight from the definitions, one record at a time."""
    fr = inject.final_read_op(ops, topic)
    acked, written, aborted = {}, set(), set()
    for op in ops:
        v = op.get("value")
        if op["f"] == "send" and v.get("topic") == topic:
            written.add(v["id"])
            if op["type"] == "ok":
                acked[v["id"]] = (v["partition"], v["offset"])
        elif op["f"] == "txn":
            sends = [s for s in v.get("sends") or [] if s["topic"] == topic]
            written.update(s["id"] for s in sends)
            if op["type"] == "ok":
                acked.update({s["id"]: (s.get("partition"), s.get("offset")) for s in sends})
            elif op["type"] == "fail":
                aborted.update(s["id"] for s in sends)
    unacked = written - set(acked) - aborted
    merged = {}                      # the final read: the last record at an offset
    for r in fr["value"]["records"]:
        merged[(r["partition"], r["offset"])] = _rid(r["value"])
    fr_ids = {r["value"]["id"] for r in fr["value"]["records"]
              if isinstance(r["value"], dict) and r["value"].get("id") is not None}
    for rid, (p, o) in acked.items():
        if p is not None and o is not None and o >= 0:
            merged.setdefault((p, o), rid)
    polled = {}
    for op in ops:
        if op["f"] == "poll" and op["type"] == "ok" and op["value"]["topic"] == topic:
            for r in op["value"]["records"]:
                polled.setdefault((r["partition"], r["offset"]), _rid(r["value"]))
    for k, rid in polled.items():
        merged.setdefault(k, rid)
    places = {}
    for k, rid in merged.items():
        if rid is not None and not isinstance(rid, tuple):
            places.setdefault(rid, set()).add(k)
    consumed = any(op["f"] == "poll" and op["type"] == "ok" and op["value"]["records"]
                   for op in ops if op.get("value", {}).get("topic") == topic)
    seen = set(polled.values())
    return {"lost": len(set(acked) - fr_ids),
            "recovered-unknown": len(unacked & fr_ids),
            "unseen": len(fr_ids - seen) if consumed else 0,
            "duplicate": sum(1 for v in places.values() if len(v) > 1)}


@pytest.mark.parametrize("seed", range(40))
def test_counts_equal_reference(seed):
    ops = damaged(seed)
    if seed % 3 == 0:
        inject.inject_duplicate(ops, rng=seed)
    if inject.final_read_op(ops, "t") is None:
        return
    v = check_all(index.HistoryIndex(copy.deepcopy(ops)), checkers=["lost", "duplicate"])
    got = {k: v["lost"].stats[k] for k in ("lost", "recovered-unknown", "unseen")}
    got["duplicate"] = v["duplicate"].anomalies.get("duplicate", None)
    got["duplicate"] = got["duplicate"].count if got["duplicate"] else 0
    assert got == reference(ops)


def test_final_read_digest_equals_reference():
    rng = random.Random(11)
    for _ in range(300):
        recs = [{"partition": rng.randrange(3), "offset": rng.randrange(12),
                 "value": rng.choice([{"id": f"i{rng.randrange(15)}"}, None, "raw", {"x": 1}])}
                for _ in range(rng.randint(0, 25))]
        if rng.random() < 0.5:
            recs.sort(key=lambda r: (r["partition"], r["offset"]))
        fr = digests.FinalRead({"index": 0, "type": "ok", "time": 0,
                                "value": {"topic": "t", "records": recs}})
        at, first_at, ids, dups, conflicts = {}, {}, {}, [], []
        for r in recs:
            p, o, rid = r["partition"], r["offset"], digests.rid_of(r["value"])
            at.setdefault(p, {})[o] = rid
            if first_at.setdefault((p, o), rid) != rid:
                conflicts.append((p, o, first_at[(p, o)], rid))
            if isinstance(r["value"], dict) and rid is not None:
                if rid in ids and ids[rid] != (p, o):
                    dups.append((rid, p, o))
                ids.setdefault(rid, (p, o))
        assert fr.at == at and fr.dups == dups
        assert {k: digests.unpos(q) for k, q in fr.ids.items()} == ids
        assert list(fr.ids) == list(ids)
        assert fr.conflicts == conflicts


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
    monkeypatch.setattr(history_codec, "HUGE_LINE", 2000)
    from kfchaos.checkers import stream
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
        monkeypatch.setattr(history_reader, "_BLOCK", rng.choice([1, 3, 16, 1000]))
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
    monkeypatch.setattr(consumers, "BATCH", rng.choice([1, 7, 64]))
    assert verdicts(copy.deepcopy(ops), OPTS[seed % len(OPTS)]) == want

"""The compiled core (kfchaos._native, built by scripts/setup.sh) gives exactly the Python
checkers' verdicts: on the equivalence corpus of test_checkers_fastpaths (valid and damaged
histories), on hypothesis-generated histories with injected anomalies, from history.jsonl,
history.kfh and a rotated history.chunks/; it decides the clean non-transactional ones
itself, hands everything else to the Python path, and a malformed history raises the
Python reader's own HistoryError."""
import copy
import json
import os
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kfchaos import history_rotation
from kfchaos.checkers import check_all, check_path, inject, native
from kfchaos.checkers.index import HistoryIndex
from kfchaos.checkers.synth import generate
from kfchaos.history import HistoryError
from kfchaos.history_chunks import ChunkWriter
from kfchaos.history_codec import line_of

from .synth_params import synth_params
from .test_checkers_fastpaths import OPTS as OPTS_CORPUS, damaged

NAMES = (["lost"], ["duplicate"], ["lost", "duplicate"], ["duplicate", "lost"], ["offsets"],
         ["lost", "duplicate", "offsets"], ["offsets", "duplicate"], ["ordering"],
         ["ordering", "offsets", "lost", "duplicate"], ["group"], ["group", "ordering"],
         ["lost", "duplicate", "offsets", "ordering", "group"])
#: option sets: the checkers' own (``topics``; ``offsets``, ``ordering``, ``group``:
#: ``transactional_topics``; ``group``: ``max_redelivery``, ``auto_offset_reset``) and
#: the equivalence corpus's
OPTS = ({}, {"topics": ["t"]}, {"topics": ["nope"]}, {"transactional_topics": ["t"]},
        {"transactional_topics": []}, {"max_redelivery": 0}, {"auto_offset_reset": "none"},
        *OPTS_CORPUS[1:])


@pytest.fixture(autouse=True)
def _native_on(monkeypatch):
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)


def test_the_module_is_built():
    """scripts/setup.sh builds it; without it every test here would prove nothing."""
    assert native._native is not None, \
        "kfchaos/_native.abi3.so is missing: run scripts/setup.sh (needs cargo) or scripts/build_native.sh"
    assert native.available()


def write(tmp_path, name, ops, fmt, frame=97):
    lines = [line_of(op) for op in ops]
    if fmt == "jsonl":
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path
    if fmt == "kfh":
        path = tmp_path / f"{name}.kfh"
        w = ChunkWriter(path)
    else:
        path = tmp_path / f"{name}.chunks"
        w = history_rotation.RotatingChunkWriter(path, rotate_ops=frame * 3)
    for i in range(0, len(lines), frame):
        w.write(lines[i:i + frame])
    w.close()
    return path


def python_verdicts(path, names, opts):
    return {n: v.to_dict() for n, v in
            check_all(HistoryIndex.from_path(path), checkers=names, **opts).items()}


def compare(path, names, opts):
    """Native verdicts (or None when it hands over) and the Python ones; equal when given."""
    ref = python_verdicts(path, names, opts)
    got = native.check_path(path, names, opts)
    if got is not None:
        assert {n: v.to_dict() for n, v in got.items()} == ref
    assert {n: v.to_dict() for n, v in check_path(path, checkers=names, **opts).items()} == ref
    return got is not None


def has_txn(ops):
    return any(op["f"] == "txn" for op in ops)


@pytest.mark.parametrize("seed", range(24))
def test_equivalence_corpus(seed, tmp_path):
    ops = damaged(seed)
    undecided = []
    for fmt in ("jsonl", "kfh", "dir"):
        path = write(tmp_path, f"h{seed}", ops, fmt)
        for names in NAMES:
            for opts in OPTS:
                if not compare(path, names, opts):
                    undecided.append((fmt, names, opts))
    if seed % 4 == 0 and not has_txn(ops):      # undamaged, no transactions: decided natively
        # but for the holes of the Flink job's output topic, a plain topic when the
        # transactional ones are declared without it (offset-gap), and the rebalances
        # that re-deliver more than a `max_redelivery` (excess-redelivery)
        assert all(("offsets" in names and "transactional_topics" in opts) or
                   ("group" in names and "max_redelivery" in opts and
                    python_verdicts(path, ["group"], opts)["group"]["anomalies"])
                   for _, names, opts in undecided), undecided


def test_clean_histories_are_decided_natively(tmp_path):
    """Several topics' worth of options, consumers or none, faults, info/fail sends."""
    for seed in range(6):
        sim = generate(seed, 600, producers=1 + seed % 3, partitions=1 + seed % 4,
                       consumers=seed % 3, txn=False, faults=seed % 3, unknown_rate=0.1)
        for fmt in ("jsonl", "kfh"):
            path = write(tmp_path, f"c{seed}", sim.ops, fmt)
            for names in NAMES:
                assert compare(path, names, {}), (seed, fmt, names, native.scan(path))


params = synth_params(n_ops=(100, 900), flink=False)
INJECT = [None, inject.inject_lost, inject.inject_duplicate, inject.inject_swap, inject.inject_skip]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(p=params, injections=st.lists(st.sampled_from(INJECT), max_size=3),
       fmt=st.sampled_from(["jsonl", "kfh", "dir"]), names=st.sampled_from(NAMES),
       opts=st.sampled_from(OPTS))
def test_generated_histories(tmp_path, p, injections, fmt, names, opts):
    p = dict(p)
    ops = copy.deepcopy(generate(p.pop("seed"), p.pop("n_ops"), **p).ops)
    rng = random.Random(len(ops))
    for f in injections:
        if f is not None:
            f(ops, rng=rng)
    # hypothesis reuses tmp_path across examples and seeds `random`: a fresh directory each
    path = write(Path(tempfile.mkdtemp(dir=tmp_path)), "g", ops, fmt)
    decided = compare(path, names, opts)
    if not injections and not p["txn"]:       # but an excess re-delivery is Python's
        assert decided or ("group" in names and "max_redelivery" in opts and
                           python_verdicts(path, ["group"], opts)["group"]["anomalies"])


def test_anomalies_go_to_the_python_checkers(tmp_path):
    ops = copy.deepcopy(generate(3, 800, txn=False).ops)
    assert inject.inject_lost(ops, rng=random.Random(1)) is not None
    path = write(tmp_path, "lost", ops, "kfh")
    assert native.check_path(path, ["lost"], {}) is None
    v = check_path(path, checkers=["lost"])["lost"]
    assert v.valid == "invalid" and v.counts()["lost"] >= 1 and v.anomalies["lost"].examples


def test_unported_checkers_and_the_switch_use_python(tmp_path, monkeypatch):
    path = write(tmp_path, "x", generate(4, 400, txn=False).ops, "jsonl")
    assert native.check_path(path, ["lost", "replay-isolation"], {}) is None
    assert native.check_path(path, ["lost"], {}) is not None
    monkeypatch.setenv("KFCHAOS_NATIVE", "0")
    assert native.check_path(path, ["lost"], {}) is None
    assert check_path(path, checkers=["lost"])["lost"].valid == "valid"


def _malformed(ops, k):
    """A copy of ``ops`` with one op made malformed in way ``k``."""
    ops = copy.deepcopy(ops)
    sends = [o for o in ops if o["f"] == "send"]
    polls = [o for o in ops if o["f"] == "poll" and o["type"] == "ok" and o["value"]["records"]]
    if k == 0:
        sends[5]["type"] = "done"
    elif k == 1:
        del sends[7]["value"]["id"]
    elif k == 2:
        polls[0]["value"]["records"][0]["offset"] = "x"
    elif k == 3:
        sends[3]["time"] = -1
    elif k == 4:
        polls[1]["value"]["records"][0]["value"] = {"id": 1.5}
    elif k == 5:
        ops[10]["wall"] = float("nan")
    elif k == 6:
        sends[2]["value"]["topic"] = None
    elif k == 7:
        [o for o in ops if o["f"] == "fault-start"][0]["value"].pop("fault_id")
    return ops


@pytest.mark.parametrize("k", range(8))
@pytest.mark.parametrize("fmt", ["jsonl", "kfh"])
def test_malformed_histories_raise_the_python_error(tmp_path, k, fmt):
    ops = _malformed(generate(5, 500, txn=False, faults=2, consumers=2).ops, k)
    path = write(tmp_path, f"m{k}", ops, fmt)
    with pytest.raises(HistoryError) as ref:
        HistoryIndex.from_path(path)
    with pytest.raises(HistoryError) as got:
        check_path(path, checkers=["lost", "duplicate"])
    assert str(got.value) == str(ref.value)


def test_odd_but_valid_text_is_read_as_python_reads_it(tmp_path):
    """Blank lines, a cut-short last line, escapes, big integers in free fields, keys in
    another order: whoever decides, the verdicts are Python's."""
    ops = generate(6, 400, txn=False).ops
    lines = [line_of(op) for op in ops]
    lines.insert(20, "")
    lines.insert(40, " ")
    odd = dict(ops[50], note="caf\u00e9 \\u00e9 \u2603")
    lines[50] = line_of(odd)
    lines.append('{"index": 99999, "proc')          # cut short by a crash
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    for names in NAMES:
        compare(path, names, {})
    reordered = tmp_path / "reordered.jsonl"
    reordered.write_text("".join(
        '{"value":%s,"time":%d,"f":"%s","type":"%s","process":"%s","index":%d,"big":%d}\n'
        % (json.dumps(op["value"], separators=(",", ":")), op["time"], op["f"], op["type"], op["process"],
           op["index"], 2 ** 80) for op in ops), encoding="utf-8")
    assert compare(reordered, ["lost", "duplicate"], {})
    assert os.path.getsize(reordered) > 0


def test_big_blocks_parsed_on_two_threads(tmp_path):
    """A frame or JSONL block over 256 KiB has its second half parsed on another thread:
    the same verdicts, anomalies handed over, a malformed op late in it the same error."""
    ops = generate(7, 4000, txn=False, consumers=2, faults=2).ops
    for fmt in ("jsonl", "kfh"):
        path = write(tmp_path, "big", ops, fmt, frame=len(ops))
        assert os.path.getsize(path) > 256 << 10 or fmt == "kfh"
        assert compare(path, ["lost", "duplicate"], {})
        damaged_ops = copy.deepcopy(ops)
        assert inject.inject_duplicate(damaged_ops, rng=random.Random(2)) is not None
        path = write(tmp_path, "big-dup", damaged_ops, fmt, frame=len(ops))
        assert not compare(path, ["lost", "duplicate"], {})
        bad = copy.deepcopy(ops)
        [o for o in bad if o["f"] == "send"][-10]["value"]["seq"] = "x"
        path = write(tmp_path, "big-bad", bad, fmt, frame=len(ops))
        with pytest.raises(HistoryError) as ref:
            HistoryIndex.from_path(path)
        with pytest.raises(HistoryError) as got:
            check_path(path, checkers=["lost"])
        assert str(got.value) == str(ref.value)


@pytest.mark.parametrize("page", [None, 1])
def test_a_final_read_with_two_ids_at_one_position(page, tmp_path):
    """The final read gives a position two ids, the second an unacknowledged write: Python
    counts it recovered (its final read holds both ids), and the core, whose table keeps
    the first id of a position, hands the history over instead of counting it otherwise."""
    from kfchaos.checkers.synth import Builder
    from kfchaos.history_pages import paginate
    b = Builder()
    b.send("a-0", o=0)
    b.send("a-1", type_="info")
    b.final([(0, 0, "a-0"), (0, 0, "a-1")])
    ops = b.ops if page is None else paginate(b.ops, page)
    path = tmp_path / "h.jsonl"
    path.write_text("".join(line_of(op) + "\n" for op in ops), encoding="utf-8")
    for names in (["lost"], ["duplicate"], ["lost", "duplicate"]):
        compare(path, names, {})
    assert python_verdicts(path, ["lost"], {})["lost"]["stats"]["recovered-unknown"] == 1

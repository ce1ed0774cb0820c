"""The chunked history file (history.kfh): exact round trips with JSON Lines, crash and
damage handling, and checkers streaming it agree with the in-memory checkers on the
equivalence corpus and on hypothesis-generated histories."""
import copy
import json
import os
import shutil
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfchaos import cli, history_chunks
from kfchaos.analyze import analyze_run, analyze_scenario
from kfchaos.checkers import check_all, index
from kfchaos.checkers.synth import generate
from kfchaos.history import History, HistoryError, history_file, iter_load, load
from kfchaos.report.series import series_from_path
from tests.unit.test_checkers_fastpaths import OPTS, damaged

SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def record(ops, path, **kw):
    """Write ``ops`` through the History writer (the live run path) to ``path``."""
    with History(path, **kw) as h:
        for op in ops:
            h.append(copy.deepcopy(op))
    return path


def write_jsonl(ops, path):
    with open(path, "w") as fh:
        for op in ops:
            fh.write(json.dumps(op, separators=(",", ":")) + "\n")
    return path


def verdicts_of(idx, opts=None):
    return {k: v.to_dict() for k, v in check_all(idx, **(opts or {})).items()}


# -- encoding round trips ----------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=12)
ops_strategy = st.lists(st.fixed_dictionaries({
    "process": st.sampled_from(["producer-0", "consumer-1", "nemesis", "é\u2603"]),
    "type": st.sampled_from(["invoke", "ok", "fail", "info"]),
    "f": st.sampled_from(["send", "poll", "note", "client-event", "x\ny"]),
    "value": json_values}), max_size=60)


@SETTINGS
@given(ops=ops_strategy, flush_every=st.integers(1, 20), codec=st.sampled_from([0, 1, None]))
def test_writer_round_trips_exactly(tmp_path_factory, ops, flush_every, codec):
    d = tmp_path_factory.mktemp("rt")
    kw = {"flush_every": flush_every, "flush_interval": 3600, "clock": lambda: (7, 1.5)}
    jsonl = d / "h.jsonl"
    with History(jsonl, **kw) as h:
        for op in ops:
            h.append(dict(op))
    kfh = d / "h.kfh"
    with History(kfh, **kw) as h:
        if codec is not None:
            h._file.codec, h._file._compress = codec, history_chunks._compressor(codec)
        for op in ops:
            h.append(dict(op))
    assert history_chunks.is_chunk_file(kfh) and not history_chunks.is_chunk_file(jsonl)
    assert history_chunks.export_jsonl(kfh, d / "e.jsonl") == len(ops)
    assert (d / "e.jsonl").read_bytes() == jsonl.read_bytes()        # byte for byte
    packed = d / "p.kfh"
    assert history_chunks.pack_jsonl(jsonl, packed, ops_per_frame=7) == len(ops)
    history_chunks.export_jsonl(packed, d / "e2.jsonl")
    assert (d / "e2.jsonl").read_bytes() == jsonl.read_bytes()
    sizes = [n for n, _ in history_chunks.iter_frames(kfh)]
    assert sum(sizes) == len(ops) and all(0 < n <= flush_every for n in sizes)


def test_valid_history_round_trips_and_loads_equal(tmp_path):
    ops = generate(4, 2000, flink=True, faults=2, txn=True).ops
    kfh = record(ops, tmp_path / "history.kfh")
    jsonl = record(ops, tmp_path / "history.jsonl")
    assert load(kfh) == load(jsonl) == ops
    assert list(iter_load(kfh)) == ops
    assert os.path.getsize(kfh) * 5 < os.path.getsize(jsonl)       # compact
    assert series_from_path(kfh) == series_from_path(jsonl)


def test_pack_skips_blank_lines_like_the_jsonl_reader(tmp_path):
    ops = generate(2, 300).ops
    text = "\n".join(json.dumps(o) for o in ops[:100]) + "\n\n \n" + \
        "\n".join(json.dumps(o) for o in ops[100:]) + "\n"
    (tmp_path / "h.jsonl").write_text(text)
    history_chunks.pack_jsonl(tmp_path / "h.jsonl", tmp_path / "h.kfh", ops_per_frame=64)
    assert load(tmp_path / "h.kfh") == load(tmp_path / "h.jsonl") == ops


def test_empty_and_header_only_files(tmp_path):
    with History(tmp_path / "history.kfh"):
        pass
    assert load(tmp_path / "history.kfh") == []
    assert len(index.HistoryIndex.from_path(tmp_path / "history.kfh")) == 0


def chunked(ops, path, per):
    """``ops`` as a chunk file of ``per`` ops a frame."""
    w = history_chunks.ChunkWriter(path)
    lines = [json.dumps(o, separators=(",", ":")) for o in ops]
    for i in range(0, len(lines), per):
        w.write(lines[i:i + per])
    w.close()
    return path


def _frames(path):
    """(offset, header size, body size) of every frame."""
    data = open(path, "rb").read()
    head = struct.Struct("<4sBIIII")
    at, out = len(history_chunks.MAGIC), []
    while at < len(data):
        comp = head.unpack_from(data, at)[4]
        out.append((at, head.size, comp))
        at += head.size + comp
    return data, out


def test_a_frame_cut_short_by_a_crash_ends_the_history(tmp_path):
    ops = generate(3, 400).ops[:400]
    path = chunked(ops, tmp_path / "history.kfh", 50)
    data, frames = _frames(path)
    assert len(frames) == 8
    at, hs, comp = frames[-1]
    kept = 350
    for cut in (at + 3, at + hs, at + hs + comp // 2):
        path.write_bytes(data[:cut])
        assert load(path) == ops[:kept]
        assert len(index.HistoryIndex.from_path(path)) == kept


def test_damage_is_an_error_naming_the_op(tmp_path):
    ops = generate(3, 400).ops
    path = chunked(ops, tmp_path / "history.kfh", 50)
    data, frames = _frames(path)
    at, hs, comp = frames[2]
    bad = bytearray(data)
    bad[at + hs + comp // 2] ^= 0xFF
    path.write_bytes(bytes(bad))
    for read in (load, index.HistoryIndex.from_path, lambda p: list(series_from_path(p).ops)):
        with pytest.raises(HistoryError, match=r"history\.kfh:101: frame checksum mismatch"):
            read(path)
    bad = bytearray(data)
    bad[at:at + 4] = b"XXXX"
    path.write_bytes(bytes(bad))
    with pytest.raises(HistoryError, match="damaged frame header"):
        load(path)


def test_a_malformed_op_inside_a_frame_is_located(tmp_path):
    ops = generate(3, 200).ops
    lines = [json.dumps(o) for o in ops]
    lines[57] = lines[57].replace('"type": "', '"type": "bogus-')
    w = history_chunks.ChunkWriter(tmp_path / "h.kfh")
    for i in range(0, len(lines), 40):
        w.write(lines[i:i + 40])
    w.close()       # op 58 (1-based) is in the second frame
    with pytest.raises(HistoryError, match=r"h\.kfh:58: "):
        load(tmp_path / "h.kfh")
    with pytest.raises(HistoryError, match=r"h\.kfh:58: "):
        index.HistoryIndex.from_path(tmp_path / "h.kfh")
    (tmp_path / "h.jsonl").write_text("\n".join(lines) + "\n")    # the report plots it, as from JSONL
    assert series_from_path(tmp_path / "h.kfh") == series_from_path(tmp_path / "h.jsonl")


# -- streaming checkers == in-memory checkers ------------------------------------------
@pytest.mark.parametrize("seed", range(24))
def test_equivalence_corpus_streamed_from_chunks(tmp_path, seed, monkeypatch):
    """The corpus of test_checkers_fastpaths (valid and damaged histories, every option
    set): verdicts from the chunk file, read in small batches, equal the in-memory ones."""
    ops = damaged(seed)
    opts = OPTS[seed % len(OPTS)]
    want = verdicts_of(index.HistoryIndex(copy.deepcopy(ops)), opts)
    path = history_chunks.pack_jsonl(write_jsonl(ops, tmp_path / "h.jsonl"), tmp_path / "h.kfh",
                                     ops_per_frame=1 + seed * 13) and tmp_path / "h.kfh"
    for chunk in (1 << 10, 1 << 22):
        assert verdicts_of(index.HistoryIndex.from_path(path, chunk_bytes=chunk), opts) == want
    assert verdicts_of(index.HistoryIndex.from_path(tmp_path / "h.jsonl"), opts) == want


params = st.fixed_dictionaries({
    "seed": st.integers(0, 2 ** 31 - 1), "n_ops": st.integers(100, 1200),
    "producers": st.integers(1, 4), "keys": st.integers(1, 8), "partitions": st.integers(1, 4),
    "consumers": st.integers(0, 3), "txn": st.booleans(), "faults": st.integers(0, 3),
    "flink": st.booleans(), "poll_size": st.integers(1, 20),
    "unknown_rate": st.sampled_from([0.0, 0.05, 0.3])})


@SETTINGS
@given(p=params, flush_every=st.integers(1, 300), damage=st.booleans())
def test_streaming_equals_in_memory_on_generated_histories(tmp_path_factory, p, flush_every, damage):
    import random
    from tests.unit.test_checkers_fastpaths import damage as damage_ops
    p = dict(p)
    ops = copy.deepcopy(generate(p.pop("seed"), p.pop("n_ops"), **p).ops)
    if damage:
        damage_ops(ops, random.Random(flush_every))
    path = record(ops, tmp_path_factory.mktemp("gen") / "history.kfh",
                  flush_every=flush_every, flush_interval=3600)
    try:
        got = verdicts_of(index.HistoryIndex.from_path(path, chunk_bytes=1 << 12))
    except HistoryError as e:    # damage made an op malformed (e.g. offset -1): JSONL says the same
        with pytest.raises(HistoryError) as jl:
            index.HistoryIndex.from_path(write_jsonl(ops, path.with_suffix(".jsonl")))
        assert str(e).split(":", 1)[1] == str(jl.value).split(":", 1)[1]
        return
    assert got == verdicts_of(index.HistoryIndex(copy.deepcopy(ops)))


# -- analyze, the CLI --------------------------------------------------------------
def test_analyze_reads_either_format_with_equal_results(tmp_path):
    ops = generate(9, 1500, flink=True, faults=2).ops
    a, b = tmp_path / "run-a" / "s1", tmp_path / "run-b" / "s1"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    record(ops, a / "history.kfh")
    record(ops, b / "history.jsonl")
    assert history_file(a).name == "history.kfh" and history_file(b).name == "history.jsonl"
    ra, va = analyze_scenario(a)
    rb, vb = analyze_scenario(b)
    assert {k: v.to_dict() for k, v in va.items()} == {k: v.to_dict() for k, v in vb.items()}
    assert ra.history == "s1/history.kfh" and rb.history == "s1/history.jsonl"
    da, db = analyze_run(a.parent).to_dict(), analyze_run(b.parent).to_dict()
    for d in (da, db):
        d.pop("profile")
        for s in d["scenarios"]:
            s.pop("history")
    assert da == db
    assert cli.main(["analyze", str(a)]) == cli.main(["analyze", str(b)])


def test_cli_exports_and_packs(tmp_path, capsys):
    ops = generate(1, 500).ops
    d = tmp_path / "s"
    d.mkdir()
    record(ops, d / "history.kfh")
    assert cli.main(["history", "export", str(d)]) == 0
    assert load(d / "history.jsonl") == ops
    assert f"{len(ops)} ops" in capsys.readouterr().out
    shutil.move(d / "history.kfh", tmp_path / "orig.kfh")
    assert cli.main(["history", "pack", str(d / "history.jsonl")]) == 0
    assert load(d / "history.kfh") == ops
    assert cli.main(["history", "pack", str(d / "history.kfh")]) == 2      # already packed
    assert cli.main(["history", "export", str(d / "history.kfh"), "-o",
                     str(d / "history.kfh")]) == 2                        # would overwrite
    assert load(d / "history.kfh") == ops


def test_a_frame_is_closed_at_flush_chars_whatever_the_op_count(tmp_path, monkeypatch):
    """Large ops (a final read's pages) close a frame by its text, so no frame holds many."""
    from kfchaos import history_writer
    monkeypatch.setattr(history_writer, "FLUSH_CHARS", 10_000)
    page = {"topic": "t", "page": 0, "records": [{"partition": 0, "offset": i, "value": None} for i in range(200)]}
    path = tmp_path / "h.kfh"
    with history_writer.History(path, flush_every=1000, flush_interval=3600) as h:
        for k in range(12):
            h.append({"process": "r", "type": "info", "f": "final-read-page", "value": dict(page, page=k)})
    frames = [(n, len(text)) for n, text in history_chunks.iter_frames(path)]
    assert sum(n for n, _ in frames) == 12 and len(frames) >= 4, frames
    assert all(chars < 10_000 + 2 * len(json.dumps(page)) for _, chars in frames), frames

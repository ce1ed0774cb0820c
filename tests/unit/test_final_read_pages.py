"""Final reads written in pages (kfchaos.history_pages): a paged history and the same history
unpaged give the same verdicts (every default checker, the output contract), from memory, a
history.jsonl and a history.kfh; every malformed paging is a HistoryError naming the op; the
compiled core assembles well-formed paged final reads page by page, to the same verdicts, and
hands malformed paging to the Python path."""
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kfchaos.checkers import check_all, check_path, exactly_once, native
from kfchaos.checkers.index import HistoryIndex
from kfchaos.checkers.synth import Builder, generate
from kfchaos.history import History, HistoryError, load
from kfchaos.history_chunks import export_jsonl, pack_jsonl
from kfchaos.history_codec import line_of
from kfchaos.history_pages import assemble, has_pages, paginate
from kfchaos.history_schema import check_op

from .test_checkers_fastpaths import OPTS, damaged


def _translate(x, index_of):
    """``x`` with every ``"index"`` value mapped through ``index_of``."""
    if isinstance(x, dict):
        return {k: (index_of.get(v, v) if k == "index" else _translate(v, index_of)) for k, v in x.items()}
    if isinstance(x, list):
        return [_translate(v, index_of) for v in x]
    return x


def _index_map(paged, ops):
    """Paged op index -> the same op's index in the unpaged history."""
    kept = [op for op in paged if not op["f"].endswith("-page")]
    assert len(kept) == len(ops)
    return {a["index"]: b["index"] for a, b in zip(kept, ops)}


def _verdicts(history, opts):
    return {k: v.to_dict() for k, v in check_all(history, **opts).items()}


def _write(path, ops):
    path.write_text("".join(line_of(op) + "\n" for op in ops), encoding="utf-8")
    return path


def _same_verdicts(ops, paged, opts):
    want = _verdicts(HistoryIndex(copy.deepcopy(ops)), opts)
    got = _translate(_verdicts(HistoryIndex(paged), opts), _index_map(paged, ops))
    assert got == want


@pytest.mark.parametrize("seed", range(16))
def test_paged_and_unpaged_give_the_same_verdicts(seed):
    ops = damaged(seed)
    for size in (1, 7, 100):
        paged = paginate(copy.deepcopy(ops), size)
        assert has_pages(paged) or max(len(op["value"]["records"]) for op in ops
                                       if op["f"] == "final-read" and op["type"] == "ok") <= size
        _same_verdicts(ops, paged, OPTS[seed % len(OPTS)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), size=st.integers(1, 400), flink=st.booleans(),
       partitions=st.integers(1, 4))
def test_any_page_size_changes_nothing(seed, size, flink, partitions):
    ops = generate(seed, 600, partitions=partitions, flink=flink, faults=1).ops
    paged = paginate(copy.deepcopy(ops), size)
    index_of = _index_map(paged, ops)
    assert [_translate(op, index_of) for op in assemble(paged)] == ops
    _same_verdicts(ops, paged, {})


def _output_history(n, page=None):
    b = Builder()
    for i in range(n):
        b.send(f"o-{i}", key=f"c{i % 3}", seq=i, o=i, topic="in")
    recs = [{"partition": i % 2, "offset": i // 2, "key": None, "value": {"orderId": f"o-{i}"},
             "headers": {"h": str(i)}} for i in range(n) if i != 5]
    recs.append(dict(recs[0], offset=1000))   # one duplicate: the verdict has something to say
    b.op("final-reader", "ok", "output-read", {"topic": "out", "isolation": "read_committed",
                                               "records": recs})
    return b.ops if page is None else paginate(b.ops, page)


def test_the_output_contract_reads_the_assembled_output_read():
    ops = _output_history(40)
    paged = _output_history(40, page=6)
    assert sum(op["f"] == "output-read-page" for op in paged) == 6
    opts = dict(input_topic="in", output_topic="out", output_contract="exactly-once-by-id",
                id_field="orderId")
    want = exactly_once.check(HistoryIndex(ops), **opts).to_dict()
    got = exactly_once.check(HistoryIndex(paged), **opts).to_dict()
    assert _translate(got, _index_map(paged, ops)) == want
    assert want["valid"] == "invalid" and set(want["anomalies"]) == {"missing-output", "duplicate-output"}
    assert HistoryIndex(paged).get("output-read")[0]["value"] == ops[-1]["value"]


def test_jsonl_and_chunk_file_carry_the_pages(tmp_path):
    ops = generate(3, 1500, flink=True, faults=2).ops
    paged = paginate(copy.deepcopy(ops), 25)
    jsonl = _write(tmp_path / "history.jsonl", paged)
    kfh = tmp_path / "history.kfh"
    pack_jsonl(jsonl, kfh, ops_per_frame=64)
    back = tmp_path / "back.jsonl"
    export_jsonl(kfh, back)
    assert back.read_bytes() == jsonl.read_bytes()
    assert load(kfh) == paged                   # the loaders give the ops as written
    want = _verdicts(HistoryIndex(copy.deepcopy(ops)), {})
    for path in (jsonl, kfh):
        for chunk in (1 << 12, 1 << 22):
            got = _verdicts(HistoryIndex.from_path(path, chunk_bytes=chunk), {})
            assert _translate(got, _index_map(paged, ops)) == want


# -- malformed paging --------------------------------------------------------------------
def _paged_read(n_pages=3, topic="t"):
    b = Builder()
    b.send("a-0", topic=topic, o=0)
    recs = [(0, i, f"a-{i}") for i in range(n_pages * 2 + 1)]
    b.final(recs, topic=topic)
    return paginate(b.ops, 2)


def _swap(ops, i, j):
    ops[i], ops[j] = ops[j], ops[i]
    return ops


def _malformed():
    """(name, ops, the ordinal of the op named, words of the message)."""
    base = _paged_read()        # send invoke, send ok, pages 0 1 2 (ops 2-4), final (pages=3, op 5)
    assert [op["f"] for op in base] == ["send"] * 2 + ["final-read-page"] * 3 + ["final-read"]
    missing = copy.deepcopy(base)
    del missing[3]
    other = copy.deepcopy(base)
    other[4]["value"].update(topic="u", page=0)
    no_key = copy.deepcopy(base)
    del no_key[-1]["value"]["pages"]
    no_pages = copy.deepcopy(base)
    del no_pages[2:5]
    too_many = copy.deepcopy(base)
    too_many[-1]["value"]["pages"] = 4
    return [
        ("out of order", _swap(copy.deepcopy(base), 2, 3), 2, ["page 1", "follows 0 page(s)", "expected page 0"]),
        ("a page missing", missing, 3, ["page 2", "follows 1 page(s)", "expected page 1"]),
        ("a page of another topic", other, 5, ["says pages=3 after 2 page op(s)", "pending pages of topic 'u'"]),
        ("no pages key", no_key, 5, ['has no "pages" after 3 page op(s)']),
        ("pages but no page ops", no_pages, 2, ["says pages=3 after 0 page op(s)"]),
        ("pages count too high", too_many, 5, ["says pages=4 after 3 page op(s)"]),
    ]


@pytest.mark.parametrize("name, ops, ordinal, words", _malformed(), ids=[m[0] for m in _malformed()])
def test_malformed_paging_is_a_history_error(name, ops, ordinal, words, tmp_path):
    for op in ops:
        assert check_op(op) is None                 # each op alone is well-formed
    with pytest.raises(HistoryError) as e:
        HistoryIndex(ops)
    assert e.value.ordinal == ordinal and str(e.value).startswith(f"op {ordinal}: "), str(e.value)
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    path = _write(tmp_path / "history.jsonl", ops)
    with pytest.raises(HistoryError) as e2:
        HistoryIndex.from_path(path)
    assert str(e2.value).startswith(f"{path}:{ordinal + 1}: "), str(e2.value)
    with pytest.raises(HistoryError):
        list(assemble(ops))
    assert isinstance(native.scan(path), str)        # the core hands it over
    with pytest.raises(HistoryError) as e3:
        check_path(path, checkers=["lost", "duplicate"])
    assert str(e3.value) == str(e2.value)


def test_a_read_cut_off_by_the_end_of_the_history_is_no_final_read(tmp_path):
    """A process killed mid-read leaves pages and no final op: the read is unfinished, so the
    topic has no final read and lost is unknown, never a refused history or a failure."""
    ops = _paged_read()[:-1]
    idx = HistoryIndex(copy.deepcopy(ops)).finish()
    assert idx.final_read("t") is None and idx.counts.get("final-read-info") == 1
    lost = check_all(idx, checkers=["lost"])["lost"]
    assert lost.valid == "unknown" and "no final read of t" in lost.reason, lost.to_dict()
    (cut,) = [op for op in assemble(ops) if op["f"] == "final-read"]
    assert cut["type"] == "info" and cut["value"]["incomplete"] and "3 page(s)" in cut["value"]["error"]
    path = _write(tmp_path / "history.jsonl", ops)
    assert check_path(path, checkers=["lost"])["lost"].to_dict() == lost.to_dict()


def test_page_ops_and_the_pages_field_are_typed():
    page = {"index": 0, "process": "r", "type": "info", "f": "final-read-page", "time": 1,
            "value": {"topic": "t", "page": 0, "records": [{"partition": 0, "offset": 0, "value": None}]}}
    assert check_op(page) is None
    for bad, word in ((dict(page["value"], page="0"), "value.page"), ({"topic": "t", "page": 0}, '"records"'),
                      (dict(page["value"], records=[{"offset": 1}]), "value.records[0]")):
        what = check_op(dict(page, value=bad))
        assert what is not None and word in what[0], what
    final = {"index": 1, "process": "r", "type": "ok", "f": "final-read", "time": 1,
             "value": {"topic": "t", "records": [], "pages": "2"}}
    assert "value.pages" in check_op(final)[0]
    assert "value.pages" in check_op(dict(final, f="output-read"))[0]
    assert "value.pages" in check_op(dict(final, type="info"))[0]


# -- the compiled core -------------------------------------------------------------------
def _native_and_python(path, names):
    """The core's verdicts (None: handed over) and the Python path's, as dicts."""
    got = native.check_path(path, names, {})
    want = _verdicts(HistoryIndex.from_path(path), {"checkers": names})
    return (None if got is None else {k: v.to_dict() for k, v in got.items()}), want


NATIVE_NAMES = (["lost"], ["duplicate"], ["lost", "duplicate"], ["offsets"],
                ["lost", "duplicate", "offsets", "ordering"])


@pytest.mark.parametrize("size", [1, 7, 50, 1000])
def test_native_decides_paged_histories(size, tmp_path, monkeypatch):
    """A well-formed paged history is decided by the core, with the Python verdicts, which
    are the unpaged history's; in both file formats."""
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)
    assert native.available(), "kfchaos/_native.abi3.so is missing: run scripts/build_native.sh"
    ops = generate(11, 1200, partitions=3, faults=1, txn=False).ops
    paged = paginate(copy.deepcopy(ops), size)
    assert has_pages(paged) == (size < 1000)
    jsonl = _write(tmp_path / "paged.jsonl", paged)
    kfh = tmp_path / "paged.kfh"
    pack_jsonl(jsonl, kfh, ops_per_frame=64)
    for path in (jsonl, kfh):
        assert isinstance(native.scan(path), dict), native.scan(path)
        for names in NATIVE_NAMES:
            got, want = _native_and_python(path, names)
            assert got == want, (path, names)
            unpaged = _verdicts(HistoryIndex(copy.deepcopy(ops)), {"checkers": names})
            assert _translate(got, _index_map(paged, ops)) == unpaged


def _two_readers(ops, rng):
    """``ops`` with every ok final read read twice more, by two other processes (isolation,
    records dropped and page size drawn), their pages interleaved with the first read's."""
    out = []
    for op in ops:
        if op["f"] != "final-read" or op["type"] != "ok":
            out.append(op)
            continue
        reads = [[op]]
        for proc in ("reader-2", "reader-3"):
            v = dict(op["value"], isolation=rng.choice(["read_committed", "read_uncommitted", None]))
            recs = list(v["records"])
            if recs and rng.random() < 0.3:
                del recs[rng.randrange(len(recs))]
            v["records"] = recs
            reads.append([dict(op, process=proc, value=v)])
        reads = [paginate(copy.deepcopy(r), rng.randint(1, 60)) for r in reads]
        while any(reads):                       # each read's ops in order, reads interleaved
            r = rng.choice([r for r in reads if r])
            out.append(r.pop(0))
    return [dict(op, index=k) for k, op in enumerate(out)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), size=st.integers(1, 300), partitions=st.integers(1, 4),
       readers=st.booleans())
def test_native_paged_equivalence(seed, size, partitions, readers, tmp_path):
    """Any page size, several readers of a topic with their pages interleaved: the core
    gives the Python verdicts, and decides whenever it decides the unpaged history."""
    import random
    ops = copy.deepcopy(generate(seed, 500, partitions=partitions, faults=1, txn=False).ops)
    plain = _write(tmp_path / f"plain-{seed}.jsonl", ops)
    hist = _two_readers(ops, random.Random(seed)) if readers else paginate(copy.deepcopy(ops), size)
    paged = _write(tmp_path / f"paged-{seed}.jsonl", hist)
    for names in NATIVE_NAMES:
        got, want = _native_and_python(paged, names)
        assert got is None or got == want, names
        if not readers:
            assert (got is None) == (native.check_path(plain, names, {}) is None) or not has_pages(hist)
    if not readers and has_pages(hist):
        assert isinstance(native.scan(paged), dict)


def test_native_decides_interleaved_readers(tmp_path):
    """Three readers of each topic, their pages interleaved: the core picks the same
    authoritative read as Python (the last read_committed, else the last) and decides."""
    import random
    decided = 0
    for seed in range(8):
        ops = copy.deepcopy(generate(seed, 500, partitions=2, faults=1, txn=False).ops)
        path = _write(tmp_path / f"r{seed}.jsonl", _two_readers(ops, random.Random(seed)))
        got, want = _native_and_python(path, ["lost", "duplicate"])
        assert got is None or got == want, seed
        decided += got is not None
    assert decided >= 5, decided


def _closed_by_info(ops, size, pages_said=None):
    """``ops`` paged, the last read's final op replaced by the ``info`` op a read that
    raised writes (``pages``: its page count, or ``pages_said``)."""
    paged = paginate(copy.deepcopy(ops), size)
    last = paged[-1]
    assert last["f"] == "final-read" and last["value"]["pages"] > 0
    n = last["value"]["pages"] if pages_said is None else pages_said
    paged[-1] = dict(last, type="info", value={"topic": last["value"]["topic"], "records": [],
                                               "pages": n, "incomplete": True, "error": "boom"})
    return paged


def test_native_decides_a_read_closed_by_an_info_op(tmp_path, monkeypatch):
    """A read that raised after its pages closes them with an info final op (the client
    does): the core drops the read as Python does, and decides; an info op whose pages do
    not add up is the Python HistoryError."""
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)
    ops = [op for op in generate(11, 1200, partitions=3, faults=1, txn=False).ops
           if not op["f"].startswith("fault")]
    reads = [k for k, op in enumerate(ops) if op["f"] == "final-read"]
    ops = ops[:reads[-1] + 1]                            # the history ends with the last read
    info = copy.deepcopy(ops)                            # a final op (not ok) with pages only
    info.append(dict(info[-1], index=len(info), type="info", value={"topic": "t", "pages": 0}))
    for name, hist in {"closed": _closed_by_info(ops, 50), "info-with-pages-0": info,
                       "null-value": info[:-1] + [dict(info[-1], value=None)]}.items():
        path = _write(tmp_path / f"{name}.jsonl", hist)
        assert isinstance(native.scan(path), dict), (name, native.scan(path))
        for names in NATIVE_NAMES:
            got, want = _native_and_python(path, names)
            assert got == want, (name, names)
    bad = _write(tmp_path / "bad.jsonl", _closed_by_info(ops, 50, pages_said=1))
    assert isinstance(native.scan(bad), str)
    with pytest.raises(HistoryError) as want:
        HistoryIndex.from_path(bad)
    with pytest.raises(HistoryError) as got:
        check_path(bad, checkers=["lost", "duplicate"])
    assert str(got.value) == str(want.value)


def test_native_hands_other_pages_to_python(tmp_path, monkeypatch):
    """output-read pages and pages left without their final op are Python's: the core
    hands the history over, the verdicts are the Python path's."""
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)
    ops = generate(11, 1200, partitions=3, faults=1, txn=False).ops
    variants = {}
    out = copy.deepcopy(ops)
    out.append({**ops[-1], "index": len(out), "f": "output-read",
                "value": {"topic": "o", "records": [], "pages": 0}})
    variants["output-read-with-pages"] = (out, "output-read")
    cut = paginate(copy.deepcopy(ops), 50)
    page = cut[-2]                                       # a page 0 of another reader, then the end
    cut.append(dict(page, index=len(cut), process="reader-2", value=dict(page["value"], page=0)))
    variants["pages-without-final-op"] = (cut, "final op")
    for name, (hist, word) in variants.items():
        path = _write(tmp_path / f"{name}.jsonl", hist)
        reason = native.scan(path)
        assert isinstance(reason, str) and word in reason, (name, reason)
        for names in NATIVE_NAMES:
            got = {k: v.to_dict() for k, v in check_path(path, checkers=names).items()}
            assert got == _verdicts(HistoryIndex.from_path(path), {"checkers": names}), name


def test_a_json_line_never_holds_more_than_a_page():
    ops = generate(2, 900).ops
    paged = paginate(ops, 10)
    lengths = [len(op["value"]["records"]) for op in paged
               if op["f"] in ("final-read", "final-read-page") and op["type"] in ("ok", "info")]
    assert lengths and max(lengths) <= 10
    assert json.loads(line_of(paged[-1]))["value"]["pages"] == sum(op["f"] == "final-read-page" for op in paged)


# -- the client's pager (no broker needed: it only appends ops) ------------------------------
def _pager(n, size):
    from kfchaos.clients.final_read import _Pager
    from kfchaos.history import History
    h = History()
    pager = _Pager(h, "final-reader", "final-read-page", "t", size)
    for o in range(n):
        pager.add({"partition": o % 2, "offset": o, "value": None})
    return h, pager


def test_the_client_writes_a_page_only_when_another_record_follows_a_full_one():
    h, pager = _pager(6, 3)
    assert [len(op["value"]["records"]) for op in h.ops] == [3] and pager.records and len(pager.records) == 3
    h, pager = _pager(7, 3)
    assert [op["value"]["page"] for op in h.ops] == [0, 1] and len(pager.records) == 1
    assert [r["partition"] for r in h.ops[0]["value"]["records"]] == [0, 0, 1]     # sorted


def test_a_read_that_raises_closes_its_pages_with_an_info_op():
    h, pager = _pager(5, 2)
    pager.abandon(RuntimeError("broker gone"))
    last = h.ops[-1]
    assert (last["f"], last["type"], last["value"]["pages"]) == ("final-read", "info", 2)
    assert "broker gone" in last["value"]["error"]
    idx = HistoryIndex(h.ops)              # well-formed: the topic simply has no final read
    assert idx.final_read("t") is None and idx.counts["final-read-info"] == 1
    h, pager = _pager(2, 2)
    pager.abandon(RuntimeError("x"))
    assert h.ops == []                     # no page written: nothing to close


def test_the_reader_keeps_at_most_one_page_of_records():
    """Pages are written as they fill and dropped: the reader holds fewer than one page of
    records however many it read, and counts the records it wrote away."""
    from kfchaos.clients.final_read import _Pager
    h = History(keep=True)
    pager = _Pager(h, "final-reader", "final-read-page", "t", size=100)
    for i in range(1050):
        pager.add({"partition": 0, "offset": i, "key": None, "value": f"a-{i}"})
        assert len(pager.records) <= 100
    assert (pager.pages, pager.paged, len(pager.records)) == (10, 1000, 50)
    assert [op["value"]["page"] for op in h.ops] == list(range(10))

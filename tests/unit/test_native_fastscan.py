"""The compiled core reads the writer's own lines with a fixed-form scanner and every other
line with serde_json: the same history written in the writer's form, with its keys in
another order, with whitespace or with escaped strings scans to the same result, and a
line of the writer's form with an integer beyond 64 bits or a repeated key goes where
the general parser sends it (decided natively when that parser accepts it, else handed to
the Python path), the verdicts always Python's."""
import copy
import json
import random

import pytest

from kfchaos.checkers import check_path, native
from kfchaos.checkers.index import HistoryIndex
from kfchaos.checkers.synth import generate
from kfchaos.history_chunks import ChunkWriter
from kfchaos.history_codec import line_of
from kfchaos.history_schema import HistoryError

from .test_native import compare, write


def _ops(seed=11):
    return copy.deepcopy(generate(seed, 700, producers=3, partitions=3, consumers=2, txn=False,
                                  faults=1, unknown_rate=0.1).ops)


def _reordered(op):
    """``op``'s JSON with every object's keys in reverse order."""
    def rev(x):
        if isinstance(x, dict):
            return {k: rev(x[k]) for k in reversed(list(x))}
        if isinstance(x, list):
            return [rev(v) for v in x]
        return x
    return json.dumps(rev(op), separators=(",", ":"))


def _escaped(op):
    """``op``'s JSON in the writer's layout with each string's first letter as a \\u escape."""
    return json.dumps(op, separators=(",", ":")).replace('"p', '"\\u0070').replace('"t', '"\\u0074')


FORMS = {
    "writer": line_of,
    "reordered": _reordered,
    "spaced": json.dumps,                                    # ", " and ": " separators
    "escaped": _escaped,
}


def _write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _comparable(r):
    """A scan result without the text of the undigested lines (parsed instead), its last
    wall parsed, its series as the answers to a few questions."""
    assert isinstance(r, dict), r
    s = r["series"]
    send_ok, recs, n = s.phase(-1, 2 ** 63)
    topics = sorted(s.polled_topics())
    series = (len(s), send_ok, recs, n, s.latencies(-1, 2 ** 63, [0, n // 2, n - 1]) if n else None,
              s.first_send_after(-1), s.first_poll_after(-1), s.invoked_after(-1), topics,
              [s.first_topic_poll_after(t, -1) for t in topics])
    wall = None if r["last_wall"] is None else json.loads(r["last_wall"])
    return dict(r, small=[(i, json.loads(b)) for i, b in r["small"]], series=series, last_wall=wall)


def test_every_form_of_a_history_scans_alike(tmp_path):
    ops = _ops()
    assert "\\u" not in "".join(map(line_of, ops))          # the writer's form has no escapes
    scans = {}
    for name, form in FORMS.items():
        path = _write_lines(tmp_path / f"{name}.jsonl", [form(op) for op in ops])
        assert compare(path, ["lost", "duplicate"], {}), name
        scans[name] = _comparable(native.scan(path))
    assert scans["writer"]["n"] == len(ops)
    for name, r in scans.items():
        assert r == scans["writer"], name


def test_forms_mixed_line_by_line_scan_alike(tmp_path):
    """Every line in a form of its own (fast and general parsing interleaved, in big
    blocks parsed on two threads too)."""
    ops = _ops(12)
    rng = random.Random(3)
    lines = [rng.choice(list(FORMS.values()))(op) for op in ops]
    mixed = native.scan(_write_lines(tmp_path / "mixed.jsonl", lines))
    plain = native.scan(write(tmp_path, "plain", ops, "kfh", frame=len(ops)))
    assert _comparable(mixed) == _comparable(plain)


def _edit_line(ops, pick, old, new):
    """The writer's lines of ``ops`` with ``old`` replaced by ``new`` in the first op
    ``pick`` accepts (``old`` must occur there)."""
    lines = [line_of(op) for op in ops]
    k = next(i for i, op in enumerate(ops) if pick(op))
    assert old in lines[k], (old, lines[k])
    lines[k] = lines[k].replace(old, new, 1)
    return lines


def _poll_with_records(op):
    return op["f"] == "poll" and op["type"] == "ok" and bool(op["value"]["records"])


def _send_ok(op):
    return op["f"] == "send" and op["type"] == "ok"


CASES = [
    # (what, op picked, text replaced, replacement, decided natively / "error": malformed)
    ("seq beyond 64 bits", _send_ok, '"seq":', f'"seq":{2 ** 64},"seq0":', False),
    ("repeated seq in a send", _send_ok, '"seq":', '"seq":1,"seq":', False),
    ("repeated offset in a record", _poll_with_records, '"offset":', '"offset":0,"offset":', False),
    ("repeated id in a record's value", _poll_with_records, '"value":{"id":', '"value":{"id":"x","id":', True),
    ("ignored field beyond 64 bits in a record's value", _poll_with_records, '"value":{',
     f'"value":{{"big":{2 ** 70},', True),
    ("partition beyond 32 bits in a record", _poll_with_records, '"partition":', f'"partition":{2 ** 32},"p0":', "error"),
    ("index beyond 64 bits", _send_ok, '"index":', f'"index":{2 ** 64},"i0":', False),
]


@pytest.mark.parametrize("what,pick,old,new,decided", CASES, ids=[c[0] for c in CASES])
def test_writer_form_lines_out_of_the_fast_form(tmp_path, what, pick, old, new, decided):
    """Each edited line leaves the fast form; the general parser decides as it did before
    the fast scanner existed (natively, or handing the file to Python), and the verdicts
    are the Python checkers' (or, for a malformed op, the Python reader's error)."""
    lines = _edit_line(_ops(), pick, old, new)
    for fmt in ("jsonl", "kfh"):
        if fmt == "jsonl":
            path = _write_lines(tmp_path / "e.jsonl", lines)
        else:
            path = tmp_path / "e.kfh"
            w = ChunkWriter(path)
            w.write(lines)
            w.close()
        r = native.scan(path)
        if decided == "error":
            with pytest.raises(HistoryError) as ref:
                HistoryIndex.from_path(path)
            with pytest.raises(HistoryError) as err:
                check_path(path, checkers=["lost", "duplicate"])
            assert str(err.value) == str(ref.value) and isinstance(r, str)
            continue
        got = compare(path, ["lost", "duplicate"], {})
        if decided:
            assert isinstance(r, dict) and got, (what, r)
        else:
            assert not got and isinstance(r, str), (what, r)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_final_read_with_pages_is_assembled_in_every_form(form, tmp_path):
    """The scanner reads a final read's pages as the general parser does: a paged history
    scans to what its writer's form scans to and gives the Python verdicts, and a final
    read that claims pages with none before it is the Python reader's HistoryError,
    whatever the line's form."""
    from kfchaos.history_pages import paginate
    ops = _ops()
    paged = paginate(copy.deepcopy(ops), 100)
    assert any(op["f"] == "final-read-page" for op in paged)
    path = _write_lines(tmp_path / "paged.jsonl", map(FORMS[form], paged))
    writer = _write_lines(tmp_path / "writer.jsonl", map(line_of, paged))
    assert _comparable(native.scan(str(path))) == _comparable(native.scan(str(writer)))
    assert compare(path, ["lost", "duplicate"], {}), form
    claimed = [op for op in paged if op["f"] != "final-read-page"]
    assert any("pages" in (op.get("value") or {}) for op in claimed if op["f"] == "final-read")
    path = _write_lines(tmp_path / "claimed.jsonl", map(FORMS[form], claimed))
    with pytest.raises(HistoryError) as want:
        HistoryIndex.from_path(str(path))
    with pytest.raises(HistoryError) as got:
        check_path(str(path), checkers=["lost", "duplicate"])
    assert str(got.value) == str(want.value)

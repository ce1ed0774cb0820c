"""History loading validates every op once and names the file and line of the first bad one."""
import copy
import json
import logging
import re

import pytest

from kfchaos.checkers import check_all
from kfchaos.checkers.index import HistoryIndex
from kfchaos.checkers.synth import generate
from kfchaos.history import HistoryError, iter_load, load
from kfchaos.history_schema import SCHEMA, check_op

MESSAGE = re.compile(r"^(?P<path>\S+):(?P<line>\d+): (?P<what>.+) \((?P<expected>.+)\)$")


@pytest.fixture(scope="module")
def sim_ops():
    return generate(11, 1200, flink=True, faults=2).ops


def write(path, ops, extra_lines=()):
    lines = [json.dumps(op) for op in ops]
    for at, text in extra_lines:
        lines.insert(at, text)
    path.write_text("\n".join(lines) + "\n")
    return path


def every_loader(path):
    """The error (or None) of each loader on ``path``."""
    out = {}
    for name, fn in (("load", load), ("iter_load", lambda p: list(iter_load(p))),
                     ("from_path", HistoryIndex.from_path),
                     ("from_path-small", lambda p: HistoryIndex.from_path(p, chunk_bytes=2048))):
        try:
            fn(path)
            out[name] = None
        except HistoryError as e:
            out[name] = str(e)
    return out


def the_error(path):
    errs = every_loader(path)
    assert len(set(errs.values())) == 1, errs
    msg = errs["load"]
    assert msg is not None and "\n" not in msg
    m = MESSAGE.match(msg)
    assert m and m["path"] == str(path), msg
    return int(m["line"]), m["what"], m["expected"]


def test_valid_history_loads_the_same_everywhere(tmp_path, sim_ops):
    path = write(tmp_path / "history.jsonl", sim_ops)
    assert load(path) == sim_ops == list(iter_load(path))
    assert set(every_loader(path).values()) == {None}
    assert len(HistoryIndex.from_path(path)) == len(sim_ops)


def with_op(sim_ops, i, change):
    ops = json.loads(json.dumps(sim_ops))     # (the simulator shares value dicts)
    change(ops[i])
    return ops


def first(ops, f, type_="ok"):
    return next(i for i, op in enumerate(ops) if op["f"] == f and op["type"] == type_)


def test_unknown_type_is_an_error_naming_the_line(tmp_path, sim_ops):
    i = first(sim_ops, "send")
    ops = with_op(sim_ops, i, lambda op: op.update(type="done"))
    line, what, expected = the_error(write(tmp_path / "h.jsonl", ops))
    assert line == i + 1
    assert what == "op type 'done' is unknown"
    assert expected == "expected one of invoke, ok, fail, info"


MISTYPED = [
    ("send", "ok", lambda v: v.update(id=["a"]), "value.id"),
    ("send", "ok", lambda v: v.update(offset="7"), "value.offset"),
    ("send", "invoke", lambda v: v.pop("seq"), 'no "seq"'),
    ("send", "invoke", lambda v: v.update(topic=3), "value.topic"),
    ("poll", "ok", lambda v: v["records"][0].update(offset=1.5), "records[0].offset"),
    ("poll", "ok", lambda v: v["records"][0].pop("partition"), 'records[0] has no "partition"'),
    ("poll", "ok", lambda v: v["records"][0]["value"].update(id={"x": 1}), "records[0].value"),
    ("poll", "ok", lambda v: v.pop("records"), 'no "records"'),
    ("commit", "invoke", lambda v: v.update(offsets={"zero": 1}), "value.offsets"),
    ("commit", "ok", lambda v: v.update(offsets=[1, 2]), "value.offsets"),
    ("assign", "ok", lambda v: v.update(partitions=["0"]), "value.partitions[0]"),
    ("txn", "ok", lambda v: v["sends"][0].update(seq="1"), "value.sends[0].seq"),
    ("txn", "invoke", lambda v: v.update(sends=None), "value.sends"),
    ("final-read", "ok", lambda v: v["records"][3].update(partition=-1), "records[3].partition"),
    ("final-read", "ok", lambda v: v.update(end_offsets={"0": "9"}), "value.end_offsets"),
    ("fault-start", "invoke", lambda v: v.pop("fault_id"), 'no "fault_id"'),
    ("deploy", "ok", lambda v: v.update(output_topic=["out"]), "value.output_topic"),
]


@pytest.mark.parametrize("f,type_,change,where", MISTYPED)
def test_mistyped_fields_are_errors(tmp_path, sim_ops, f, type_, change, where):
    i = first(sim_ops, f, type_)
    ops = with_op(sim_ops, i, lambda op: change(op["value"]))
    line, what, expected = the_error(write(tmp_path / "h.jsonl", ops))
    assert line == i + 1
    assert what.startswith(f"{f} {type_} ") and where in what, what
    assert "expected" in expected and "(" not in expected, expected


@pytest.mark.parametrize("change,what", [
    (lambda op: op.update(time=1.5), "op time is 1.5"),
    (lambda op: op.update(time=2 ** 64), "op time is"),
    (lambda op: op.pop("index"), "op has no index"),
    (lambda op: op.update(process=None), "op process is None"),
    (lambda op: op.update(f=7), "op f is 7"),
    (lambda op: op.update(wall=float("nan")), "op wall is nan"),
    (lambda op: op.update(value=[1]), "send invoke value is [1]"),
    (lambda op: op.pop("value"), "send invoke op has no value"),
])
def test_envelope_errors(tmp_path, sim_ops, change, what):
    i = first(sim_ops, "send", "invoke")
    ops = with_op(sim_ops, i, change)
    line, got, _ = the_error(write(tmp_path / "h.jsonl", ops))
    assert line == i + 1 and got.startswith(what), got


def test_line_numbers_count_blank_lines(tmp_path, sim_ops):
    ops = with_op(sim_ops, 5, lambda op: op.update(type="nope"))
    path = tmp_path / "h.jsonl"
    lines = [json.dumps(op) for op in ops]
    path.write_text("\n\n" + "\n".join(lines[:5]) + "\n \n\n" + "\n".join(lines[5:]) + "\n")
    assert the_error(path)[0] == 2 + 5 + 2 + 1


@pytest.mark.parametrize("garbage,what", [
    ('{"index": 3, "proc', "not valid JSON"),
    ("\x00\x00\x00", "not valid JSON"),
    ("\udcff\udcfe binary \udc80", "not valid JSON"),
    ("[" * 100_000, "JSON nested too deeply"),
])
def test_corrupt_line_in_the_middle_is_an_error(tmp_path, sim_ops, garbage, what):
    path = tmp_path / "h.jsonl"
    text = "\n".join(json.dumps(op) for op in sim_ops[:50])
    path.write_bytes((text + "\n" + garbage + "\n" + json.dumps(sim_ops[50]) + "\n")
                     .encode("utf-8", "surrogateescape"))
    line, got, expected = the_error(path)
    assert line == 51 and got.startswith(what) and "last line" in expected


def test_invalid_utf8_and_lone_surrogates_inside_strings(tmp_path, sim_ops):
    path = tmp_path / "h.jsonl"
    good = [json.dumps(op) for op in sim_ops[:4]]
    bad = good[1].replace('"process": "', '"process": "\udcff', 1)
    assert bad != good[1]
    path.write_bytes("\n".join([good[0], bad, good[2]]).encode("utf-8", "surrogateescape"))
    assert the_error(path)[0] == 2
    escaped = good[1].replace('"process": "', '"process": "\\udc80', 1)
    assert escaped != good[1]
    path.write_text("\n".join([good[0], escaped, good[2]]))
    assert the_error(path)[0] == 2


def test_truncated_last_line_is_dropped(tmp_path, sim_ops):
    path = tmp_path / "h.jsonl"
    text = "".join(json.dumps(op) + "\n" for op in sim_ops[:30])
    for tail in ('{"index": 30, "process": "p', "\x00\x00", "\udcff\udcfe"):
        path.write_bytes((text + tail).encode("utf-8", "surrogateescape"))
        assert load(path) == sim_ops[:30]
        assert len(HistoryIndex.from_path(path)) == 30


def test_a_complete_but_malformed_last_line_is_an_error(tmp_path, sim_ops):
    ops = with_op(sim_ops[:30], 29, lambda op: op.update(type="gone"))
    assert the_error(write(tmp_path / "h.jsonl", ops))[0] == 30


def test_unknown_kind_is_kept_unchecked_and_logged(tmp_path, sim_ops, caplog):
    ops = copy.deepcopy(sim_ops[:40])
    ops.insert(10, {"index": 10, "process": "p", "type": "ok", "f": "future-kind",
                    "value": [1, "anything"], "time": ops[9]["time"], "wall": 1.0})
    path = write(tmp_path / "h.jsonl", ops)
    with caplog.at_level(logging.WARNING, logger="chaos.history"):
        idx = HistoryIndex.from_path(path)
    assert idx.get("future-kind")[0]["value"] == [1, "anything"]
    assert any("future-kind" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)
    assert load(path)[10]["f"] == "future-kind"
    assert "future-kind" not in SCHEMA and check_op(ops[10]) is None


def test_schema_accepts_every_kind_the_simulator_writes(sim_ops):
    kinds = {(op["f"], op["type"]) for op in sim_ops}
    assert {f for f, _ in kinds} <= set(SCHEMA)
    assert all(check_op(op) is None for op in sim_ops)


def test_history_error_is_a_value_error(tmp_path, sim_ops):
    ops = with_op(sim_ops, 3, lambda op: op.update(type=None))
    path = write(tmp_path / "h.jsonl", ops)
    with pytest.raises(ValueError) as e:
        check_all(HistoryIndex.from_path(path))
    assert isinstance(e.value, HistoryError) and e.value.line == 4 and e.value.path == str(path)

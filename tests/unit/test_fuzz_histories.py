"""Hostile histories: mutated valid histories give verdicts or a HistoryError, never a crash.

Each example takes a valid synthetic history (:mod:`kfchaos.checkers.synth`),
applies a few mutations -- drop a field, change a field's type, unknown
type/f values, NaN/huge numbers, a line cut in the middle, NUL or binary
garbage lines, reordered lines -- writes it and reads it back the ways the
harness does.
"""
import json
import math
import os
import subprocess
import sys
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfchaos.checkers import check_all
from kfchaos.checkers.index import HistoryIndex
from kfchaos.checkers.synth import generate
from kfchaos.history import HistoryError, load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ODD_VALUES = [None, "x", "", 1.5, -1, 0, True, [], [1, "a"], {}, {"id": []}, 2 ** 70,
              -(2 ** 70), float("nan"), float("inf"), "\x00", "é"]
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@lru_cache(maxsize=None)
def base_lines(seed: int) -> tuple[str, ...]:
    sim = generate(seed, 90, flink=seed % 2 == 0, faults=1, poll_size=4, consumers=2)
    return tuple(json.dumps(op) for op in sim.ops)


def paths(obj, prefix=()):
    """Every (container, key) path inside a parsed op."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        return
    for k, v in items:
        yield prefix + (k,)
        yield from paths(v, prefix + (k,))


def parent(op, path):
    for k in path[:-1]:
        op = op[k]
    return op


def op_mutation(data, line: str) -> str:
    op = json.loads(line)
    kind = data.draw(st.sampled_from(["drop", "retype", "type", "f"]))
    if kind == "type":
        op["type"] = data.draw(st.sampled_from(["done", "OK", "", None, 1, ["ok"]]))
    elif kind == "f":
        op["f"] = data.draw(st.sampled_from(["sned", "future", "", None, 3, {"f": 1}]))
    else:
        ps = list(paths(op))
        path = data.draw(st.sampled_from(ps))
        box = parent(op, path)
        if kind == "drop":
            del box[path[-1]]
        else:
            box[path[-1]] = data.draw(st.sampled_from(ODD_VALUES))
    return json.dumps(op)


def text_mutation(data, lines: list) -> None:
    kind = data.draw(st.sampled_from(["cut", "nul", "binary", "swap", "op", "op", "op"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    if kind == "cut":
        line = lines[i]
        lines[i] = line[:data.draw(st.integers(0, max(0, len(line) - 1)))]
    elif kind == "nul":
        lines.insert(i, "\x00" * data.draw(st.integers(1, 5)))
    elif kind == "binary":
        lines.insert(i, data.draw(st.binary(min_size=1, max_size=40))
                     .decode("utf-8", "surrogateescape"))
    elif kind == "swap":
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif isinstance(lines[i], str) and lines[i].startswith("{"):
        try:
            lines[i] = op_mutation(data, lines[i])
        except ValueError:       # (a line already cut)
            pass


def mutated(data) -> bytes:
    lines = list(base_lines(data.draw(st.integers(0, 3))))
    for _ in range(data.draw(st.integers(1, 4))):
        text_mutation(data, lines)
    end = data.draw(st.sampled_from(["\n", "", "\n\n"]))
    return ("\n".join(lines) + end).encode("utf-8", "surrogateescape")


def outcome(path):
    """("verdicts", {name: validity}) or ("error", line) -- anything else fails."""
    try:
        idx = HistoryIndex.from_path(path)
    except HistoryError as e:
        assert e.path == str(path) and e.line >= 1 and "\n" not in str(e), str(e)
        return "error", e.line
    verdicts = check_all(idx)
    crashed = {k: v.reason for k, v in verdicts.items() if v.reason.startswith("checker crashed")}
    assert not crashed, crashed
    return "verdicts", {k: str(v.valid) for k, v in verdicts.items()}


@SETTINGS
@given(data=st.data())
def test_mutated_histories_give_verdicts_or_history_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "history.jsonl"
    path.write_bytes(mutated(data))
    got = outcome(path)
    try:
        load(path)
        assert got[0] == "verdicts"
    except HistoryError as e:
        assert got == ("error", e.line)
    if got[0] == "verdicts":
        json.dumps(check_all(HistoryIndex.from_path(path, chunk_bytes=512))["lost"].to_dict())


@pytest.mark.parametrize("seed", range(5))
def test_cli_analyze_on_mutated_run_dirs(tmp_path, seed):
    """A handful of run directories through ``chaos analyze``: exit code 0/1/2, no traceback."""
    import random
    rng = random.Random(seed)
    lines = list(base_lines(seed % 4))
    if seed == 0:
        lines.insert(rng.randrange(len(lines)), "\x00\x00garbage")
    elif seed == 1:
        lines[5] = lines[5].replace('"ok"', '"done"').replace('"invoke"', '"done"')
    elif seed == 2:
        lines.append(lines[-1][:20])                # cut last line: tolerated
    elif seed == 3:
        op = json.loads(lines[9])
        op["time"] = math.inf if op.get("time") else 2 ** 80
        lines[9] = json.dumps(op)
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.jsonl").write_text("\n".join(lines) + "\n")
    if seed == 4:
        (run / "results.json").write_bytes(b"\xff{not json")
    p = subprocess.run([sys.executable, "-m", "kfchaos.cli", "analyze", str(run)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1, 2), (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr, p.stderr[-3000:]

"""Hostile run directories: render_report and compare either write their output or raise
one ReportError (a ValueError, one line, naming the file), never another exception; and
no file outside the run directory ends up in a report."""
from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfchaos.report import ReportError, compare, load_run, render_report, write_allure, write_junit
from kfchaos.report.series import MAX_SECONDS, compute_series, series_from_path

from .test_report_series import NS, contract, make_run_dir, scenario

SECRET = "TOP-SECRET-0xC0FFEE"


def write_run(tmp_path: Path, results, name: str = "run") -> Path:
    run = tmp_path / name
    run.mkdir(parents=True, exist_ok=True)
    text = results if isinstance(results, (str, bytes)) else json.dumps(results)
    (run / "results.json").write_bytes(text.encode() if isinstance(text, str) else text)
    return run


def assert_report_error(excinfo, filename: str = "results.json") -> None:
    msg = str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert "\n" not in msg and filename in msg, msg
    assert "cannot render" not in msg and "cannot compare" not in msg, msg   # not the catch-all


@pytest.mark.parametrize("content", [
    "", "{not json", "[1, 2]", "42", '"a string"', "[" * 100_000 + "]" * 100_000,
    b"\xff\xfe{\x00", {"scenarios": 5}, {"scenarios": "abc"},
    {"scenarios": [{"name": "a", "contracts": 5}]},
    {"scenarios": [{"name": "a", "contracts": [{"contract": "c", "anomalies": [1, 2]}]}]},
])
def test_malformed_results_raise_one_report_error(tmp_path, content):
    run = write_run(tmp_path, content)
    with pytest.raises(ReportError) as e:
        render_report(run)
    assert_report_error(e)
    with pytest.raises(ReportError) as e:
        compare([run], tmp_path / "cmp")
    assert_report_error(e)


def test_missing_run_dir_and_results(tmp_path):
    for run in (tmp_path / "nope", tmp_path):
        with pytest.raises(ReportError) as e:
            render_report(run)
        assert_report_error(e)
    (tmp_path / "d" / "results.json").mkdir(parents=True)
    with pytest.raises(ReportError) as e:
        render_report(tmp_path / "d")
    assert_report_error(e)
    assert "not a regular file" in str(e.value)


def test_compare_names_the_bad_run(tmp_path):
    good = make_run_dir(tmp_path, seconds=2)
    bad = write_run(tmp_path, "{", name="bad")
    with pytest.raises(ReportError) as e:
        compare([good, bad], tmp_path / "cmp")
    assert_report_error(e)
    assert str(bad) in str(e.value)


def test_wrong_types_still_render(tmp_path):
    res = {"profile": ["p"], "seed": {"x": 1}, "started": "yesterday", "finished": 1e300,
           "platform": "docker", "left_out": ["a"], "chosen": "abc", "command": None,
           "scenarios": [
               {"name": {"n": 1}, "status": 7, "figures": "lots", "duration_s": "long",
                "history": 42, "schedule": ["x"], "error": {"e": 1}, "title": None,
                "contracts": [{"contract": None, "verdict": "violated", "checkers": "abc",
                               "anomalies": {"lost": 3, "dup": {"count": "many", "examples": {"a": 1}},
                                             "odd": {"examples": [1, None, [2], {"time": "t"}]}}}]},
               {"name": "b", "figures": None, "contracts": None, "notes": 5, "description": 5,
                "history": "", "status": None},
               {"name": "c\ud800\x00<i>zz", "status": "held", "figures": {"lost": "\ud800"}},
           ]}
    run = write_run(tmp_path, json.dumps(res))
    html = render_report(run).read_text(encoding="utf-8")
    assert 'id="contract-table"' in html and "<i>zz" not in html and "&lt;i&gt;zz" in html
    html_path, md_path = compare([run, run], tmp_path / "cmp")
    assert html_path.is_file() and md_path.is_file()


def outside_paths(tmp_path: Path, run: Path) -> list[str]:
    """Paths naming a secret file outside ``run``, in every way a results.json could."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    (run / "link").symlink_to(secret)
    (run / "dirlink").symlink_to(tmp_path)
    return [str(secret), "../secret.txt", "a/../../secret.txt", "link", "dirlink/secret.txt",
            "/etc/passwd", "/proc/self/environ", "/dev/zero"]


def test_paths_outside_the_run_dir_are_never_read(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    bad = outside_paths(tmp_path, run)
    res = {"profile": "p", "scenarios": [
        {"name": f"s{i}", "status": "held", "history": p, "schedule": p} for i, p in enumerate(bad)]}
    write_run(tmp_path, res)
    html = render_report(run).read_text()
    assert SECRET not in html and "root:" not in html
    assert html.count("is outside the run directory; ignored") == 2 * len(bad)
    for p in bad:
        assert f'href="{p}"' not in html


def test_paths_inside_the_run_dir_still_work(tmp_path):
    run = make_run_dir(tmp_path, scenarios=[scenario("a", "held", [contract("durability", "held")])],
                       seconds=3)
    res = json.loads((run / "results.json").read_text())
    res["scenarios"][0]["history"] = "a/../a/history.jsonl"
    (run / "results.json").write_text(json.dumps(res))
    html = render_report(run).read_text()
    assert 'aria-label="Throughput"' in html and "fault schedule" in html


def test_far_off_timestamp_and_early_op(tmp_path):
    run = make_run_dir(tmp_path, scenarios=[scenario("a", "held", [contract("durability", "held")])],
                       seconds=5)
    h = run / "a" / "history.jsonl"
    ops = [json.loads(x) for x in h.read_text().splitlines()]
    t0 = ops[0]["time"]
    ops.insert(3, dict(ops[3], time=t0 + 10**18))          # 30 years later
    ops.insert(5, dict(ops[5], time=t0 - 3600 * NS))       # an hour before the first op
    ops.insert(7, dict(ops[7], time=t0 - NS // 2))          # half a second before: second 0
    ops.append(dict(ops[-1], time=-(10**30)))
    h.write_text("".join(json.dumps(o) + "\n" for o in ops))
    start = time.perf_counter()
    html = render_report(run).read_text()
    assert time.perf_counter() - start < 10
    assert "3 op(s) timed outside the plotted span" in html
    s = series_from_path(h)
    assert s.out_of_range == 3 and s.seconds <= 20     # the history spans about 17 s


def test_series_caps_its_span():
    ops = [{"process": "p", "f": "send", "type": "ok", "time": 0, "value": {"id": 1}},
           {"process": "p", "f": "send", "type": "ok", "time": (MAX_SECONDS + 5) * NS, "value": {"id": 2}},
           {"process": "p", "f": "send", "type": "ok", "time": -1, "value": {"id": 3}}]
    s = compute_series(ops)
    assert s.seconds == 1 and s.sends_ok == [2] and s.out_of_range == 1


def test_series_skips_malformed_ops():
    ops = [None, 5, "x", [1], {"time": "now", "f": "send", "type": "ok"}, {"time": True, "f": "send"},
           {"time": 1.5e9, "f": "send", "type": "ok", "process": "p", "value": {"id": [1]}},
           {"time": 2 * NS, "f": "send", "type": "ok", "value": {}},              # no process
           {"time": 3 * NS, "f": "poll", "type": "ok", "value": {"records": 7}},
           {"time": float("inf"), "f": "send", "type": "ok", "process": "p"},
           {"time": 4 * NS, "f": "fault-start", "type": "invoke", "process": "n", "value": [1]},
           {"time": 4 * NS, "f": "deploy", "type": "ok"},
           {"time": 4 * NS, "f": "client-event", "type": "info", "value": {"event": "fatal"}}]
    s = compute_series(ops)
    assert s.ops == len(ops) and s.malformed == 9
    assert len(s.faults) == 1 and len(s.events) == 1 and len(s.producer_events) == 1


# -- property-based: anything JSON ---------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
CONTRACT = st.fixed_dictionaries({}, optional={
    "contract": JSON | st.text(max_size=8), "verdict": JSON | st.sampled_from(["held", "violated"]),
    "checkers": JSON, "reason": JSON, "informational": JSON,
    "anomalies": JSON | st.dictionaries(st.text(max_size=6), JSON | st.fixed_dictionaries(
        {}, optional={"count": JSON, "examples": JSON | st.lists(JSON, max_size=3)}), max_size=3)})
SCENARIO = st.fixed_dictionaries({}, optional={
    "name": JSON | st.text(max_size=10), "status": JSON | st.sampled_from(["held", "error", "unknown"]),
    "contracts": JSON | st.lists(CONTRACT, max_size=3), "figures": JSON, "duration_s": JSON,
    "history": JSON | st.sampled_from(["h.jsonl", "../x", "/etc/passwd"]),
    "schedule": JSON | st.sampled_from(["s.json", "../x"]), "error": JSON, "title": JSON,
    "description": JSON, "seed": JSON, "notes": JSON, "wanted_contracts": JSON})
RESULTS = st.fixed_dictionaries({}, optional={
    "profile": JSON, "seed": JSON, "run_id": JSON, "kind": JSON, "command": JSON, "started": JSON,
    "finished": JSON, "platform": JSON | st.fixed_dictionaries(
        {}, optional={"bringup_seconds": JSON, "images": JSON}), "chosen": JSON, "left_out": JSON,
    "interrupted": JSON, "overall": JSON, "scenarios": JSON | st.lists(SCENARIO, max_size=3)})
OP = st.fixed_dictionaries({}, optional={
    "time": JSON | st.integers(-10**20, 10**20), "f": JSON | st.sampled_from(
        ["send", "poll", "fault-start", "fault-stop", "deploy", "client-event"]),
    "type": JSON | st.sampled_from(["invoke", "ok", "fail", "info"]), "process": JSON,
    "value": JSON, "wall": JSON})


@settings(max_examples=int(os.environ.get("CHAOS_HYPOTHESIS_EXAMPLES", "80")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(results=RESULTS | JSON, ops=st.lists(OP | JSON, max_size=8))
def test_any_json_renders_or_raises_report_error(tmp_path_factory, results, ops):
    tmp = tmp_path_factory.mktemp("h")
    run = write_run(tmp, json.dumps(results))
    (run / "h.jsonl").write_text("".join(json.dumps(o) + "\n" for o in ops))
    (run / "s.json").write_text("{}")
    for call in (lambda: render_report(run), lambda: compare([run, run], tmp / "cmp")):
        try:
            call()
        except ReportError as e:
            msg = str(e)
            assert "\n" not in msg and "results.json" in msg
            assert "cannot render" not in msg and "cannot compare" not in msg, msg
    try:
        loaded = load_run(run)
    except ReportError:
        return
    ET.parse(write_junit(loaded, tmp / "junit.xml"))          # well-formed whatever the text
    for p in write_allure(loaded, tmp / "allure", run_dir=run):
        json.loads(p.read_text())


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(OP | JSON, max_size=12))
def test_any_ops_make_a_series(ops):
    s = compute_series(ops)
    assert s.ops == len(ops) and s.seconds <= MAX_SECONDS + 1


def test_unwritable_report_is_a_report_error(tmp_path):
    if os.geteuid() == 0:
        run = make_run_dir(tmp_path, seconds=2)
        (run / "report.html").mkdir()
        (run / "report.html" / "x").write_text("")      # replace() onto a non-empty dir fails
    else:
        run = make_run_dir(tmp_path, seconds=2)
        run.chmod(0o555)
    with pytest.raises(ReportError) as e:
        render_report(run)
    assert "report.html" in str(e.value) and "\n" not in str(e.value)

"""Soak runs, pure logic: duration parsing, the periodic schedule, the progress line, rotated
history chunks read back as one history (the same verdicts as one file), bucketed plots."""
import json

import pytest

from kfchaos import observe
from kfchaos.analyze import analyze_scenario
from kfchaos.checkers.inject import inject_lost
from kfchaos.checkers.synth import generate
from kfchaos.cli import main
from kfchaos.faults.base import FaultSpec
from kfchaos.history import History, HistoryError, iter_load, load
from kfchaos.history_rotation import CHUNK_DIR, RotatingChunkWriter, chunk_files, export_jsonl
from kfchaos.report.buckets import bucket_size, bucketed
from kfchaos.soak import Progress, SoakSettings, fmt_duration, parse_duration, periodic_schedule

MENU = ["kill", "pause", "clean-restart", "isolate-zone", "zone-latency"]


@pytest.mark.parametrize("text, seconds", [("300s", 300), ("90m", 5400), ("1h", 3600), ("1h30m", 5400),
                                           ("45", 45), ("2.5m", 150), (" 1H ", 3600), ("1d", 86400)])
def test_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1x", "-5m", "1h30", "m", "1m1m", "nan", "inf", "1e3"])
def test_bad_durations_are_one_line_saying_how_to_fix(text):
    with pytest.raises(ValueError) as e:
        parse_duration(text)
    assert "\n" not in str(e.value) and "1h" in str(e.value)


def test_durations_out_of_range_name_the_range():
    with pytest.raises(ValueError, match="between 30s and"):
        parse_duration("10s", minimum=30)
    with pytest.raises(ValueError, match="out of range"):
        parse_duration("8d")
    assert fmt_duration(3725) == "1h02m05s" and fmt_duration(90) == "1m30s" and fmt_duration(42) == "42s"


def test_settings_round_trip_through_the_environment():
    s = SoakSettings.from_env({"CHAOS_SOAK": "1h", "CHAOS_SOAK_CHUNK": "5m"})
    assert (s.duration_s, s.chunk_s, s.period_s, s.period) == (3600, 300, None, 60)
    assert SoakSettings.from_env(s.to_env()) == s
    assert SoakSettings.from_env({}) is None
    assert SoakSettings(duration_s=40).period == 20 and SoakSettings(duration_s=100).period == 25
    with pytest.raises(ValueError, match="--soak-chunk"):
        SoakSettings.from_env({"CHAOS_SOAK": "1h", "CHAOS_SOAK_CHUNK": "soon"})


def test_periodic_schedule_has_one_fault_per_period_healed_before_the_next():
    specs = periodic_schedule(11, MENU, 3600, 60)
    assert len(specs) == 60
    for k, s in enumerate(specs):
        assert 60 * k + 6 <= s.start <= 60 * k + 15, s          # a lead of 10-25% of the period
        assert 9 <= s.duration <= 24, s                           # 15-40% of it
        assert s.start + s.duration <= 60 * (k + 1) - 21, s       # a gap of >= 35% before the next period
    assert len({s.fault for s in specs}) >= 4                     # drawn from the menu, not one fault
    assert periodic_schedule(11, MENU, 3600, 60) == specs         # the same seed replays it
    assert periodic_schedule(12, MENU, 3600, 60) != specs
    assert periodic_schedule(11, MENU, 1800, 60) == specs[:30]    # a shorter soak is a prefix


def test_periodic_schedule_draws_only_applicable_faults_and_fits_the_duration():
    specs = periodic_schedule(3, MENU, 130, 30, zones=("x", "y"), applicable=lambda f: f.fault != "kill")
    assert len(specs) == 4 and all(s.fault != "kill" for s in specs)
    assert all(s.start + s.duration < 130 for s in specs)
    assert all(t.split(":")[-1] in ("x", "y") for t in (s.target for s in specs) if t.startswith("zone"))
    assert periodic_schedule(3, MENU, 130, 30, applicable=lambda f: False) == []
    with pytest.raises(ValueError):
        periodic_schedule(3, MENU, 130, 0)


def test_progress_line_shows_elapsed_ops_failures_faults_and_the_next_fault():
    specs = [FaultSpec("kill", "random", 20, 10), FaultSpec("pause", "random", 80, 10)]
    counts = {"ops": 12345, "send_failures": 3, "faults_started": 1, "faults_healed": 0}
    p = Progress(120, specs, counts=lambda: counts)
    line = p.line(25)
    assert line.startswith("soak 25s/2m00s: 12,345 ops, 3 send failures, faults 1/2 started, 0 healed")
    assert line.endswith("; next pause(random) at 1m20s (in 55s)")
    counts.update(faults_started=2, faults_healed=1)
    assert p.line(95).endswith("; no more faults planned")
    assert "1 fault(s) to heal, then heal check, drain, final read" in p.line(130)
    assert p.line(130).startswith("soak 2m10s/2m00s")


def _sim_ops(seed=1, n=3000):
    return [{k: v for k, v in op.items() if k != "index"} for op in generate(seed, n, faults=2).ops]


def _write(history, ops):
    observe.scenario_started(history, name="soak", title="Soak", description="doc",
                             contracts=("durability", "ordering", "offset-continuity", "recovery"), seed=7)
    for op in ops:
        history.append(op)
    observe.scenario_ended(history)
    history.close()


def test_rotation_by_ops_writes_several_files_read_back_as_one_history(tmp_path):
    ops = _sim_ops()
    w = RotatingChunkWriter(tmp_path / CHUNK_DIR, rotate_s=3600, rotate_ops=500)
    _write(History(tmp_path / CHUNK_DIR, writer=w, flush_every=100, flush_interval=0), ops)
    plain = tmp_path / "plain"
    plain.mkdir()
    _write(History(plain / "history.jsonl"), ops)
    files = chunk_files(tmp_path / CHUNK_DIR)
    assert len(files) == len(w.files) >= 5 and [f.name for f in files[:2]] == ["000000.kfh", "000001.kfh"]
    assert w.send_failures == sum(1 for op in ops if op["f"] == "send" and op["type"] == "fail") > 0
    assert w.faults_started == sum(1 for op in ops if op["f"] == "fault-start" and op["type"] == "ok") == 2
    assert w.faults_healed == sum(1 for op in ops if op["f"] == "fault-stop" and op["type"] == "ok") == 2
    strip = lambda o: {k: v for k, v in o.items() if k not in ("time", "wall")}   # noqa: E731
    assert list(map(strip, iter_load(tmp_path / CHUNK_DIR))) == list(map(strip, load(plain / "history.jsonl")))
    assert [o["index"] for o in iter_load(tmp_path / CHUNK_DIR)] == list(range(len(ops) + 2))
    out = tmp_path / "all.jsonl"
    assert export_jsonl(tmp_path / CHUNK_DIR, out) == len(ops) + 2
    assert [json.loads(line)["index"] for line in out.read_text().splitlines()] == list(range(len(ops) + 2))


def test_rotation_by_time_follows_the_clock():
    now = [0.0]
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        w = RotatingChunkWriter(d, rotate_s=60, rotate_ops=10**9, clock=lambda: now[0])
        for t in range(0, 300, 10):        # a flush every 10 s for 5 minutes
            now[0] = t
            w.write(['{"x":1}'])
        w.close()
        assert len(w.files) == 5 and w.n == 30
    with pytest.raises(ValueError):
        RotatingChunkWriter(d, rotate_s=0)


def test_analyze_reads_the_chunks_in_order_and_finds_what_one_file_finds(tmp_path):
    ops = _sim_ops(2, 2000)
    inject_lost(ops, rng=0)
    single_dir, chunked_dir = tmp_path / "single" / "soak", tmp_path / "chunked" / "soak"
    single_dir.mkdir(parents=True)
    chunked_dir.mkdir(parents=True)
    _write(History(single_dir / "history.jsonl"), ops)
    h = History(chunked_dir / CHUNK_DIR, writer=RotatingChunkWriter(chunked_dir / CHUNK_DIR, rotate_ops=300),
                flush_every=50, flush_interval=0)
    for op in load(single_dir / "history.jsonl"):       # the same ops, the same times
        h.append({k: v for k, v in op.items() if k != "index"})
    h.close()
    assert len(chunk_files(chunked_dir / CHUNK_DIR)) >= 5
    chunked, v1 = analyze_scenario(chunked_dir)
    single, v2 = analyze_scenario(single_dir)
    assert chunked.status == single.status == "violated" and chunked.figures["lost"] == 1
    assert {k: v.to_dict() for k, v in v1.items()} == {k: v.to_dict() for k, v in v2.items()}
    assert chunked.history == "soak/history.chunks"
    assert main(["analyze", str(tmp_path / "chunked")]) == 1


def test_a_damaged_chunk_names_its_file(tmp_path):
    d = tmp_path / CHUNK_DIR
    _write(History(d, writer=RotatingChunkWriter(d, rotate_ops=200), flush_every=50, flush_interval=0),
           _sim_ops(3, 800))
    second = chunk_files(d)[1]
    raw = bytearray(second.read_bytes())
    raw[60] ^= 0xFF                       # inside the first frame's compressed bytes
    second.write_bytes(bytes(raw))
    with pytest.raises(HistoryError) as e:
        load(d)
    assert str(e.value).startswith(f"{second}:")


def test_buckets_keep_short_series_and_fold_long_ones():
    assert bucket_size(600) == 1 and bucket_size(3600) == 4 and bucket_size(86400) == 96
    assert bucketed([1, 2, None], 1, "max") == [1, 2, None]
    assert bucketed([2, 4, 6, 8, 10], 2, "mean") == [3, 7, 10]     # the last bucket: its own seconds
    assert bucketed([None, None, 5, 900, 1], 2, "max") == [None, 900, 1]
    assert bucketed([1, 9, 3, None], 4, "median") == [3]
    with pytest.raises(ValueError):
        bucketed([1], 2, "sum")


@pytest.mark.parametrize("argv, says", [
    (["--soak", "abc"], "--soak 'abc' is not a duration"),
    (["--soak", "10s"], "out of range"),
    (["--soak", "1h", "--soak-chunk", "later"], "--soak-chunk 'later' is not a duration"),
    (["--soak-period", "30s"], "go with --soak DURATION"),
    (["--scenario", "soak"], "needs a duration"),
    (["--soak", "1h", "--scenario", "kill-leader"], "drop --scenario"),
    (["--soak", "1h", "--timeout", "60"], "shorter than the soak"),
])
def test_bad_soak_options_are_one_line_and_exit_2_before_anything_starts(argv, says, capsys, monkeypatch):
    monkeypatch.delenv("CHAOS_SOAK", raising=False)
    assert main(["certify", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
    assert "CHAOS_SOAK" not in __import__("os").environ


def test_soak_is_left_out_of_a_full_certification_unless_asked_for(monkeypatch):
    from kfchaos import scenarios
    from kfchaos.platform.flavors import flavor_for
    monkeypatch.delenv("CHAOS_SOAK", raising=False)
    chosen, left = scenarios.for_kind(flavor_for("kafka"), object())
    assert "soak" not in chosen and "--soak DURATION" in left["soak"]
    monkeypatch.setenv("CHAOS_SOAK", "5m")
    assert scenarios.get("soak").not_applicable(flavor_for("kafka"), object()) is None


def test_a_long_run_is_plotted_in_buckets_and_a_short_one_per_second():
    import re

    from kfchaos.report.render import _plots
    from kfchaos.report.series import NS, Series

    def plots(seconds):
        vals = [200 + (i % 7) for i in range(seconds)]
        s = Series(t0=0, end=seconds * NS, ops=seconds * 600, sends_ok=vals, sends_err=[0] * seconds,
                   polled=vals, lat_p50=[5.0] * seconds, lat_p99=[9.0] * (seconds - 1) + [4000.0])
        svg = str(_plots(s))
        return svg, [len(m.split()) for m in re.findall(r'<polyline class="line sends-ok" points="([^"]*)"', svg)]

    svg, points = plots(7200)                      # two hours: 8 s buckets
    assert points == [900] and "8 s buckets" in svg and ">120m<" in svg
    assert "4000" in svg or "4k" in svg or "10k" in svg        # the worst p99 second survives the buckets
    svg, points = plots(300)                       # five minutes: a point a second, as before
    assert points == [300] and "buckets" not in svg

"""Per-second series (kfchaos.report.series), plus the synthetic run directories
that the report, compare and Chromium tests build on (``make_history``,
``make_run_dir``)."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from kfchaos.history import load
from kfchaos.report.series import compute_series, percentile, series_from_path

NS = 1_000_000_000
HOSTILE = '<script>alert("pwned")</script>'


def make_history(path: Path, *, seconds: int = 30, rate: int = 50, seed: int = 7,
                 faults: list[tuple[str, float, float | None, str]] | None = None,
                 t_base: int = 5_000 * NS, wall_base: float = 1_764_000_000.0) -> list[dict]:
    """Write a synthetic history to ``path`` and return its ops.

    One producer sends ``rate``/s for ``seconds`` s (latency ~5 ms, 0.5–3 s and
    some ``info`` inside fault windows); a consumer polls every 100 ms the
    records acked since its last poll; ``faults`` are (name, start_s, stop_s or
    None for never stopped, target); Flink deploys at 1 s, checkpoints every 5 s
    (the one at 15 s fails)."""
    rnd = random.Random(seed)
    faults = [("kill-leader", 10.0, 16.0, "kafka-1")] if faults is None else faults
    evs: list[tuple[float, dict]] = []

    def in_fault(s: float) -> bool:
        return any(a <= s <= (b if b is not None else seconds) for _, a, b, _ in faults)

    acked: list[tuple[float, dict]] = []
    for k in range(seconds * rate):
        s = k / rate
        rid = f"p0-{k}"
        evs.append((s, {"process": "producer-0", "type": "invoke", "f": "send",
                        "value": {"id": rid, "key": f"k{k % 8}", "seq": k}}))
        if in_fault(s):
            lat, typ = rnd.uniform(0.5, 3.0), "info" if rnd.random() < 0.1 else "ok"
        else:
            lat, typ = rnd.uniform(0.002, 0.008), "ok"
        done = {"process": "producer-0", "type": typ, "f": "send",
                "value": {"id": rid, "key": f"k{k % 8}", "seq": k, "partition": k % 3,
                          "offset": k // 3}}
        evs.append((s + lat, done))
        if typ == "ok":
            acked.append((s + lat, done["value"]))
    acked.sort(key=lambda a: a[0])
    j = 0
    for q in range(1, seconds * 10 + 1):
        t = q / 10
        recs = []
        while j < len(acked) and acked[j][0] < t:
            recs.append({"partition": acked[j][1]["partition"], "offset": acked[j][1]["offset"],
                         "id": acked[j][1]["id"]})
            j += 1
        if recs and not in_fault(t):
            evs.append((t, {"process": "consumer-0", "type": "ok", "f": "poll",
                            "value": {"topic": "t", "group": "g", "records": recs}}))
        elif recs:
            j -= len(recs)   # consumer stalls during the fault, catches up after
    for n, (name, a, b, target) in enumerate(faults):
        v = {"fault": name, "fault_id": f"{name}-{n}", "detail": {"n": n}, "proof": None,
             "target": target}
        evs.append((a, {"process": "nemesis", "type": "invoke", "f": "fault-start", "value": v}))
        evs.append((a + 0.2, {"process": "nemesis", "type": "ok", "f": "fault-start",
                              "value": dict(v, proof={"pid": 1})}))
        if b is not None:
            evs.append((b, {"process": "nemesis", "type": "invoke", "f": "fault-stop", "value": v}))
            evs.append((b + 0.5, {"process": "nemesis", "type": "ok", "f": "fault-stop", "value": v}))
    evs.append((1.0, {"process": "flink", "type": "invoke", "f": "deploy", "value": {"job": "j"}}))
    evs.append((1.5, {"process": "flink", "type": "ok", "f": "deploy", "value": {"job": "j"}}))
    for c in range(5, seconds, 5):
        evs.append((c, {"process": "flink", "type": "fail" if c == 15 else "ok",
                        "f": "checkpoint", "value": {"id": c // 5}}))
    evs.append((seconds + 0.5, {"process": "producer-0", "type": "invoke", "f": "noop",
                                "value": None}))
    evs.sort(key=lambda e: e[0])
    ops = []
    for i, (s, op) in enumerate(evs):
        ops.append(dict(op, index=i, time=t_base + int(s * NS), wall=round(wall_base + s, 6)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for op in ops:
            fh.write(json.dumps(op, separators=(",", ":")) + "\n")
    return ops


def scenario(name: str, status: str, contracts: list[dict], *, history: bool = True,
             error: str | None = None, figures: dict | None = None) -> dict:
    figs = {"lost": 0, "duplicates": 0, "recovery_s": 6.5, "records_replayed": 120,
            "live_p99_ms_during_fault": 2900.0, "baseline_p99_ms": 8.0,
            "throughput_ok_per_s": 50.0, "failed_checkpoints": 1,
            "bytes_on_broker_disks": 123456789, "bytes_in_object_storage": None,
            "saturated_first": "broker-disk"}
    figs.update(figures or {})
    return {"name": name, "title": f"Title of {name}",
            "description": f"Module docstring of {name}.\n\nSecond paragraph.",
            "status": status, "error": error, "duration_s": 30.0,
            "history": f"{name}/history.jsonl", "schedule": f"{name}/schedule.json",
            "contracts": contracts, "figures": figs, "_write_history": history}


def contract(name: str, verdict: str, anomalies: dict | None = None) -> dict:
    return {"contract": name, "verdict": verdict, "checkers": [name.split("-")[0]],
            "reason": f"{name} {verdict} because reasons", "anomalies": anomalies or {}}


def default_scenarios() -> list[dict]:
    lost_examples = [{"id": f"p0-{i}", "partition": i % 3, "offset": i, "time": 5_000 * NS + i * NS,
                      "wall": 1_764_000_000.0 + i, "note": HOSTILE if i == 0 else "x",
                      "fault_windows": [{"fault": "partition", "fault_id": "partition-0"}]}
                     for i in range(14)]
    return [
        scenario("kill-leader", "held", [contract("durability", "held"),
                                         contract("no-duplicates", "held")]),
        scenario("network-partition", "violated",
                 [contract("durability", "violated",
                           {"lost": {"count": 14, "examples": lost_examples}}),
                  contract("no-duplicates", "unknown"),
                  contract("ordering", "held")],
                 figures={"lost": 14, "bytes_in_object_storage": 987654321}),
        scenario("broker-disk-full", "error", [], history=False,
                 error="RuntimeError: disk <full> & the broker said \"no\"",
                 figures={k: None for k in ("lost", "duplicates", "recovery_s")}),
    ]


def make_run_dir(root: Path, profile: str = "kafka-3az", *, scenarios: list[dict] | None = None,
                 kind: str = "kafka", seed: int = 123, name: str | None = None,
                 seconds: int = 30) -> Path:
    """A synthetic reports/<time>-<profile>/ with results.json, histories,
    schedules and a log file."""
    run = root / (name or f"20261125-120000-{profile}")
    run.mkdir(parents=True)
    scs = default_scenarios() if scenarios is None else scenarios
    out = []
    for n, sc in enumerate(scs):
        sc = dict(sc)
        if sc.pop("_write_history", True):
            faults = [("kill-leader", 10.0, 16.0, "kafka-1")]
            if sc["name"] == "network-partition":
                faults = [("partition", 8.0, 14.0, "az-a|az-b"),
                          ("clock-skew", 12.0, 15.0, "kafka-2"),
                          ("pause", 22.0, None, HOSTILE)]
            make_history(run / sc["history"], faults=faults, seed=n, seconds=seconds)
            (run / sc["schedule"]).write_text(json.dumps(
                {"seed": seed, "faults": [{"fault": f[0], "at": f[1]} for f in faults]}, indent=1))
        out.append(sc)
    res = {"run_id": run.name, "profile": profile, "profile_description": f"{profile} profile <3 AZs>",
           "kind": kind, "seed": seed, "started": 1_764_000_000.0, "finished": 1_764_000_100.0,
           "command": f"chaos certify --profile {profile} --seed {seed} --scenario 'a&b' <x>",
           "platform": {"images": {"broker": "apache/kafka:4.1.0", "flink": "flink:2.1"},
                        "bringup_seconds": {"kafka": 21.5, "flink": 14.0}},
           "overall": "violated" if any(s["status"] == "violated" for s in out) else "held",
           "scenarios": out}
    (run / "results.json").write_text(json.dumps(res, indent=1))
    (run / "logs").mkdir()
    (run / "logs" / "kafka-1.log").write_text("started\n")
    return run


# -- tests ------------------------------------------------------------------------
def test_percentile_nearest_rank():
    vals = list(range(1, 101))
    assert percentile(vals, 0.5) == 50
    assert percentile(vals, 0.99) == 99
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 0.07) == 1


def test_series_counts_and_windows(tmp_path):
    ops = make_history(tmp_path / "h.jsonl", seconds=30, rate=50)
    s = series_from_path(tmp_path / "h.jsonl")
    assert s.ops == len(ops) and s.seconds == 31
    assert s.t0 == ops[0]["time"]
    oks = sum(1 for o in ops if o["f"] == "send" and o["type"] == "ok")
    errs = sum(1 for o in ops if o["f"] == "send" and o["type"] in ("fail", "info"))
    polled = sum(len(o["value"]["records"]) for o in ops if o["f"] == "poll")
    assert sum(s.sends_ok) == oks and sum(s.sends_err) == errs and sum(s.polled) == polled
    assert s.sends_ok[3] == 50                     # steady state: 50 acks per second
    assert s.polled[12] == 0 and s.polled[17] > 50  # consumer stalls, then catches up
    # latency: ~5 ms before the fault, seconds inside it (bucketed by invoke second)
    assert 2 <= s.lat_p50[3] <= 8 and s.lat_p99[3] <= 8
    assert s.lat_p50[12] > 400 and s.lat_p99[12] > 1000
    assert len(s.faults) == 1
    w = s.faults[0]
    assert (w.fault, w.target, w.open) == ("kill-leader", "kafka-1", False)
    assert s.sec(w.start) == pytest.approx(10.0) and s.sec(w.end) == pytest.approx(16.5)
    assert [(e.f, e.type) for e in s.events][:2] == [("deploy", "ok"), ("checkpoint", "ok")]
    assert ("checkpoint", "fail") in [(e.f, e.type) for e in s.events]
    assert s.unmatched_sends == 0


def test_series_equals_streamed_and_loaded(tmp_path):
    make_history(tmp_path / "h.jsonl", seconds=12, rate=20,
                 faults=[("pause", 3.0, None, "kafka-0")])
    a = series_from_path(tmp_path / "h.jsonl")
    b = compute_series(load(tmp_path / "h.jsonl"))
    assert (a.sends_ok, a.polled, a.lat_p99) == (b.sends_ok, b.polled, b.lat_p99)
    assert a.faults[0].open and a.sec(a.faults[0].end) == pytest.approx(a.duration_s)


def test_series_empty_and_unmatched():
    s = compute_series([])
    assert s.ops == 0 and s.seconds == 0 and s.faults == []
    s = compute_series([{"index": 0, "process": "p", "type": "ok", "f": "send",
                         "value": {"id": "x"}, "time": 10, "wall": 1.0}])
    assert s.sends_ok == [1] and s.unmatched_sends == 1 and s.lat_p50 == [None]


def test_series_fifo_for_same_key():
    # sends without an id fall back to FIFO per (process, f), like history.pair
    ops = [{"index": i, "process": "p", "type": t, "f": "send", "value": {}, "time": ns, "wall": 0}
           for i, (t, ns) in enumerate([("invoke", 0), ("invoke", 100_000_000),
                                        ("ok", 200_000_000), ("ok", 1_500_000_000)])]
    s = compute_series(ops)
    assert s.lat_p50[0] == pytest.approx(200.0) and s.sends_ok == [1, 1]
    assert s.lat_p99[0] == pytest.approx(1400.0)


def test_series_one_million_ops_single_pass():
    """1,000,000 ops in one pass: every op counted, sends and polls balance (its speed is a
    figure of ``benchmarks/bench_checkers.py``, not an assertion)."""
    def gen():
        t, i = 0, 0
        while i < 1_000_000:
            for k in range(200):
                yield {"index": i, "process": "p0", "type": "invoke", "f": "send",
                       "value": {"id": i}, "time": t, "wall": 0.0}
                yield {"index": i + 1, "process": "p0", "type": "ok", "f": "send",
                       "value": {"id": i, "partition": 0, "offset": i}, "time": t + 3_000_000,
                       "wall": 0.0}
                i += 2
                t += 2_000_000
            yield {"index": i, "process": "c0", "type": "ok", "f": "poll",
                   "value": {"records": [0] * 200}, "time": t, "wall": 0.0}
            i += 1
    s = compute_series(gen())
    assert s.ops >= 1_000_000
    assert sum(s.sends_ok) == sum(s.polled)
    assert s.lat_p99[5] == pytest.approx(3.0)


def test_iter_ops_chunks_and_truncation(tmp_path):
    from kfchaos.report.series import iter_ops
    ops = make_history(tmp_path / "h.jsonl", seconds=4, rate=10)
    assert list(iter_ops(tmp_path / "h.jsonl", chunk=7)) == ops
    p = tmp_path / "t.jsonl"
    p.write_text((tmp_path / "h.jsonl").read_text() + '{"index": 99, "proc\n\n')
    assert list(iter_ops(p, chunk=5)) == ops          # truncated last line dropped
    lines = (tmp_path / "h.jsonl").read_text().splitlines()
    lines[3] = "{corrupt"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="corrupt"):
        list(iter_ops(p, chunk=5))


def test_producer_epoch_bumps_are_timeline_markers():
    import xml.etree.ElementTree as ET
    from kfchaos.checkers.synth import Builder
    from kfchaos.report.plots import timeline_svg
    b = Builder(step_ms=500)
    b.send("a", o=0)
    b.op("producer-1", "info", "client-event", {"event": "pid-assigned", "pid": 7, "epoch": 0})
    b.op("producer-1", "info", "client-event",
         {"event": "epoch-bump", "reason": "skipped sequence <numbers>", "pid": 7, "epoch": 0})
    b.op("producer-1", "info", "client-event", {"event": "epoch-bumped", "pid": 7, "epoch": 1})
    b.send("b", o=1)
    s = compute_series(b.ops)
    assert [(e.f, e.value["process"]) for e in s.producer_events] == [("epoch-bump", "producer-1")]
    assert s.producer_events[0].sec == pytest.approx(1.5)
    svg = timeline_svg(s)
    ET.fromstring(svg)                                       # well formed, text escaped
    assert svg.count('class="producer-event"') == 1 and ">clients</text>" in svg
    assert "producer-1 epoch-bump at 1.5s: skipped sequence &lt;numbers&gt;" in svg
    assert "clients</text>" not in timeline_svg(compute_series(Builder().send("a", o=0).ops))

"""Load-ramp figures from a synthetic history: per-step p99s and where the budget broke."""
from kfchaos import ramp
from kfchaos.checkers import HistoryIndex
from kfchaos.checkers.synth import Builder


def _step(b: Builder, k: int, rate: int, consumers: int, latency_ms: float, n: int = 50) -> None:
    """n sends of ``latency_ms`` each, every one polled 5 ms after its ack, then the step op."""
    t0 = b.now
    for i in range(n):
        rid = f"s{k}-{i}"
        b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": rid, "seq": k * 1000 + i})
        b.sleep(latency_ms - 1)
        b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": rid, "seq": k * 1000 + i,
                                          "partition": 0, "offset": k * 1000 + i})
        b.sleep(4)
        b.poll([(0, k * 1000 + i, rid)])
    b.op("harness", "ok", ramp.RAMP_STEP_F, {"step": k, "rate": rate, "consumers": consumers,
                                             "start": t0, "end": b.now, "saturated_first": "cpu of host"})


def _figures(*latencies: float, p99: float = 100.0, lag: float = 1000.0) -> dict:
    b = Builder()
    for k, ms in enumerate(latencies, 1):
        _step(b, k, 100 * k, k, ms)
    return ramp.figures_of(HistoryIndex(b.ops), {"ramp_p99_ms": p99, "ramp_lag_p99_ms": lag})


def test_every_step_within_budget_names_the_highest():
    f = _figures(10, 20, 30)
    assert [s["within_budget"] for s in f["ramp_steps"]] == [True, True, True]
    assert f["ramp_limit"] == "every step within budget (highest: 300/s, 3 consumers)"
    s3 = f["ramp_steps"][2]
    assert s3["p99_ms"] == 30.0 and s3["saturated_first"] == "cpu of host" and s3["ok_per_s"] > 0
    assert 30.0 <= s3["lag_p99_ms"] <= 40.0       # invoke -> poll: latency plus 4-5 ms


def test_the_first_step_over_the_p99_budget_is_named():
    f = _figures(10, 150, 30)
    assert [s["within_budget"] for s in f["ramp_steps"]] == [True, False, True]
    assert f["ramp_limit"].startswith("budget broke at step 2 (200/s, 2 consumers): produce p99 150.0 ms > 100.0 ms")


def test_the_lag_budget_breaks_on_its_own():
    f = _figures(10, 20, lag=15.0)
    assert "consume lag p99" in f["ramp_limit"] and "step 2" in f["ramp_limit"]


def test_no_ramp_step_no_figure():
    b = Builder()
    b.send("a", o=0)
    assert ramp.figures_of(HistoryIndex(b.ops), {}) == {}

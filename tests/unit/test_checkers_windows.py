"""Fault windows (throughput, latency), recovery within budget, replay isolation."""
from kfchaos.checkers import isolation, recovery, windows
from kfchaos.checkers.synth import Builder


def run(recover_ms=50, slow_latency=False, stop=True):
    b = Builder(step_ms=1)
    n = 0
    for i in range(50):                          # baseline: 50 sends, 2 ms latency
        b.send(f"a{i}", seq=n, o=n)
        n += 1
    b.fault("f1", "kill")
    b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": "slow", "seq": n})
    n += 1
    for i in range(20):                          # during the fault: no acks
        b.op("consumer-0", "ok", "noop", None)
    if stop:
        b.fault("f1", "kill", stop=True)
    b.sleep(recover_ms)
    b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": "slow", "seq": n - 1,
                                       "partition": 0, "offset": n - 1})
    for i in range(50):
        b.send(f"c{i}", seq=n, o=n)
        if slow_latency:
            b.sleep(5)
        n += 1
    b.poll([(0, 0, "a0")])
    return b


def test_phases_and_recovery_measured():
    v = windows.check(run().ops)
    assert v.valid == "valid"
    (w,) = v.stats["windows"]
    assert w["fault"] == "kill" and w["before"]["send_ok"] == 50
    assert w["during"]["send_ok"] == 0
    assert w["before"]["latency_ms"]["p50"] == 1.0
    assert 0.05 <= w["send_recovery_s"] <= 0.06
    assert w["poll_recovery_s"] > w["send_recovery_s"]
    assert v.stats["overall"]["send_ok"] == 101


def test_slow_recovery_budget():
    v = recovery.check(run(recover_ms=2000).ops, recovery_budget_s=1.0)
    assert v.counts() == {"slow-recovery": 1}
    ex = v.anomalies["slow-recovery"].examples[0]
    assert ex["fault_id"] == "f1" and ex["recovery_s"] > 1.0
    fast = recovery.check(run(recover_ms=10).ops, recovery_budget_s=1.0)
    assert fast.valid == "valid" and 0.005 <= fast.stats["recovery_s"] <= 0.03
    assert windows.check(run(recover_ms=2000).ops).counts() == {}      # windows only measures


def test_open_window_with_budget_is_unknown():
    v = recovery.check(run(stop=False).ops, recovery_budget_s=1.0)
    assert v.valid == "unknown"


def _harness_op(b, type_, f, value):
    b.op("harness", type_, f, value)
    return b


def test_cluster_never_healthy_after_heal_is_a_violation():
    b = _harness_op(run(), "invoke", "cluster-health", {})
    _harness_op(b, "fail", "cluster-health", {"waited_s": 180.0, "error": "NotReady: 2 brokers"})
    v = recovery.check(b.ops, recovery_budget_s=60)
    assert v.valid == "invalid" and v.counts() == {"not-healthy-after-heal": 1}


def test_cluster_health_counts_toward_recovery_and_its_budget():
    b = _harness_op(run(), "invoke", "cluster-health", {})
    _harness_op(b, "ok", "cluster-health", {"waited_s": 7.5})
    v = recovery.check(b.ops, recovery_budget_s=60)
    assert v.valid == "valid" and v.stats["recovery_s"] == 7.5
    assert recovery.check(b.ops, recovery_budget_s=5).counts() == {"slow-recovery": 1}


def test_a_flink_job_that_never_runs_again_has_not_recovered():
    b = _harness_op(run(), "ok", "job-recovery", {"job_id": "j", "state": "FAILED", "time_to_running_s": None})
    v = recovery.check(b.ops, recovery_budget_s=60)
    assert v.valid == "invalid" and v.counts() == {"job-not-running": 1}
    ok = _harness_op(run(), "ok", "job-recovery", {"job_id": "j", "state": "RUNNING", "time_to_running_s": 12.0})
    v = recovery.check(ok.ops, recovery_budget_s=60)
    assert v.valid == "valid" and v.stats["flink_time_to_running_s"] == 12.0 and v.stats["recovery_s"] == 12.0


def test_output_resume():
    b = run()
    v = windows.check(b.ops, output_topic="t")
    assert v.stats["windows"][0]["output_resume_s"] is not None


def test_replay_isolation_ratio_budget():
    b = run(slow_latency=True)
    ops = b.ops
    first, last = ops[0]["time"], ops[-1]["time"]
    fault_end = next(o["time"] for o in ops if o["f"] == "fault-stop" and o["type"] == "ok")
    base_w = (first, fault_end - 25_000_000)
    slow_w = (fault_end + 1, last)
    v = isolation.compare_windows(ops, slow_w, base_w, ratio_budget=2.0)
    assert v.counts() == {"latency-budget-exceeded": 1}
    assert isolation.compare_windows(ops, slow_w, base_w, ratio_budget=1000).valid == "valid"
    assert isolation.check(ops).valid == "unknown"                      # no backfill window
    # no acks during the fault: nothing to compare, so not flagged
    assert windows.check(ops, latency_ratio_budget=1.5).valid == "valid"


# the ratio alone (no allowance): these synthetic latencies are a few milliseconds
STRICT = {"backfill_p99_ratio": 2.0, "gap_s": 0, "replay_p99_allowance_ms": 0}


def _backfill_run(slow: bool):
    b = Builder(step_ms=1)
    n = 0
    for i in range(60):                          # baseline: 60 sends, 1 ms latency
        b.send(f"a{i}", seq=n, o=n)
        n += 1
    b.fault("bf", "backfill")
    for i in range(60):                          # during the replay: 1 ms, or 6 ms when starved
        send = {"topic": "t", "key": "k", "id": f"b{i}", "seq": n}
        b.op("producer-0", "invoke", "send", send)
        if slow:
            b.sleep(5)
        b.op("producer-0", "ok", "send", {**send, "partition": 0, "offset": n})
        n += 1
    b.fault("bf", "backfill", stop=True)
    return b


def test_replay_isolation_from_the_backfill_window_in_the_history():
    slow = isolation.check(_backfill_run(True).ops, **STRICT)
    assert slow.valid == "invalid" and slow.counts() == {"latency-budget-exceeded": 1}
    assert slow.stats["replay_fault"] == "bf"
    calm = isolation.check(_backfill_run(False).ops, **STRICT)
    assert calm.valid == "valid" and calm.stats["baseline"]["send_ok"] > 0


def slow_sends_in_a_fault(b, fault: str, ids: range, prefix: str, ms: int):
    """20 quick sends, then a fault window in which every send of ``ids`` takes ``ms``."""
    for i in range(20):
        b.send(f"a{i}", seq=i, o=i)
    b.fault("f1", fault)
    for i in ids:
        b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": f"{prefix}{i}", "seq": i})
        b.sleep(ms)
        b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": f"{prefix}{i}", "seq": i,
                                           "partition": 0, "offset": i})
    b.fault("f1", fault, stop=True)
    return b


def test_latency_budget_during_fault():
    b = slow_sends_in_a_fault(Builder(), "slow-disk", range(20, 40), "s", 20)
    v = windows.check(b.ops, latency_ratio_budget=2.0)
    assert v.counts() == {"latency-budget-exceeded": 1}
    ex = v.anomalies["latency-budget-exceeded"].examples[0]
    assert ex["fault_id"] == "f1" and ex["window_p99_ms"] > 2 * ex["baseline_p99_ms"]


def test_replay_isolation_reports_live_consume_lag():
    b = _backfill_run(False)
    sends = [o for o in b.ops if o["f"] == "send" and o["type"] == "ok"]
    b.poll([(0, o["value"]["offset"], o["value"]["id"]) for o in sends[-5:]])
    v = isolation.check(b.ops, **STRICT)
    assert v.stats["window_lag_ms"]["n"] == 0                  # polled after the window
    assert v.stats["baseline_lag_ms"]["n"] == 0
    lag = isolation.consume_lag(isolation.as_index(b.ops), (0, 2**62))
    assert lag["n"] == 5 and lag["p99"] is not None and lag["p99"] > 0


def test_replay_within_ratio_over_a_busy_baseline_is_unknown_not_held():
    """A baseline already slower than budgets.replay_baseline_p99_ms decides nothing when the
    replay stays within the ratio (a starved host); a replay past the ratio is still caught."""
    calm = isolation.check(_backfill_run(False).ops, **STRICT, replay_baseline_p99_ms=0.5)
    assert calm.valid == "unknown" and "baseline was not quiet" in calm.reason
    assert calm.stats["baseline_p99_max_ms"] == 0.5
    slow = isolation.check(_backfill_run(True).ops, **STRICT, replay_baseline_p99_ms=0.5)
    assert slow.valid == "invalid" and slow.counts() == {"latency-budget-exceeded": 1}
    assert isolation.check(_backfill_run(False).ops, **STRICT).valid == "valid"


def test_replay_may_add_the_allowance_to_a_quiet_baseline_whatever_the_ratio():
    """Over a quiet baseline (1 ms here) a replay that adds less than the allowance holds
    although its p99 ratio is 6x; one that adds more is flagged, naming the allowance."""
    run = _backfill_run(True).ops                          # 1 ms, then 6 ms: ratio 6, +5 ms
    held = isolation.check(run, backfill_p99_ratio=2.0, gap_s=0, replay_p99_allowance_ms=10)
    assert held.valid == "valid" and held.stats["allowance_ms"] == 10
    flagged = isolation.check(run, backfill_p99_ratio=2.0, gap_s=0, replay_p99_allowance_ms=4)
    assert flagged.counts() == {"latency-budget-exceeded": 1}
    ex = flagged.anomalies["latency-budget-exceeded"].examples[0]
    assert ex["allowance_ms"] == 4 and ex["window_p99_ms"] > ex["baseline_p99_ms"] + 4
    # the shipped default is far above what these milliseconds add
    assert isolation.check(run, backfill_p99_ratio=2.0, gap_s=0).valid == "valid"

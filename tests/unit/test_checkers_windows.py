"""Fault windows: throughput, latency, recovery and budgets."""
from harness.checkers import replay_isolation, windows
from harness.checkers.synth import Builder


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
    v = windows.check(run(recover_ms=2000).ops, recovery_budget_s=1.0)
    assert v.counts() == {"slow-recovery": 1}
    ex = v.anomalies["slow-recovery"].examples[0]
    assert ex["fault_id"] == "f1" and ex["recovery_s"] > 1.0
    assert windows.check(run(recover_ms=10).ops, recovery_budget_s=1.0).valid == "valid"


def test_open_window_with_budget_is_unknown():
    v = windows.check(run(stop=False).ops, recovery_budget_s=1.0)
    assert v.valid == "unknown"


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
    v = replay_isolation(ops, slow_w, base_w, ratio_budget=2.0)
    assert v.counts() == {"latency-budget-exceeded": 1}
    assert replay_isolation(ops, slow_w, base_w, ratio_budget=1000).valid == "valid"
    assert replay_isolation(ops, "nope").valid == "unknown"
    # no acks during the fault: nothing to compare, so not flagged
    assert windows.check(ops, latency_ratio_budget=1.5).valid == "valid"


def test_latency_budget_during_fault():
    b = Builder()
    for i in range(20):
        b.send(f"a{i}", seq=i, o=i)
    b.fault("f1", "slow-disk")
    for i in range(20, 40):
        b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": f"s{i}", "seq": i})
        b.sleep(20)
        b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": f"s{i}", "seq": i,
                                           "partition": 0, "offset": i})
    b.fault("f1", "slow-disk", stop=True)
    v = windows.check(b.ops, latency_ratio_budget=2.0)
    assert v.counts() == {"latency-budget-exceeded": 1}
    ex = v.anomalies["latency-budget-exceeded"].examples[0]
    assert ex["fault_id"] == "f1" and ex["window_p99_ms"] > 2 * ex["baseline_p99_ms"]

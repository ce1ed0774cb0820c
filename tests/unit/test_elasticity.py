"""Scale-out/in figures from a synthetic history, and the scale-in plan."""
import pytest

from kfchaos import elasticity
from kfchaos.checkers import HistoryIndex
from kfchaos.checkers.synth import Builder
from kfchaos.platform.reassign import ReassignError, plan_off

BEFORE = [{"topic": "t", "partition": 0, "replicas": [1, 2, 3]},
          {"topic": "t", "partition": 1, "replicas": [2, 3, 1]}]
PLAN = [{"topic": "t", "partition": 0, "replicas": [4, 2, 3]},     # 4 replaces 1
        {"topic": "t", "partition": 1, "replicas": [2, 3, 1]}]     # unchanged
SIZES = {"4": {"t-0": 5_000_000}, "1": {"t-0": 4_900_000, "t-1": 5_000_000}}


def _sends(b: Builder, n: int, latency_ms: float, base: int = 0) -> None:
    for i in range(n):
        rid = f"s{base + i}"
        b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": rid, "seq": base + i})
        b.sleep(latency_ms)
        b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": rid, "seq": base + i,
                                          "partition": 0, "offset": base + i})
        b.sleep(10)
        b.poll([(0, base + i, rid)])


def _history(ok: bool = True) -> HistoryIndex:
    b = Builder()
    _sends(b, 20, 5)                         # before the move: fast
    b.op("harness", "ok", elasticity.SCALE_F, {"action": "add", "node_id": 4, "zone": "a", "seconds": 12.0})
    t0 = b.now
    _sends(b, 20, 80, base=100)              # during the move: slower
    value = {"move": "scale-out", "start": t0, "before": BEFORE, "plan": PLAN, "throttle": 5_000_000}
    if ok:
        b.op("harness", "ok", elasticity.REASSIGN_F, {**value, "end": b.now, "sizes": SIZES, "polls": 7})
    else:
        b.op("harness", "fail", elasticity.REASSIGN_F, {**value, "error": "TimeoutError: not balanced"})
    _sends(b, 20, 5, base=200)
    b.op("harness", "ok", elasticity.REASSIGN_F, {
        "move": "scale-in", "start": b.now, "end": b.now + 3_000_000_000, "before": PLAN, "plan": BEFORE[:1],
        "sizes": SIZES, "throttle": 5_000_000})
    b.op("harness", "ok", elasticity.SCALE_F, {"action": "remove", "node_id": 4, "seconds": 4.5})
    b.op("harness", "ok", elasticity.THROTTLE_F, {"left": []})
    return HistoryIndex(b.ops)


def test_added_replicas_are_the_plans_replicas_not_there_before():
    assert elasticity.added_replicas(BEFORE, PLAN) == [("t", 0, 4)]
    assert elasticity.added_replicas(PLAN, BEFORE[:1]) == [("t", 0, 1)]


def test_scale_out_figures_come_from_the_move_window():
    f = elasticity.figures_of(_history())
    out, back = f["scale_moves"]
    assert out["move"] == "scale-out" and out["replicas_moved"] == 1 and out["partitions_moved"] == 2
    assert f["bytes_moved"] == 5_000_000 == out["bytes_moved"]        # t-0 on broker 4 only
    assert f["bytes_moved_scale_in"] == 4_900_000                      # t-0 back on broker 1
    assert f["live_p99_ms_during_move"] == pytest.approx(80.0, abs=1)  # only the slow sends
    assert 80 <= f["consumer_lag_p99_ms_during_move"] <= 95
    assert f["time_to_balance_s"] == out["time_to_balance_s"] > 1.5   # 20 x (80 + 10) ms
    assert f["decommission_s"] == 7.5                                  # 3 s drained + 4.5 s removed
    assert f["throttle_left"] == "none (removed)"
    assert f["broker_added"] == {"node_id": 4, "zone": "a", "seconds": 12.0}
    assert f["broker_removed"] == {"node_id": 4, "seconds": 4.5}


def test_a_move_that_never_balanced_has_no_time_and_says_why():
    f = elasticity.figures_of(_history(ok=False))
    assert f["time_to_balance_s"] is None and f["bytes_moved"] is None
    assert f["scale_moves"][0]["error"] == "TimeoutError: not balanced"


def test_no_reassignment_no_figure():
    b = Builder()
    b.send("a", o=0)
    assert elasticity.figures_of(HistoryIndex(b.ops)) == {}


def test_scale_in_plan_keeps_order_and_prefers_the_same_rack():
    current = [{"topic": "t", "partition": 0, "replicas": [4, 2, 3]},
               {"topic": "t", "partition": 1, "replicas": [2, 4, 1]},
               {"topic": "t", "partition": 2, "replicas": [1, 2, 3]}]
    racks = {1: "a", 2: "b", 3: "c", 4: "a"}
    plan = plan_off(current, 4, [1, 2, 3], racks)
    assert plan == [{"topic": "t", "partition": 0, "replicas": [1, 2, 3]},     # rack a: broker 1
                    {"topic": "t", "partition": 1, "replicas": [2, 3, 1]}]     # 1 taken: the only free one
    with pytest.raises(ReassignError):
        plan_off([{"topic": "t", "partition": 0, "replicas": [1, 2, 3, 4]}], 4, [1, 2, 3], racks)


def test_stateless_kinds_are_not_applicable_with_the_stateless_answer():
    from kfchaos.platform.flavors import flavor_for
    from kfchaos.scenarios.scale_out_in import applicable
    assert applicable(flavor_for("kafka")) is None and applicable(flavor_for("kafka-tiered")) is None
    why = applicable(flavor_for("tansu"))
    assert why.startswith("tansu: stateless brokers") and "0 bytes moved" in why and "no JVM" in why
    assert "cannot yet launch a broker-only node" in applicable(flavor_for("automq"))


def test_the_broker_only_node_keeps_the_zone_settings_and_drops_the_controller_role():
    from kfchaos.platform.config import PlatformConfig, render_server_properties
    from kfchaos.platform.scaling import broker_only_properties
    cfg = PlatformConfig()
    text = broker_only_properties(render_server_properties(cfg, "a", 1001, 1002), "a", 4, 2001, 2002)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["process.roles"] == "broker" and props["node.id"] == "4" and props["broker.rack"] == "a"
    assert props["controller.quorum.voters"].startswith("1@kafka-a:9201")
    assert "CONTROLLER://" not in props["listeners"] and "REPLICATION://kafka-a4:9104" in props["advertised.listeners"]
    assert "EXTERNAL://127.0.0.1:2001" in props["advertised.listeners"]

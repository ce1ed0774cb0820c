"""Every fault against the real platform: its effect is proven, it heals, and the cluster
is healthy again (all brokers in metadata, produce and consume work)."""
from __future__ import annotations

import pytest

from kfchaos.faults.base import FaultError, FaultSpec
from kfchaos.faults.nemesis import Nemesis
from kfchaos.faults.targets import active_controller, partition_leader
from kfchaos.history import History, load
from kfchaos.platform.health import broker_ids, wait_healthy
from tests.integration.kafka_io import consume_all, produce

pytestmark = [pytest.mark.platform, pytest.mark.fault]


@pytest.fixture
def history(tmp_path):
    h = History(tmp_path / "history.jsonl")
    yield h
    h.close()


@pytest.fixture
def nemesis(platform, history, pytestconfig):
    with Nemesis(platform, history, seed=pytestconfig.getoption("--chaos-seed")) as n:
        yield n


def assert_healthy(platform, new_topic, n: int = 200) -> None:
    wait_healthy(platform, timeout=180)
    assert len(broker_ids(platform)) == len(platform.zones)
    topic = new_topic()
    acked = produce(platform.bootstrap_servers, topic, n)
    assert sorted(consume_all(platform.bootstrap_servers, topic, n)) == sorted(acked)


def fault_ops(history_path, fault: str) -> list[dict]:
    return [op for op in load(history_path) if op["f"].startswith("fault-") and op["value"]["fault"] == fault]




def test_kill_partition_leader_then_restart(platform, nemesis, history, new_topic, tmp_path):
    topic = new_topic()
    leader = partition_leader(platform, topic, 0)
    fid = nemesis.start(FaultSpec("kill", f"leader:{topic}:0"))
    start_ok = [op for op in load(tmp_path / "history.jsonl") if op["f"] == "fault-start" and op["type"] == "ok"][-1]
    proof = start_ok["value"]["proof"]
    zone = start_ok["value"]["target"][0]
    assert platform.cfg.node_id(zone) == leader
    assert "exit code 137" in proof["container_status"][f"kafka-{zone}"]
    assert leader not in broker_ids(platform)
    assert partition_leader(platform, topic, 0) != leader, "leadership did not move"
    nemesis.stop(fid)
    assert leader in broker_ids(platform)
    assert_healthy(platform, new_topic)


def test_kill_active_controller_moves_leadership(platform, nemesis, new_topic):
    before = active_controller(platform)
    with nemesis.fault(FaultSpec("kill", "controller")):
        after = active_controller(platform)
        assert after != before
    assert_healthy(platform, new_topic)


def test_pause_stops_the_jvm_and_resume_continues(platform, nemesis, history, tmp_path, new_topic):
    with nemesis.fault(FaultSpec("pause", "zone:b")):
        code, out = platform.brokers["b"].exec(["ps", "-o", "stat=", "-p", "1"])
        assert out.strip().startswith("T")
    code, out = platform.brokers["b"].exec(["ps", "-o", "stat=", "-p", "1"])
    assert not out.strip().startswith("T")
    ops = fault_ops(tmp_path / "history.jsonl", "pause")
    assert [op["type"] for op in ops] == ["invoke", "ok", "invoke", "ok"]
    assert_healthy(platform, new_topic)


def test_rolling_restart_keeps_cluster_available(platform, nemesis, tmp_path, new_topic):
    with nemesis.fault(FaultSpec("rolling-restart", "all")):
        pass
    ok = [op for op in fault_ops(tmp_path / "history.jsonl", "rolling-restart")
          if op["f"] == "fault-start" and op["type"] == "ok"][0]
    assert [s["broker"] for s in ok["value"]["proof"]["steps"]] == ["kafka-a", "kafka-b", "kafka-c"]
    assert_healthy(platform, new_topic)


def test_isolate_zone_cuts_direct_and_proxied_paths_then_heals(platform, nemesis, tmp_path, new_topic):
    topic = new_topic()
    c_id = platform.cfg.node_id("c")
    majority_led = [p for p in range(3) if partition_leader(platform, topic, p) != c_id]
    with nemesis.fault(FaultSpec("isolate-zone", "zone:c")):
        ok = [op for op in load(tmp_path / "history.jsonl") if op["f"] == "fault-start" and op["type"] == "ok"][-1]
        probes = ok["value"]["proof"]["probes"]
        assert probes and not any(p["connected"] for p in probes)
        assert any(p["from"].startswith("toxiproxy-") for p in probes), "proxied path not probed"
        # Partitions led by the majority (a, b) still accept acks=all writes once c leaves the ISR.
        for p in majority_led:
            assert len(produce(platform.bootstrap_servers, topic, 50, partition=p)) == 50
    rules = platform.brokers["c"].exec(["iptables", "-S"], user="root")[1]
    assert "chaos-" not in rules
    assert_healthy(platform, new_topic)


def test_one_way_and_split(platform, nemesis, new_topic):
    with nemesis.fault(FaultSpec("one-way", "zone:a")):
        pass
    with nemesis.fault(FaultSpec("partition", "", params={"groups": [["a", "b"], ["c"]]})):
        pass
    assert_healthy(platform, new_topic)


def test_zone_latency_shows_in_measured_round_trip(platform, nemesis, tmp_path):
    with nemesis.fault(FaultSpec("zone-latency", "a-b", params={"delay_ms": 200, "jitter_ms": 10})):
        proxies = platform.toxiproxy["a"].get("repl-a-b")
        assert [t.type for t in proxies.toxics] == ["latency"]
    ok = [op for op in load(tmp_path / "history.jsonl") if op["f"] == "fault-start" and op["type"] == "ok"][-1]
    proof = ok["value"]["proof"]
    assert proof["rtt_ms_during"] >= proof["rtt_ms_before"] + 100
    assert "toxiproxy" in proof["method"]
    assert platform.toxiproxy["a"].get("repl-a-b").toxics == ()


def test_zone_loss_and_bandwidth_are_applied_and_removed(platform, nemesis, tmp_path, new_topic):
    with nemesis.fault(FaultSpec("zone-loss", "zone:b", params={"probability": 0.5})):
        produce(platform.bootstrap_servers, new_topic(), 200)   # traffic so the counters move
    stop = [op for op in load(tmp_path / "history.jsonl") if op["f"] == "fault-stop" and op["type"] == "ok"][-1]
    assert sum(stop["value"]["proof"]["dropped_packets_total"].values()) > 0
    assert all(v == 0 for v in stop["value"]["proof"]["rules_left"].values())
    with nemesis.fault(FaultSpec("zone-bandwidth", "zone:b", params={"rate": "2mbit"})):
        qdisc = platform.brokers["b"].exec(["tc", "qdisc", "show", "dev", "eth0"], user="root")[1]
        assert "tbf" in qdisc
    assert "tbf" not in platform.brokers["b"].exec(["tc", "qdisc", "show", "dev", "eth0"], user="root")[1]
    assert_healthy(platform, new_topic)


def test_client_path_toxics(platform, nemesis):
    for kind in ("latency", "down"):
        with nemesis.fault(FaultSpec(f"client-{kind}", "all", params={"latency_ms": 300})):
            if kind == "down":
                assert not platform.toxiproxy["a"].get("client-a").enabled
            else:

                produce(platform.proxied_bootstrap_servers, "__consumer_offsets_probe", 0)
                assert platform.toxiproxy["a"].get("client-a").toxics
        assert platform.toxiproxy["a"].get("client-a").enabled
        assert platform.toxiproxy["a"].get("client-a").toxics == ()


@pytest.mark.parametrize("kind", ["down", "timeout", "latency"])
def test_s3_toxics_take_effect_and_heal(platform, nemesis, tmp_path, kind):
    with nemesis.fault(FaultSpec(f"s3-{kind}", "all", params={"latency_ms": 400})):
        pass
    ops = [op for op in load(tmp_path / "history.jsonl") if op["type"] == "ok"]
    start, stop = ops[-2]["value"]["proof"], ops[-1]["value"]["proof"]
    assert start["probe_before"]["ok"]
    if kind == "latency":
        assert start["probe_during"]["seconds"] >= start["probe_before"]["seconds"] + 0.3
    else:
        assert not start["probe_during"]["ok"]
    assert stop["probe_after"]["ok"]


def test_brokers_cut_off_from_object_storage(platform, nemesis):
    with nemesis.fault(FaultSpec("isolate-object-storage", "flink")):
        pass
    from kfchaos.faults.toxics import s3_probe
    assert s3_probe(platform)["ok"]


def test_flink_taskmanager_kill_and_restart(platform, nemesis, tmp_path):
    with nemesis.fault(FaultSpec("flink-kill", "taskmanager")):
        assert "exited" in platform.flink_taskmanagers[0].state()
    assert platform.flink_taskmanagers[0].running()


def test_exception_mid_partition_leaves_nothing_behind(platform, history):
    """A test that raises in the middle of faults: the nemesis heals everything on exit."""
    with pytest.raises(RuntimeError, match="boom"):
        with Nemesis(platform, history) as nemesis:
            nemesis.start(FaultSpec("isolate-zone", "zone:a"))
            nemesis.start(FaultSpec("zone-latency", "b-c", params={"delay_ms": 50}))
            nemesis.start(FaultSpec("zone-bandwidth", "zone:b", params={"rate": "5mbit"}))
            nemesis.start(FaultSpec("pause", "zone:c"))
            raise RuntimeError("boom")
    for node in platform.nodes():
        if node.role in ("kafka", "toxiproxy", "flink-jobmanager", "flink-taskmanager"):
            rules = node.exec(["iptables", "-S"], user="root")[1]
            assert "chaos-" not in rules, f"{node.name} kept rules: {rules}"
            assert "tbf" not in node.exec(["tc", "qdisc", "show", "dev", "eth0"], user="root")[1]
    for zone, api in platform.toxiproxy.items():
        for name, proxy in api.proxies().items():
            assert proxy.enabled and proxy.toxics == (), f"{zone}/{name} kept {proxy}"
    assert not platform.brokers["c"].exec(["ps", "-o", "stat=", "-p", "1"])[1].strip().startswith("T")
    wait_healthy(platform, timeout=120)


def test_unknown_fault_and_bad_target_are_clear_errors(platform, history):
    with Nemesis(platform, history) as nemesis:
        with pytest.raises(FaultError, match="unknown fault 'explode'"):
            nemesis.start(FaultSpec("explode"))
        with pytest.raises(FaultError, match="unknown zone 'q'"):
            nemesis.start(FaultSpec("kill", "zone:q"))


def test_replace_broker_with_empty_disk_re_replicates(platform, nemesis, tmp_path, new_topic):
    topic = new_topic()
    produce(platform.bootstrap_servers, topic, 2000)
    with nemesis.fault(FaultSpec("replace-broker", "zone:b")):
        pass
    ops = [op for op in load(tmp_path / "history.jsonl") if op["type"] == "ok"]
    start, stop = ops[-2]["value"]["proof"], ops[-1]["value"]["proof"]
    assert start["new_container"] != start["old_container"]
    assert start["data_bytes_at_start"] < start["data_bytes_before"]
    assert stop["bytes_re_replicated"] > 0 and stop["seconds_to_full_isr"] > 0
    assert_healthy(platform, new_topic)


def test_overlapping_scheduled_faults_really_overlap_and_heal(platform, history, tmp_path, new_topic):
    import threading
    import time
    schedule = [FaultSpec("pause", "zone:c", start=0.5, duration=8),
                FaultSpec("client-latency", "all", start=2, duration=3, params={"latency_ms": 100})]
    with Nemesis(platform, history) as nemesis:
        errors = nemesis.run_schedule(schedule, time.monotonic(), threading.Event())
        assert errors == [] and nemesis.active == {}
    ops = [op for op in load(tmp_path / "history.jsonl") if op["f"].startswith("fault-")]
    at = {(op["value"]["fault"], op["f"], op["type"]): op["index"] for op in ops}
    assert at[("pause", "fault-start", "ok")] < at[("client-latency", "fault-start", "invoke")]
    assert at[("client-latency", "fault-stop", "ok")] < at[("pause", "fault-stop", "invoke")]
    assert not platform.brokers["c"].exec(["ps", "-o", "stat=", "-p", "1"])[1].strip().startswith("T")
    assert platform.toxiproxy["a"].get("client-a").toxics == ()
    assert_healthy(platform, new_topic)


def test_platform_tools_controller_and_quota(platform):
    assert platform.controller_id() in [platform.cfg.node_id(z) for z in platform.zones]
    assert platform.apply_quota("chaos-probe", {"consumer_byte_rate": 1048576}) == \
        "chaos-probe: consumer_byte_rate=1048576"
    code, out = platform.run_tool("configs", ["--bootstrap-server", "localhost:9092", "--describe",
                                              "--entity-type", "clients", "--entity-name", "chaos-probe"])
    assert code == 0 and "consumer_byte_rate=1048576" in out

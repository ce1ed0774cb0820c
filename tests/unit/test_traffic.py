"""The cross-zone traffic arithmetic on synthetic counters, the accounting rules of a zone,
the parser over an ``iptables-save -c`` text captured from the real Toxiproxy image, and
the profile's prices."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kfchaos import profiles, traffic
from kfchaos.platform.config import PlatformConfig
from kfchaos.platform.traffic import TAG, accounting_rules, ensure_script, parse_counters

CAPTURED = Path(__file__).parent / "data" / "iptables-save-c.txt"
IPS = {"kafka-a": "10.0.0.2", "kafka-b": "10.0.0.3", "kafka-c": "10.0.0.4", "minio": "10.0.0.9"}


def counters(**paths):
    """a_b_replication=7 -> {"a->b:replication": 7} (storage and host are names like zones)."""
    out = {}
    for name, n in paths.items():
        src, dst, kind = name.split("_", 2)
        out[f"{src}->{dst}:{kind}"] = n
    return out


def op(phase, zones=None, **extra):
    return {"type": "ok", "f": "traffic", "value": {"phase": phase, "zones": zones or {}, "errors": {}, **extra}}


def test_parser_reads_a_real_iptables_save_text_and_only_the_accounting_rules():
    assert parse_counters(CAPTURED.read_text()) == {"a->b:replication": 1215, "b->a:replication": 1209,
                                                    "a->storage:object_storage": 0}


def test_each_zone_counts_both_directions_of_every_path_across_its_boundary():
    rules = dict(accounting_rules(PlatformConfig(), "a", IPS))
    assert sorted(rules) == sorted([
        "a->b:replication", "b->a:replication", "a->b:controller", "b->a:controller",
        "a->c:replication", "c->a:replication", "a->c:controller", "c->a:controller",
        "a->storage:object_storage", "storage->a:object_storage", "host->a:client", "a->host:client"])
    assert rules["a->b:replication"] == ["OUTPUT", "-p", "tcp", "-d", "10.0.0.3", "--dport", "9102"]
    assert rules["c->a:controller"] == ["INPUT", "-p", "tcp", "-s", "10.0.0.4", "--sport", "9203"]
    assert rules["storage->a:object_storage"] == ["INPUT", "-p", "tcp", "-s", "10.0.0.9", "--sport", "9000"]


def test_the_script_adds_only_missing_rules_first_in_their_chain():
    script = ensure_script(accounting_rules(PlatformConfig(), "b", IPS))
    first = script.splitlines()[0]
    assert first.startswith("iptables -w -C OUTPUT ") and " || iptables -w -I OUTPUT 1 " in first
    assert f"'{TAG} b->a:replication'" in first
    assert script.splitlines()[-1] == "iptables-save -c"


@pytest.mark.parametrize("key, path", [
    ("a->b:replication", ("a", "b", "replication")),
    ("storage->c:object_storage", ("storage", "c", "object_storage")),
    ("eu-1->eu-2:controller", ("eu-1", "eu-2", "controller")),
    ("a->b", None), ("->b:replication", None), ("nonsense", None),
])
def test_counter_keys_name_their_path(key, path):
    assert traffic.path_of(key) == path


def test_deltas_per_ordered_pair_sum_both_zones_and_subtract_the_start():
    start = {"a": counters(a_b_replication=10, b_a_replication=100), "b": counters(b_a_replication=5)}
    end = {"a": counters(a_b_replication=30, b_a_replication=5_100, a_storage_object_storage=7),
           "b": counters(b_a_replication=25, a_b_replication=3_000)}      # b's own connection to a
    t = traffic.traffic(start, end)
    assert t.pairs("replication") == {"a->b": 20 + 3_000, "b->a": 5_000 + 20}
    assert t.cross_zone == 8_040 and t.object_storage == 7 and t.resets == 0


def test_a_reset_counter_counts_from_zero_and_is_reported():
    start = {"a": counters(b_a_replication=1_000)}
    end = {"a": counters(b_a_replication=300)}             # the container was replaced
    t = traffic.traffic(start, end)
    assert t.pairs("replication") == {"b->a": 300} and t.resets == 1


def test_figures_normalise_per_mb_and_price_per_gb():
    start = op("start", {"a": counters(a_b_replication=0)}, prices={"cross_zone_per_gb": 0.02})
    end = op("end", {"a": counters(a_b_replication=1_000_000, b_a_replication=3_000_000,
                                   a_storage_object_storage=500, storage_a_object_storage=500,
                                   host_a_client=40)},
             )
    clients = [{"type": "ok", "value": {"role": "produce", "bytes": 2_000_000}},
               {"type": "ok", "value": {"role": "consume", "bytes": 4_000_000}},
               {"type": "info", "value": {"role": "consume", "bytes": 99}}]
    f = traffic.figures_of_ops([start, end], clients)
    assert f["cross_zone_bytes"] == 4_000_000
    assert f["cross_zone_bytes_per_mb_produced"] == 2_000_000
    assert f["cross_zone_bytes_per_mb_consumed"] == 1_000_000
    assert f["cross_zone_pairs"] == {"a->b": 1_000_000, "b->a": 3_000_000}
    assert f["object_storage_traffic_bytes"] == 1_000
    assert f["client_proxy_traffic_bytes"] == 40
    assert f["traffic_paths"] == {"a->storage": 500, "storage->a": 500, "host->a": 40}
    assert f["traffic_cost"] == {"cross_zone": 0.00008, "total": 0.00008}
    assert "traffic_counter_resets" not in f


def test_no_prices_no_cost_and_nothing_produced_is_said_not_zeroed():
    f = traffic.figures(op("start")["value"], op("end")["value"], 0, 0)
    assert f["cross_zone_bytes"] == 0
    assert "traffic_cost" not in f
    assert f["cross_zone_bytes_per_mb_produced"] == "no records produced"


def test_a_platform_without_zone_proxies_is_not_applicable_never_zero():
    start = {"phase": "start", "unavailable": "external: no per-zone Toxiproxy"}
    f = traffic.figures(start, {"phase": "end", "unavailable": "external: no per-zone Toxiproxy"})
    assert f == {"cross_zone_bytes": "not applicable: external: no per-zone Toxiproxy"}


def test_an_unreadable_zone_or_a_missing_end_makes_the_figure_unknown():
    start = op("start", {"a": {}})["value"]
    end = {**op("end", {"a": {}})["value"], "errors": {"b": "no /metrics"}}
    assert traffic.figures(start, end) == {"cross_zone_bytes": "unknown: zone b: no /metrics"}
    assert traffic.figures(start, None)["cross_zone_bytes"].startswith("unknown: no end sample")
    assert traffic.figures(None, None) == {}


def test_profile_prices_are_read_and_optional(tmp_path):
    base = {"name": "priced", "platform": {"kind": "kafka", "zones": ["a", "b", "c"],
                                           "cost": {"cross_zone_per_gb": 0.02, "object_storage_per_gb": 0}}}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(base))
    assert profiles.load(str(path)).prices == {"cross_zone_per_gb": 0.02, "object_storage_per_gb": 0.0}
    assert profiles.load("kafka-3az").prices == {}


def test_a_platform_the_harness_does_not_run_records_why_not_a_zero(tmp_path):
    from types import SimpleNamespace

    from kfchaos.history import History, load
    from kfchaos.platform.traffic import record
    external = SimpleNamespace(cfg=SimpleNamespace(kind="external"), toxiproxy={"a": object()})
    with History(tmp_path / "h.jsonl") as h:
        record(h, external, "start", {"cross_zone_per_gb": 0.01})
        record(h, external, "end")
    ops = load(tmp_path / "h.jsonl")
    f = traffic.figures_of_ops(ops, [])
    assert f["cross_zone_bytes"].startswith("not applicable: external: the harness does not run")
    assert ops[0]["value"]["prices"] == {"cross_zone_per_gb": 0.01}


def test_pairs_read_as_bytes_per_path_and_a_reason_reads_as_itself():
    from kfchaos.figures import figure
    assert figure("cross_zone_pairs").fmt({"a->b": 237_831, "b->a": 12}) == "a->b 232.3 KiB; b->a 12 B"
    assert figure("cross_zone_bytes").fmt("not applicable: no zones") == "not applicable: no zones"
    assert figure("cross_zone_bytes").fmt(1_347_371) == "1.3 MiB"

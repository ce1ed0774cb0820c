"""The cross-zone traffic arithmetic on synthetic counters, the /metrics parser on a text
captured from a real Toxiproxy 2.12.0 (started with -proxy-metrics), and the profile's prices."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import profiles, traffic
from harness.platform.traffic import parse_metrics

CAPTURED = Path(__file__).parent / "data" / "toxiproxy-2.12.0-metrics.txt"


def counters(**proxies):
    """proxy=(upstream sent, downstream received) -> the shape of a sample."""
    return {p.replace("_", "-"): {"upstream": {"sent": up, "received": up},
                                  "downstream": {"sent": down, "received": down}}
            for p, (up, down) in proxies.items()}


def op(phase, zones=None, **extra):
    return {"type": "ok", "f": "traffic", "value": {"phase": phase, "zones": zones or {}, "errors": {}, **extra}}


def test_parser_reads_a_real_toxiproxy_metrics_text():
    got = parse_metrics(CAPTURED.read_text())
    assert got == {"repl-a-b": {"downstream": {"sent": 561, "received": 561},
                                "upstream": {"sent": 258, "received": 258}}}


def test_parser_ignores_other_families_and_keeps_sent_and_received_apart():
    text = ("# TYPE go_goroutines gauge\ngo_goroutines 12\n"
            "# TYPE toxiproxy_proxy_sent_bytes_total counter\n"
            'toxiproxy_proxy_sent_bytes_total{direction="upstream",listener="[::]:9101",proxy="repl-a-b",'
            'upstream="kafka-b:9102"} 1000\n'
            "# TYPE toxiproxy_proxy_received_bytes_total counter\n"
            'toxiproxy_proxy_received_bytes_total{direction="upstream",listener="[::]:9101",proxy="repl-a-b",'
            'upstream="kafka-b:9102"} 1200\n')
    assert parse_metrics(text) == {"repl-a-b": {"upstream": {"sent": 1000, "received": 1200}}}


@pytest.mark.parametrize("zone, proxy, direction, path", [
    ("a", "repl-a-b", "upstream", ("a", "b", "replication")),
    ("a", "repl-a-b", "downstream", ("b", "a", "replication")),
    ("c", "ctrl-c-a", "upstream", ("c", "a", "controller")),
    ("b", "s3-b", "upstream", ("b", "storage", "object_storage")),
    ("b", "s3-b", "downstream", ("storage", "b", "object_storage")),
    ("a", "client-a", "upstream", ("host", "a", "client")),
    ("a", "client-a", "downstream", ("a", "host", "client")),
    ("eu-1", "repl-eu-1-eu-2", "downstream", ("eu-2", "eu-1", "replication")),
    ("a", "repl-b-c", "upstream", None),        # not this zone's proxy
    ("a", "my-proxy", "upstream", None),
])
def test_each_proxy_maps_to_its_zone_path(zone, proxy, direction, path):
    assert traffic.path_of(zone, proxy, direction) == path


def test_deltas_per_ordered_pair_with_start_values_subtracted():
    start = {"a": counters(repl_a_b=(10, 100)), "b": counters(repl_b_a=(5, 50))}
    end = {"a": counters(repl_a_b=(30, 5_100), s3_a=(7, 9)), "b": counters(repl_b_a=(25, 3_050))}
    t = traffic.traffic(start, end)
    # a->b: a's fetch requests (20) plus what b's broker pulled from a (3000)
    assert t.pairs("replication") == {"a->b": 20 + 3_000, "b->a": 5_000 + 20}
    assert t.cross_zone == 8_040 and t.object_storage == 16 and t.resets == 0


def test_a_reset_counter_counts_from_zero_and_is_reported():
    start = {"a": counters(repl_a_b=(0, 1_000))}
    end = {"a": counters(repl_a_b=(0, 300))}             # the Toxiproxy restarted
    t = traffic.traffic(start, end)
    assert t.pairs("replication") == {"a->b": 0, "b->a": 300} and t.resets == 1


def test_sent_upstream_and_received_downstream_are_the_hops_that_leave_the_zone():
    zones = {"a": {"repl-a-b": {"upstream": {"sent": 4, "received": 9},
                                "downstream": {"sent": 1, "received": 70}}}}
    assert traffic.traffic({}, zones).pairs("replication") == {"a->b": 4, "b->a": 70}


def test_figures_normalise_per_mb_and_price_per_gb():
    start = op("start", {"a": counters(repl_a_b=(0, 0))}, prices={"cross_zone_per_gb": 0.02})
    end = op("end", {"a": counters(repl_a_b=(1_000_000, 3_000_000), s3_a=(500, 500)),
                     "b": counters(repl_b_a=(0, 0))})
    clients = [{"type": "ok", "value": {"role": "produce", "bytes": 2_000_000}},
               {"type": "ok", "value": {"role": "consume", "bytes": 4_000_000}},
               {"type": "info", "value": {"role": "consume", "bytes": 99}}]
    f = traffic.figures_of_ops([start, end], clients)
    assert f["cross_zone_bytes"] == 4_000_000
    assert f["cross_zone_bytes_per_mb_produced"] == 2_000_000
    assert f["cross_zone_bytes_per_mb_consumed"] == 1_000_000
    assert f["cross_zone_pairs"] == {"a->b": 1_000_000, "b->a": 3_000_000}
    assert f["object_storage_traffic_bytes"] == 1_000
    assert f["traffic_paths"] == {"a->storage": 500, "storage->a": 500}
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

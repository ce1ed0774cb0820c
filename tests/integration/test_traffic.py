"""Cross-zone traffic on the real platform: the zone proxies' counters see replication
across every zone pair while records are produced, and a fault-free read adds none."""
from __future__ import annotations

import pytest

from kfchaos import traffic
from kfchaos.history import History, load
from kfchaos.platform import traffic as sampler
from tests.integration.kafka_io import consume_all, produce

pytestmark = [pytest.mark.platform]

RECORDS, SIZE = 800, 10_000           # 8 MB of values
N = RECORDS * SIZE


def figures_between(platform, tmp_path, name: str, action) -> dict:
    """Record a start and an end sample around ``action`` in a history and compute the
    figures from the stored ops, as `kfchaos analyze` does."""
    with History(tmp_path / f"{name}.jsonl") as h:
        sampler.record(h, platform, "start", {"cross_zone_per_gb": 0.02})
        action()
        sampler.record(h, platform, "end")
    ops = load(tmp_path / f"{name}.jsonl")
    return traffic.figures_of_ops([o for o in ops if o["f"] == "traffic"], [])


def test_replication_crosses_every_zone_pair_and_a_read_crosses_none(platform, new_topic, tmp_path):
    topic = new_topic(partitions=3, replication_factor=3)
    wrote = figures_between(platform, tmp_path, "produce", lambda: produce(
        platform.proxied_bootstrap_servers, topic, RECORDS, size=SIZE, flush_timeout=120))
    print("produce:", wrote)
    pairs = wrote["cross_zone_pairs"]
    assert len(pairs) == 6, pairs                       # every ordered pair of the 3 zones measured
    # RF 3: each record goes from its leader's zone to both other zones (~2 N in all);
    # with one leader per zone, every ordered pair carries about N/3
    assert wrote["cross_zone_bytes"] >= N, wrote
    assert all(n >= N / 6 for n in pairs.values()), pairs
    assert wrote["client_proxy_traffic_bytes"] >= N, wrote   # the producer went through client-<zone>
    assert wrote["traffic_cost"]["cross_zone"] == pytest.approx(wrote["cross_zone_bytes"] / 1e9 * 0.02, rel=1e-3)

    read = figures_between(platform, tmp_path, "read", lambda: consume_all(
        platform.bootstrap_servers, topic, RECORDS))
    print("read:", read)
    # direct host consumers read from each leader: no partition data crosses a zone boundary
    # (what does is the group's metadata and KRaft heartbeats: kilobytes)
    assert read["cross_zone_bytes"] < N / 50, read
    assert all(n < N / 100 for n in read["cross_zone_pairs"].values()), read["cross_zone_pairs"]
    assert read["client_proxy_traffic_bytes"] < N / 100, read

"""The platform really runs: Kafka across three racks, Flink, MinIO and Toxiproxy."""
from __future__ import annotations


import pytest
import requests

from confluent_kafka.admin import ConfigResource

from kfchaos.platform.config import S3_PORT
from tests.integration.kafka_io import consume_all, produce

pytestmark = pytest.mark.platform


def test_10k_acks_all_records_come_back_in_order(platform, new_topic):
    topic = new_topic()
    acked = produce(platform.bootstrap_servers, topic, 10_000)
    assert len(acked) == 10_000
    seen = consume_all(platform.bootstrap_servers, topic, 10_000)
    assert sorted(seen) == sorted(acked), "consumed records differ from acknowledged ones"
    by_partition: dict[int, list[int]] = {}
    for p, o, _ in seen:
        by_partition.setdefault(p, []).append(o)
    for p, offsets in by_partition.items():
        assert offsets == sorted(offsets), f"partition {p} consumed out of order"
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), f"partition {p} has offset gaps"


def test_replicas_span_all_three_racks(platform, new_topic):
    topic = new_topic()
    md = platform.admin.list_topics(topic, timeout=10)
    rack_of = {n.id: n.rack for n in platform.admin.describe_cluster().result(10).nodes}
    assert sorted(rack_of.values()) == ["a", "b", "c"]
    for p in md.topics[topic].partitions.values():
        assert sorted(rack_of[r] for r in p.replicas) == ["a", "b", "c"], f"partition {p.id}: {p.replicas}"
        assert len(p.isrs) == 3
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    cfg = platform.admin.describe_configs([res])[res].result(10)
    assert cfg["min.insync.replicas"].value == "2"


def test_toxiproxy_client_path_forwards_to_brokers(platform, new_topic):
    topic = new_topic()
    acked = produce(platform.proxied_bootstrap_servers, topic, 500)
    seen = consume_all(platform.proxied_bootstrap_servers, topic, 500)
    assert sorted(seen) == sorted(acked)
    for zone, client in platform.toxiproxy.items():
        proxies = client.proxies()
        assert f"client-{zone}" in proxies and f"s3-{zone}" in proxies
        assert {f"repl-{zone}-{z}" for z in platform.zones if z != zone} <= set(proxies)


def test_flink_cluster_reports_taskmanager_and_kafka_connector(platform):
    overview = requests.get(f"{platform.flink_rest_url}/overview", timeout=5).json()
    assert overview["flink-version"].startswith("2.2")
    assert overview["taskmanagers"] >= 1 and overview["slots-total"] >= 1
    code, out = platform.flink_jobmanager.exec(["sh", "-c", "ls /opt/flink/lib /opt/flink/plugins/s3-fs-presto"])
    assert "flink-sql-connector-kafka" in out and "flink-s3-fs-presto" in out


def test_object_round_trip_from_host_and_from_flink_container(platform, new_bucket):
    bucket = new_bucket()
    s3 = platform.s3_client()
    s3.put_object(Bucket=bucket, Key="host.txt", Body=b"from-the-host")
    assert s3.get_object(Bucket=bucket, Key="host.txt")["Body"].read() == b"from-the-host"
    # From inside the Flink JobManager, through its zone's Toxiproxy (the path checkpoints take).
    url = f"http://toxiproxy-{platform.cfg.flink_zone}:{S3_PORT}/{bucket}"
    sign = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{platform.s3_access_key}:{platform.s3_secret_key}"]
    code, out = platform.flink_jobmanager.exec(["curl", "-sf", *sign, f"{url}/host.txt"], check=False)
    assert code == 0 and out == "from-the-host", out
    code, out = platform.flink_jobmanager.exec(
        ["curl", "-sf", *sign, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", "PUT", "--data-binary", "from-flink", f"{url}/flink.txt"], check=False)
    assert code == 0, out
    assert s3.get_object(Bucket=bucket, Key="flink.txt")["Body"].read() == b"from-flink"


def test_inter_zone_traffic_goes_through_the_source_zone_proxy(platform):
    """kafka-a resolves kafka-b to toxiproxy-a, so a zone-pair delay applies to replication."""
    net = platform.network_name
    proxy_ip = platform.toxiproxies["a"].ip(net)
    code, out = platform.brokers["a"].exec(["getent", "hosts", "kafka-b"])
    assert out.split()[0] == proxy_ip
    code, out = platform.brokers["a"].exec(["getent", "hosts", "kafka-a"])
    assert out.split()[0] == platform.brokers["a"].ip(net)

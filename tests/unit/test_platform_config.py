"""Config rendering: server.properties, Flink config.yaml, the Toxiproxy proxy table, profiles."""
from __future__ import annotations

import pytest
import yaml

from kfchaos import profiles
from kfchaos.platform.config import (PlatformConfig, render_flink_config, render_server_properties,
                                     toxiproxy_proxies)


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_server_properties_per_zone():
    cfg = PlatformConfig()
    p = props(render_server_properties(cfg, "b", external_port=40001, proxied_port=40002))
    assert p["node.id"] == "2"
    assert p["broker.rack"] == "b"
    assert p["process.roles"] == "broker,controller"
    assert p["controller.quorum.voters"] == "1@kafka-a:9201,2@kafka-b:9202,3@kafka-c:9203"
    assert "EXTERNAL://127.0.0.1:40001" in p["advertised.listeners"]
    assert "PROXIED://127.0.0.1:40002" in p["advertised.listeners"]
    assert "REPLICATION://kafka-b:9102" in p["advertised.listeners"]
    assert p["inter.broker.listener.name"] == "REPLICATION"
    assert p["min.insync.replicas"] == "2" and p["default.replication.factor"] == "3"
    assert p["unclean.leader.election.enable"] == "false"


def test_broker_config_overrides_defaults():
    cfg = PlatformConfig(broker_config={"min.insync.replicas": 1, "unclean.leader.election.enable": True})
    p = props(render_server_properties(cfg, "a", 1, 2))
    assert p["min.insync.replicas"] == "1" and p["unclean.leader.election.enable"] == "true"


def test_each_zone_proxies_other_brokers_its_own_clients_and_s3():
    cfg = PlatformConfig()
    proxies = {p.name: p for p in toxiproxy_proxies(cfg, "a")}
    assert set(proxies) == {"repl-a-b", "ctrl-a-b", "repl-a-c", "ctrl-a-c", "client-a", "s3-a"}
    assert proxies["repl-a-b"].listen == "0.0.0.0:9102" and proxies["repl-a-b"].upstream == "kafka-b:9102"
    assert proxies["ctrl-a-c"].upstream == "kafka-c:9203"
    assert proxies["client-a"].upstream == "kafka-a:9095"
    assert proxies["s3-a"].upstream == "minio:9000"


def test_flink_config_is_yaml_with_s3_through_the_zone_proxy():
    cfg = PlatformConfig(flink_zone="b")
    conf = yaml.safe_load(render_flink_config(cfg, "AK", "SK"))
    assert conf["s3.endpoint"] == "http://toxiproxy-b:9000"
    assert conf["execution.checkpointing.dir"] == "s3://flink/checkpoints"
    assert conf["taskmanager.numberOfTaskSlots"] == 4
    assert conf["s3.secret-key"] == "SK"
    assert conf["restart-strategy.fixed-delay.delay"] == "1 s"


def test_flink_jvms_start_fast_unless_the_profile_says_otherwise():
    conf = yaml.safe_load(render_flink_config(PlatformConfig(), "AK", "SK"))
    for role in ("jobmanager", "taskmanager"):
        assert conf[f"env.java.opts.{role}"] == "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    own = PlatformConfig()
    own.flink.extra = {"env.java.opts.taskmanager": "-XX:+UseG1GC"}
    assert yaml.safe_load(render_flink_config(own, "A", "S"))["env.java.opts.taskmanager"] == "-XX:+UseG1GC"


def test_flink_ha_through_zookeeper_with_a_short_session_by_default():
    conf = yaml.safe_load(render_flink_config(PlatformConfig(), "AK", "SK"))
    assert conf["high-availability.type"] == "zookeeper"
    assert conf["high-availability.zookeeper.quorum"] == "zookeeper:2181"
    assert conf["high-availability.storageDir"] == "s3://flink/ha"
    assert conf["high-availability.zookeeper.client.session-timeout"] == "15 s"
    off = PlatformConfig()
    off.flink.ha = "none"
    assert not any(k.startswith("high-availability") for k in yaml.safe_load(render_flink_config(off, "A", "S")))


def test_shipped_profiles_load():
    for name in profiles.available():
        p = profiles.load(name)
        assert p.name == name


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "platform": {"zonez": ["a"]}}, "unknown key `platform.zonez`"),
    ({"name": "x", "platform": {"kind": "kafka"}, "topic": {"partitions": "3"}}, "`topic.partitions` must be an integer"),
    ({"name": "x", "platform": {"kind": "pulsar"}}, "`platform.kind` is 'pulsar'"),
    ({"platform": {}}, "missing key `name`"),
    ({"name": "x", "platform": {"zones": ["a", "a"]}}, "more than once; give every zone a distinct name"),
    ({"name": "x", "platform": {"flink_zone": "z"}}, "`platform.flink_zone`"),
    ({"name": "x", "platform": {"flink": {"ha": "kubernetes"}}}, "`platform.flink.ha` is 'kubernetes'"),
    ({"name": "x", "platform": {"flink": {"ha_session_timeout": "soon"}}}, "not a duration"),
])
def test_bad_profile_names_the_key(data, message):
    with pytest.raises(profiles.ProfileError, match=message.replace("(", r"\(").replace("`", "`")):
        profiles.from_dict(data)


def test_images_from_env():
    assert profiles.images_from_env("kafka=apache/kafka:4.1.1, flink=public") == {
        "kafka": "apache/kafka:4.1.1", "flink": "public"}
    with pytest.raises(profiles.ProfileError, match="role=image"):
        profiles.images_from_env("kafka")


def test_cluster_ids_never_start_with_a_dash():
    from kfchaos.platform.platform import new_cluster_id
    ids = [new_cluster_id() for _ in range(5000)]
    assert len(set(ids)) == 5000 and not any(i.startswith("-") for i in ids) and all(len(i) == 22 for i in ids)


def test_a_heal_waits_for_a_restart_as_long_as_the_platform_lets_a_component_start():
    from types import SimpleNamespace

    from kfchaos.platform.health import RESTART_FLOOR_S, restart_timeout
    assert restart_timeout(SimpleNamespace(cfg=PlatformConfig())) == PlatformConfig().startup_timeout == 240.0
    assert restart_timeout(SimpleNamespace(cfg=SimpleNamespace(startup_timeout=30))) == RESTART_FLOOR_S
    assert restart_timeout(SimpleNamespace(cfg=SimpleNamespace(startup_timeout=600))) == 600.0
    assert restart_timeout(SimpleNamespace(cfg=SimpleNamespace())) == RESTART_FLOOR_S

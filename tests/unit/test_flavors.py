"""Broker flavors: what each platform kind launches, rendered without Docker."""
from __future__ import annotations

import shlex
from types import SimpleNamespace

import pytest

from kfchaos import profiles
from kfchaos.images.build import TIERED_PLUGIN_DIR
from kfchaos.platform import flavors, images
from kfchaos.platform.config import PlatformConfig, render_server_properties
from kfchaos.platform.flavors import (AutoMQFlavor, BrokerContext, FlavorError, KafkaFlavor, KafkaTieredFlavor,
                                      TansuFlavor, flavor_for)
from kfchaos.platform.storage_figures import storage_figures


def ctx(cfg: PlatformConfig | None = None, zone: str = "b") -> BrokerContext:
    return BrokerContext(cfg or PlatformConfig(), zone, external_port=41001, proxied_port=41002,
                         cluster_id="CID", s3_access_key="AK", s3_secret_key="SK")


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_each_kind_has_a_flavor_and_profiles_set_the_kind():
    for kind in profiles.KINDS:
        assert flavor_for(kind).kind == kind
    with pytest.raises(FlavorError, match="unknown platform kind"):
        flavor_for("pulsar")
    expected = {"kafka-3az": "kafka", "kafka-3az-tiered": "kafka-tiered", "tansu-s3": "tansu", "automq": "automq"}
    for name, kind in expected.items():
        p = profiles.load(name)
        assert p.kind == kind and p.platform.kind == kind
    assert PlatformConfig().kind == "kafka"


def test_kafka_flavor_launches_exactly_what_the_platform_always_did():
    c = ctx()
    launch = KafkaFlavor().launch(c)
    assert launch.command == ["sh", "/chaos/kafka-launch.sh"]
    assert launch.env == {"CLUSTER_ID": "CID", "KAFKA_HEAP_OPTS": c.cfg.kafka_heap,
                          "KAFKA_CONFIG": "/etc/kafka/server.properties"}
    assert list(launch.files) == ["/etc/kafka/server.properties", "/etc/kafka/log4j2.properties",
                                  "/chaos/kafka-launch.sh"]
    content, mode = launch.files["/etc/kafka/server.properties"]
    assert content.decode() == render_server_properties(c.cfg, "b", 41001, 41002) and mode == 0o644
    assert launch.files["/chaos/kafka-launch.sh"][1] == 0o755
    fl = KafkaFlavor()
    assert fl.image_role == "kafka" and fl.buckets(c.cfg) == () and list(fl.lacks) == ["log-in-object-storage"]
    assert fl.missing("controller-quorum", "transactions") is None
    assert "local disks" in fl.missing("log-in-object-storage")
    assert KafkaTieredFlavor().missing("log-in-object-storage") is None
    assert TansuFlavor().missing("log-in-object-storage") is None


def test_tiered_properties_point_the_rsm_at_the_zone_proxy_and_the_bucket():
    launch = KafkaTieredFlavor().launch(ctx(zone="c"))
    p = props(launch.files["/etc/kafka/server.properties"][0].decode())
    assert p["remote.log.storage.system.enable"] == "true"
    assert p["remote.log.storage.manager.class.name"] == "io.chaosharness.tiered.S3RemoteStorageManager"
    assert p["remote.log.storage.manager.class.path"] == f"{TIERED_PLUGIN_DIR}/*"
    assert p["remote.log.metadata.manager.class.name"].endswith("TopicBasedRemoteLogMetadataManager")
    assert p["remote.log.metadata.manager.listener.name"] == "REPLICATION"
    assert p["rsm.config.s3.endpoint"] == "http://toxiproxy-c:9000"
    assert p["rsm.config.s3.bucket"] == flavors.TIERED_BUCKET
    assert p["rsm.config.s3.access.key"] == "AK" and p["rsm.config.s3.secret.key"] == "SK"
    assert p["node.id"] == "3" and p["process.roles"] == "broker,controller"     # the Kafka base is kept
    assert KafkaTieredFlavor().buckets(PlatformConfig()) == (flavors.TIERED_BUCKET,)
    assert KafkaTieredFlavor.image_role == "kafka-tiered"


def test_tiered_profile_broker_config_overrides_tiered_defaults_once():
    cfg = PlatformConfig(kind="kafka-tiered", broker_config={"remote.log.manager.task.interval.ms": 30000})
    text = KafkaTieredFlavor().launch(ctx(cfg)).files["/etc/kafka/server.properties"][0].decode()
    assert text.count("remote.log.manager.task.interval.ms=") == 1
    assert props(text)["remote.log.manager.task.interval.ms"] == "30000"


def test_tiered_profile_topics_really_tier():
    p = profiles.load("kafka-3az-tiered")
    assert p.topic_config["remote.storage.enable"] == "true"
    assert int(p.topic_config["segment.bytes"]) <= 1024 * 1024
    assert int(p.topic_config["local.retention.ms"]) <= 60000


def test_tansu_runs_one_process_per_listener_over_one_bucket():
    fl = TansuFlavor()
    launch = fl.launch(ctx(zone="a"))
    assert launch.command == ["bash", "/chaos/tansu-launch.sh"]
    env = launch.env
    assert env["STORAGE_ENGINE"] == f"s3://{flavors.TANSU_BUCKET}/"
    assert env["AWS_ENDPOINT"] == "http://toxiproxy-a:9000" and env["AWS_ALLOW_HTTP"] == "true"
    assert env["AWS_ACCESS_KEY_ID"] == "AK" and env["AWS_SECRET_ACCESS_KEY"] == "SK"
    assert env["CLUSTER_ID"] == "CID"
    assert env["TANSU_LISTENERS"].split() == ["9094=tcp://127.0.0.1:41001", "9095=tcp://127.0.0.1:41002",
                                              "9092=tcp://kafka-a:9092"]
    script, mode = launch.files["/chaos/tansu-launch.sh"]
    assert mode == 0o755 and b"tansu broker" in script and b"wait -n" in script
    assert fl.buckets(PlatformConfig()) == (flavors.TANSU_BUCKET,)
    assert fl.image_role == "tansu" and fl.data_dirs == ("/data",)
    assert "no KRaft controller quorum" in fl.missing("controller-quorum")


def test_automq_overrides_use_its_bucket_uri_syntax():
    o = flavors.automq_overrides(ctx(zone="b"))
    uri = "s3://{}?region=us-east-1&endpoint=http://toxiproxy-b:9000&pathStyle=true"
    assert o["s3.data.buckets"] == "0@" + uri.format(flavors.AUTOMQ_DATA_BUCKET)
    assert o["s3.ops.buckets"] == "1@" + uri.format(flavors.AUTOMQ_OPS_BUCKET)
    assert o["s3.wal.path"] == "0@" + uri.format(flavors.AUTOMQ_DATA_BUCKET)
    assert o["cluster.id"] == "CID" and o["node.id"] == "2"
    assert "EXTERNAL://127.0.0.1:41001" in o["advertised.listeners"]
    assert o["controller.quorum.voters"] == "1@kafka-a:9201,2@kafka-b:9202,3@kafka-c:9203"


def test_automq_command_passes_every_override_as_one_shell_word():
    launch = AutoMQFlavor().launch(ctx())
    assert launch.command[:2] == ["bash", "-c"]
    words = shlex.split(launch.command[2])
    assert words[:3] == ["exec", "/opt/automq/kafka/bin/kafka-server-start.sh",
                         "/opt/automq/kafka/config/kraft/server.properties"]
    pairs = dict(w.split("=", 1) for w in words[3:] if w != "--override")
    assert pairs["s3.data.buckets"].endswith("&pathStyle=true")
    assert words[3:].count("--override") == len(pairs)
    assert launch.env["KAFKA_S3_ACCESS_KEY"] == "AK" and launch.env["KAFKA_S3_SECRET_KEY"] == "SK"
    assert "SK" not in launch.command[2]                     # credentials only in the environment
    assert AutoMQFlavor().buckets(PlatformConfig()) == (flavors.AUTOMQ_DATA_BUCKET, flavors.AUTOMQ_OPS_BUCKET)


def test_automq_preflight_names_the_image_and_how_to_provide_it(monkeypatch):
    monkeypatch.setattr("kfchaos.images.cache.image_exists", lambda tag: False)
    cfg = profiles.load("automq").platform
    with pytest.raises(FlavorError) as err:
        AutoMQFlavor().preflight(cfg, {})
    msg = str(err.value)
    assert "\n" not in msg
    assert images.PUBLIC_DEFAULTS["automq"] in msg
    assert f"docker pull {images.PUBLIC_DEFAULTS['automq']}" in msg and "docker load" in msg
    assert "CHAOS_IMAGES=automq=" in msg
    with pytest.raises(FlavorError, match="mirror.example/automq:9"):
        AutoMQFlavor().preflight(cfg, {"automq": "mirror.example/automq:9"})
    monkeypatch.setattr("kfchaos.images.cache.image_exists", lambda tag: True)
    AutoMQFlavor().preflight(cfg, {})


def test_resolve_images_builds_only_the_roles_asked_and_never_automq(monkeypatch):
    asked = []
    monkeypatch.setattr(images, "build_all", lambda roles, versions=None: asked.extend(roles) or {r: f"built/{r}" for r in roles})
    got = images.resolve_images({}, ("automq", "flink", "minio", "toxiproxy"))
    assert got["automq"] == images.PUBLIC_DEFAULTS["automq"] and "automq" not in asked
    assert asked == ["flink", "minio", "toxiproxy"]
    asked.clear()
    got = images.resolve_images({"tansu": "mine/tansu:1"}, ("tansu", "flink"))
    assert got == {"tansu": "mine/tansu:1", "flink": "built/flink"}
    asked.clear()
    assert images.resolve_images({}) == {r: f"built/{r}" for r in images.ROLES}
    with pytest.raises(ValueError, match="unknown role"):
        images.resolve_images({"pulsar": "x"})


class FakeNode:
    def __init__(self, out: str, running: bool = True):
        self.out, self._running, self.cmds = out, running, []

    def running(self):
        return self._running

    def exec(self, cmd, check=True):
        self.cmds.append(cmd)
        return 0, self.out

    def read(self, cmd, user=""):
        return self.exec(cmd)


class FakeS3:
    class exceptions:
        class NoSuchBucket(Exception):
            pass

    def __init__(self, buckets):
        self.buckets = buckets

    def get_paginator(self, name):
        outer = self

        class P:
            def paginate(self, Bucket):
                if Bucket not in outer.buckets:
                    raise FakeS3.exceptions.NoSuchBucket(Bucket)
                return [{"Contents": [{"Key": k, "Size": s} for k, s in outer.buckets[Bucket].items()]}, {}]
        return P()


def test_storage_figures_sum_broker_disks_and_bucket_objects():
    s3 = FakeS3({"kafka-tiered": {"a": 100, "b": 23}})
    nodes = {"a": FakeNode("4096\t/var/lib/kafka/data\n"), "b": FakeNode("8192\t/var/lib/kafka/data\n"),
             "c": FakeNode("999999\t/x\n", running=False)}
    plat = SimpleNamespace(brokers=nodes, flavor=KafkaTieredFlavor(), cfg=PlatformConfig(), s3_client=lambda: s3)
    assert storage_figures(plat) == {"bytes_on_broker_disks": 12288, "bytes_in_object_storage": 123}
    detail = storage_figures(plat, detail=True)
    assert detail["brokers"] == {"a": 4096, "b": 8192}
    assert detail["buckets"] == {"kafka-tiered": {"objects": 2, "bytes": 123}}
    assert "/var/lib/kafka/data" in nodes["a"].cmds[0][-1]
    plat.flavor = TansuFlavor()                               # its bucket does not exist: 0, no error
    assert storage_figures(plat)["bytes_in_object_storage"] == 0


def test_faults_a_kind_cannot_take_are_named_with_the_reason():
    from kfchaos.faults.base import FaultSpec
    tansu, kafka = TansuFlavor(), KafkaFlavor()
    assert "controller-quorum" in tansu.fault_not_applicable(FaultSpec("kill", "controller"))
    assert "partition-leader" in tansu.fault_not_applicable(FaultSpec("kill", "leader:t:0"))
    assert "replication" in tansu.fault_not_applicable(FaultSpec("zone-latency", "zone:a"))
    assert tansu.fault_not_applicable(FaultSpec("kill", "zone:a")) is None
    assert tansu.fault_not_applicable(FaultSpec("s3-down", "all")) is None
    for spec in (FaultSpec("kill", "controller"), FaultSpec("replace-broker", "zone:a")):
        assert kafka.fault_not_applicable(spec) is None


def test_scenario_reports_contracts_unknown_when_its_fault_does_not_apply(tmp_path):
    from kfchaos.faults.base import FaultSpec
    from kfchaos.scenario import Scenario, run_scenario
    plat = SimpleNamespace(flavor=TansuFlavor(), cfg=PlatformConfig(kind="tansu"), zones=("a", "b", "c"))

    def steps(run):
        run.workload("a-topic", faults=[FaultSpec("kill", "controller", start=8, duration=15)])
    scenario = Scenario("controller-failover-by-fault", "Title.\n", ("durability", "recovery"), steps)
    result = run_scenario(scenario, plat, profiles.load("tansu-s3"), tmp_path, 1)
    assert result.status == "unknown" and "controller-quorum" in result.figures["not_applicable"]
    for c in result.contracts:
        assert c.verdict == "unknown" and "no KRaft controller quorum" in c.reason
    stored = (tmp_path / "controller-failover-by-fault" / "result.json").read_text()
    assert '"not_applicable"' in stored

def test_tools_run_from_the_kinds_own_layout():
    cmd = KafkaFlavor().tool_command("configs", ["--entity-name", "a b"])
    assert cmd[:2] == ["sh", "-c"]
    assert "-cp '/opt/kafka/libs/*' kafka.admin.ConfigCommand --entity-name 'a b' 2>&1" in cmd[2]
    automq = AutoMQFlavor().tool_command("metadata-quorum", ["describe"])[2]
    assert "'/opt/automq/kafka/libs/*' org.apache.kafka.tools.MetadataQuorumCommand describe" in automq
    assert "org.example.Tool" in KafkaTieredFlavor().tool_command("org.example.Tool", [])[2]
    with pytest.raises(FlavorError, match="unknown tool 'nope'"):
        KafkaFlavor().tool_command("nope", [])
    with pytest.raises(FlavorError, match="tansu lacks admin-tools"):
        TansuFlavor().tool_command("configs", [])


def test_one_registry_of_kinds_gives_kinds_and_image_roles():
    assert flavors.KINDS == tuple(profiles.KINDS)
    assert flavors.broker_image_roles() == images.BROKER_ROLES
    assert flavors.public_only_roles() == images.NOT_BUILT

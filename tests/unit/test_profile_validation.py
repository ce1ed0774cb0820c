"""Hostile and mistaken profiles: each is rejected before Docker with one ProfileError line that
names the file and the key, says what is wrong and how to fix it."""
from __future__ import annotations

import copy

import docker
import pytest
import yaml

from kfchaos import profiles, redact

BASE = {
    "name": "good", "platform": {"kind": "kafka", "zones": ["a", "b", "c"]},
    "topic": {"partitions": 3, "replication_factor": 3},
    "budgets": {"recovery_seconds": 60, "backfill_p99_ratio": 2.0},
}


def with_(path: str, value):
    """BASE with the dotted ``path`` set to ``value`` (intermediate mappings created)."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


def without(key: str):
    data = copy.deepcopy(BASE)
    del data[key]
    return data


BAD_DOCUMENTS = [
    ("nan budget", with_("budgets.recovery_seconds", float("nan")), "budgets.recovery_seconds", "finite"),
    ("inf budget", with_("budgets.backfill_p99_ratio", float("inf")), "budgets.backfill_p99_ratio", "finite"),
    ("zero recovery budget", with_("budgets.recovery_seconds", 0), "budgets.recovery_seconds", "greater than 0"),
    ("negative ratio", with_("budgets.backfill_p99_ratio", -1.5), "budgets.backfill_p99_ratio", "greater than 0"),
    ("negative allowance", with_("budgets.replay_p99_allowance_ms", -1), "budgets.replay_p99_allowance_ms",
     "at least 0"),
    ("fractional redelivery", with_("budgets.max_redelivery", 2.5), "budgets.max_redelivery", "integer"),
    ("negative redelivery", with_("budgets.max_redelivery", -1), "budgets.max_redelivery", "at least 0"),
    ("bool budget", with_("budgets.recovery_seconds", True), "budgets.recovery_seconds", "number"),
    ("text budget", with_("budgets.recovery_seconds", "60"), "budgets.recovery_seconds", "number"),
    ("zero partitions", with_("topic.partitions", 0), "topic.partitions", "at least 1"),
    ("text partitions", with_("topic.partitions", "3"), "topic.partitions", "integer"),
    ("zero replication", with_("topic.replication_factor", 0), "topic.replication_factor", "at least 1"),
    ("replication above zones", with_("topic.replication_factor", 4), "topic.replication_factor", "3 zone"),
    ("no taskmanager", with_("platform.flink.taskmanagers", 0), "platform.flink.taskmanagers", "at least 1"),
    ("no slot", with_("platform.flink.slots", 0), "platform.flink.slots", "at least 1"),
    ("bad memory", with_("platform.flink.jobmanager_memory", "lots"), "platform.flink.jobmanager_memory", "1024m"),
    ("bad bucket", with_("platform.flink.bucket", "My_Bucket"), "platform.flink.bucket", "bucket"),
    ("privileged port base", with_("platform.port_base", 80), "platform.port_base", "1024"),
    ("port base too high", with_("platform.port_base", 65530), "platform.port_base", "consecutive"),
    ("negative port base", with_("platform.port_base", -5), "platform.port_base", "ephemeral"),
    ("zero startup timeout", with_("platform.startup_timeout", 0), "platform.startup_timeout", "greater than 0"),
    ("nan startup timeout", with_("platform.startup_timeout", float("nan")), "platform.startup_timeout", "finite"),
    ("tiny disk", with_("platform.broker_disk_mb", 1), "platform.broker_disk_mb", "at least 16"),
    ("negative price", with_("platform.cost.cross_zone_per_gb", -0.01), "platform.cost.cross_zone_per_gb",
     "at least 0"),
    ("text price", with_("platform.cost.object_storage_per_gb", "0.02"), "platform.cost.object_storage_per_gb",
     "number"),
    ("nan price", with_("platform.cost.cross_zone_per_gb", float("nan")), "platform.cost.cross_zone_per_gb",
     "finite"),
    ("unknown price", with_("platform.cost.egress_per_gb", 0.09), "platform.cost.egress_per_gb", ""),
    ("path in profile name", with_("name", "../evil"), "`name`", "lowercase"),
    ("plaintext security", with_("platform.security", {"protocol": "PLAINTEXT"}), "platform.security.protocol",
     "SASL_SSL"),
    ("unknown mechanism", with_("platform.security", {"mechanism": "GSSAPI"}), "platform.security.mechanism",
     "SCRAM-SHA-512"),
    ("acls as text", with_("platform.security", {"acls": "yes"}), "platform.security.acls", "true or false"),
    ("unknown security key", with_("platform.security", {"password": "x"}), "platform.security.password",
     "unknown key"),
    ("security on tansu", {**with_("platform.security", {"acls": True}), "platform": {"kind": "tansu",
                                                                                      "security": {"acls": True}}},
     "platform.security", "kind kafka"),
    ("upper-case profile name", with_("name", "Kafka"), "`name`", "lowercase"),
    ("long profile name", with_("name", "x" * 40), "`name`", "1-31"),
    ("newline in name", with_("name", "a\nb"), "`name`", "single line"),
    ("zone with a slash", with_("platform.zones", ["a", "b/c"]), "platform.zones[1]", "container and file"),
    ("zone with a blank", with_("platform.zones", ["a b"]), "platform.zones[0]", "container and file"),
    ("numeric zone", with_("platform.zones", [1, 2]), "platform.zones[0]", "text"),
    ("duplicate zones", with_("platform.zones", ["a", "b", "a"]), "platform.zones", "more than once"),
    ("no zones", with_("platform.zones", []), "platform.zones", "1 to"),
    ("zones not a list", with_("platform.zones", "abc"), "platform.zones", "list"),
    ("flink in no zone", with_("platform.flink_zone", "z"), "platform.flink_zone", "one of the zones"),
    ("unknown kind", with_("platform.kind", "pulsar"), "platform.kind", "kafka"),
    ("unknown image role", with_("platform.images", {"zookeeper": "zk:3"}), "platform.images.zookeeper", "role"),
    ("image with blanks", with_("platform.images", {"kafka": "a b"}), "platform.images.kafka", "image reference"),
    ("quotas a list", with_("quotas", ["backfill"]), "quotas", "mapping"),
    ("quota not a mapping", with_("quotas", {"backfill": 5}), "quotas.backfill", "mapping"),
    ("unknown quota key", with_("quotas", {"backfill": {"byte_rate": 5}}), "quotas.backfill.byte_rate",
     "consumer_byte_rate"),
    ("zero quota", with_("quotas", {"backfill": {"consumer_byte_rate": 0}}), "consumer_byte_rate",
     "greater than 0"),
    ("text quota", with_("quotas", {"backfill": {"consumer_byte_rate": "1MB"}}), "consumer_byte_rate",
     "whole number"),
    ("shell in client id", with_("quotas", {"x; rm -rf /": {"consumer_byte_rate": 1}}), "quotas.x; rm -rf /",
     "client id"),
    ("unknown top-level key", with_("budget", {"recovery_seconds": 1}), "unknown key `budget`",
     "did you mean `budgets`"),
    ("unknown nested key", with_("platform.zonez", ["a"]), "unknown key `platform.zonez`", "did you mean `zones`"),
    ("unrelated key", with_("colour", "red"), "unknown key `colour`", "remove it"),
    ("non-string key", {**BASE, 1: "x"}, "unknown key `1`", "allowed here"),
    ("platform not a mapping", with_("platform", ["kafka"]), "`platform`", "mapping"),
    ("broker setting with newline", with_("platform.broker_config", {"a": "1\nb=2"}), "platform.broker_config.a",
     "single line"),
    ("broker setting a list", with_("platform.broker_config", {"a": [1]}), "platform.broker_config.a", "single value"),
    ("broker setting key", with_("platform.broker_config", {"a=b": 1}), "platform.broker_config.a=b", "config key"),
    ("secret env name", with_("secrets_env", ["1BAD"]), "secrets_env[0]", "environment variable"),
    ("missing name", without("name"), "missing key `name`", "add"),
    ("missing platform", without("platform"), "missing key `platform`", "kind"),
    ("a list document", ["name", "platform"], "the document", "mapping"),
    ("a scalar document", "kafka-3az", "the document", "mapping"),
]


@pytest.fixture(autouse=True)
def no_docker(monkeypatch):
    """Validation happens before Docker: any Docker call fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("profile validation called Docker")
    monkeypatch.setattr(docker, "from_env", refuse)
    monkeypatch.setattr(docker, "DockerClient", refuse)


def write(tmp_path, content) -> str:
    path = tmp_path / "bad.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(yaml.safe_dump(content))
    return str(path)


def assert_one_line(exc: profiles.ProfileError, path: str, *fragments: str) -> None:
    message = str(exc)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(path), message
    assert ";" in message, f"no fix given: {message}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("what, data, field, wrong", BAD_DOCUMENTS, ids=[c[0] for c in BAD_DOCUMENTS])
def test_bad_profile_is_one_line_naming_file_and_field(tmp_path, what, data, field, wrong):
    path = write(tmp_path, data)
    with pytest.raises(profiles.ProfileError) as info:
        profiles.load(path)
    assert_one_line(info.value, path, field, wrong)


BAD_FILES = [
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary"),
    ("latin-1", "name: caf\u00e9\n".encode("latin-1"), "not UTF-8"),
    ("broken yaml", b"name: [a, b\nplatform: {", "not valid YAML"),
    ("tabs", b"name: x\nplatform:\n\tkind: kafka\n", "not valid YAML"),
    ("two documents", b"name: a\n---\nname: b\n", "not valid YAML"),
    ("python tag", b"name: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ("deep nesting", b"[" * 5000 + b"]" * 5000, "not valid YAML"),
    ("too large", b"# " + b"x" * (300 * 1024), "too large"),
]


@pytest.mark.parametrize("what, content, wrong", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_unreadable_file_is_one_line(tmp_path, what, content, wrong):
    path = write(tmp_path, content)
    with pytest.raises(profiles.ProfileError) as info:
        profiles.load(path)
    assert_one_line(info.value, path, wrong)


def test_a_yaml_date_is_not_text(tmp_path):
    path = write(tmp_path, b"name: 2024-01-01\nplatform: {kind: kafka}\n")
    with pytest.raises(profiles.ProfileError) as info:
        profiles.load(path)
    assert_one_line(info.value, path, "`name`", "quote it")


@pytest.mark.parametrize("name", ["../../etc/passwd", "a b", "UPPER"])
def test_unsafe_profile_name_is_refused(name):
    with pytest.raises(profiles.ProfileError, match="neither a profile name nor a .yaml path"):
        profiles.load(name)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(profiles.ProfileError) as info:
        profiles.load(str(tmp_path / "nope.yaml"))
    assert "\n" not in str(info.value) and "not found" in str(info.value)


@pytest.mark.parametrize("name", profiles.available())
def test_shipped_profiles_stay_valid(name):
    assert profiles.load(name).name == name


def test_edge_values_are_accepted(tmp_path):
    data = with_("platform.port_base", 1024)
    data["topic"] = {"partitions": 1, "replication_factor": 1}
    data["budgets"] = {"recovery_seconds": 0.5, "backfill_p99_ratio": 1, "max_redelivery": 0}
    data["quotas"] = {"replay.v1": {"consumer_byte_rate": 1, "producer_byte_rate": 2}}
    data["platform"]["zones"] = ["zone-1", "z" * 31]
    p = profiles.load(write(tmp_path, data))
    assert p.platform.port_base == 1024 and p.budgets["max_redelivery"] == 0
    assert p.platform.zones == ("zone-1", "z" * 31)


def test_highest_port_base_that_fits(tmp_path):
    from kfchaos.platform.config import host_port_count
    top = 65536 - host_port_count(3, 1)
    assert profiles.load(write(tmp_path, with_("platform.port_base", top))).platform.port_base == top
    with pytest.raises(profiles.ProfileError, match=f"from 1024 to {top}"):
        profiles.load(write(tmp_path, with_("platform.port_base", top + 1)))


def test_profile_secrets_are_registered(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_TEST_SASL", "s3cr3t-from-env")
    data = with_("secrets_env", ["CHAOS_TEST_SASL", "CHAOS_TEST_UNSET"])
    data["clients"] = {"producer": {"sasl.password": "producer-pass-1"}}
    profiles.load(write(tmp_path, data))
    text = redact.redact("env s3cr3t-from-env and producer-pass-1")
    assert "s3cr3t" not in text and "producer-pass-1" not in text


@pytest.mark.parametrize("value, fragment", [
    ("kafka", "role=image"),
    ("=img", "role=image"),
    ("zookeeper=zk:3", "`zookeeper` is not an image role"),
    ("kafka=a b", "not an image reference"),
    ("kafka=x:1,kafka=y:2", "given twice"),
])
def test_images_from_env_rejects(value, fragment):
    with pytest.raises(profiles.ProfileError) as info:
        profiles.images_from_env(value)
    message = str(info.value)
    assert message.startswith("CHAOS_IMAGES: ") and fragment in message and "\n" not in message


def test_images_from_env_accepts_known_roles():
    assert profiles.images_from_env(" tansu=public , automq=automq/automq:1.6.0,") == {
        "tansu": "public", "automq": "automq/automq:1.6.0"}
    assert profiles.images_from_env(None) == {} and profiles.images_from_env("") == {}


def test_security_is_read_into_the_platform_config(tmp_path):
    path = write(tmp_path, with_("platform.security", {"protocol": "SASL_SSL", "mechanism": "PLAIN", "acls": True}))
    sec = profiles.load(path).platform.security
    assert (sec.protocol, sec.mechanism, sec.acls) == ("SASL_SSL", "PLAIN", True)
    assert profiles.load(write(tmp_path, BASE)).platform.security is None

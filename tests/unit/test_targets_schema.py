"""The target file: table-driven bad files, each one clear line naming the field; a good
file loads; secrets come only from environment variables."""
from __future__ import annotations

import copy

import pytest
import yaml

from kfchaos.targets.schema import TargetError, from_dict, load_target


@pytest.fixture
def key_file(tmp_path):
    p = tmp_path / "id_test"
    p.write_text("not a real key\n")
    return str(p)


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("T_KAFKA_USER", "alice")
    monkeypatch.setenv("T_KAFKA_PASSWORD", "s3cr3t-value")
    monkeypatch.setenv("T_S3_AK", "akey1234")
    monkeypatch.setenv("T_S3_SK", "skey5678")
    monkeypatch.delenv("T_UNSET", raising=False)


def good(key_file: str) -> dict:
    return {
        "name": "prod-like",
        "zones": ["a", "b", "c"],
        "kafka": {"bootstrap_servers": "127.0.0.1:9094,127.0.0.1:9095,127.0.0.1:9096"},
        "flink": {"rest_url": "http://127.0.0.1:8081"},
        "s3": {"endpoint": "http://127.0.0.1:9000", "bucket": "flink", "access_key_env": "T_S3_AK",
               "secret_key_env": "T_S3_SK"},
        "toxiproxy": {"api": {"a": "http://127.0.0.1:8474"}},
        "nodes": [
            {"name": "kafka-a", "role": "broker", "zone": "a", "actuator": {"type": "docker", "container": "ka"}},
            {"name": "kafka-b", "role": "broker", "zone": "b", "actuator": {"type": "docker", "label": "app=kb"}},
            {"name": "kafka-c", "role": "broker+controller", "zone": "c",
             "actuator": {"type": "ssh", "host": "127.0.0.1", "port": 2222, "user": "ops", "key_file": key_file,
                          "unit": "kafka.service"}},
            {"name": "jm", "role": "jobmanager", "zone": "a", "actuator": {"type": "docker", "container": "jm"}},
            {"name": "store", "role": "object-store", "actuator": {"type": "docker", "container": "minio"}},
            {"name": "tp-a", "role": "toxiproxy", "zone": "a", "actuator": {"type": "docker", "container": "tp"}},
        ],
        "limits": {"touchable": ["kafka-a", "kafka-b"], "max_nodes_per_fault": 1},
    }


def _set(doc: dict, path: str, value) -> dict:
    doc = copy.deepcopy(doc)
    keys = path.split(".")
    cur = doc
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur.setdefault(k, {})
    if value is DELETE:
        del cur[keys[-1]]
    elif isinstance(cur, list):
        cur[int(keys[-1])] = value
    else:
        cur[keys[-1]] = value
    return doc


DELETE = object()
SASL = {"protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "username_env": "T_KAFKA_USER",
        "password_env": "T_KAFKA_PASSWORD"}

# (field path, new value, words the one-line error must contain)
BAD = [
    ("kafka", DELETE, ["`kafka`", "is missing"]),
    ("kafka.bootstrap_servers", "localhost", ["kafka.bootstrap_servers", "host:port"]),
    ("kafka.bootstrap_servers", "h:99999", ["kafka.bootstrap_servers", "host:port"]),
    ("kafka.bootstap_servers", "h:1", ["unknown key", "did you mean `bootstrap_servers`"]),
    ("kafka.security", {"protocol": "SASL_PLAINTEXT"}, ["kafka.security.protocol", "PLAINTEXT, SSL, SASL_SSL"]),
    ("kafka.security", {"protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "username_env": "T_KAFKA_USER",
                        "password_env": "T_KAFKA_PASSWORD"}, ["sasl_mechanism", "PLAIN, SCRAM-SHA-512"]),
    ("kafka.security", {**SASL, "password_env": "T_UNSET"}, ["password_env", "T_UNSET", "not set", "export"]),
    ("kafka.security", {**SASL, "password": "hunter22"}, ["kafka.security.password", "holds a secret", "password_env"]),
    ("kafka.security", {"protocol": "SASL_SSL", "username_env": "T_KAFKA_USER", "password_env": "T_KAFKA_PASSWORD"},
     ["sasl_mechanism", "is missing"]),
    ("kafka.security", {"protocol": "SSL", "ca_file": "/nonexistent/ca.pem"}, ["ca_file", "not a readable file"]),
    ("kafka.security", {"protocol": "PLAINTEXT", "password_env": "T_KAFKA_PASSWORD"},
     ["password_env", "protocol is PLAINTEXT"]),
    ("kafka.security", {"protocol": "SSL", "sasl_mechanism": "PLAIN"}, ["sasl_mechanism", "SASL_SSL"]),
    ("flink.rest_url", "ftp://jm:21", ["flink.rest_url", "not an http(s) URL"]),
    ("flink.rest_url", "http://user:pw@jm:8081", ["flink.rest_url", "credentials in the URL"]),
    ("flink.auth_header_env", "lower case-bad", ["auth_header_env", "not an environment variable name"]),
    ("s3.secret_key_env", DELETE, ["s3.secret_key_env", "is missing"]),
    ("s3.secret_key", "abc", ["s3.secret_key", "holds a secret"]),
    ("s3.bucket", DELETE, ["s3.bucket", "is missing"]),
    ("toxiproxy.api", {"z": "http://h:8474"}, ["toxiproxy.api.z", "not one of"]),
    ("zones", ["a", "a", "c"], ["zones", "twice"]),
    ("zones", "abc", ["zones", "must be a non-empty list"]),
    ("nodes.0.zone", "x", ["nodes[0].zone", "not one of the zones"]),
    ("nodes.0.zone", DELETE, ["nodes[0].zone", "is missing"]),
    ("nodes.0.role", "zookeeper", ["nodes[0].role", "broker, controller"]),
    ("nodes.1.name", "kafka-a", ["nodes[1].name", "repeats"]),
    ("nodes.0.actuator", {"type": "k8s"}, ["nodes[0].actuator.type", "docker, ssh"]),
    ("nodes.0.actuator", {"type": "docker"}, ["nodes[0].actuator", "exactly one of container or label"]),
    ("nodes.0.actuator", {"type": "docker", "container": "x", "host": "h"}, ["actuator.host", "docker actuator"]),
    ("nodes.1.actuator.label", "nolabel", ["actuator.label", "key=value"]),
    ("nodes.2.actuator.key_file", "/nonexistent/key", ["actuator.key_file", "not a readable file"]),
    ("nodes.2.actuator.unit", DELETE, ["nodes[2].actuator", "unit or pid_file"]),
    ("nodes.2.actuator.port", 0, ["actuator.port", "between 1 and 65535"]),
    ("nodes.2.actuator.port", "22", ["actuator.port", "integer"]),
    ("nodes.3.broker_id", 3, ["nodes[3].broker_id", "only brokers"]),
    ("nodes.2.zone", "b", ["nodes", "2 brokers in zone b"]),
    ("nodes.5.zone", "b", ["toxiproxy.api.b", "is missing"]),
    ("flink", DELETE, ["flink.rest_url", "node jm is a jobmanager"]),
    ("limits.touchable", ["kafka-z"], ["limits.touchable[0]", "not a node"]),
    ("limits.max_nodes_per_fault", 0, ["max_nodes_per_fault", "at least 1"]),
    ("limits.max_nodes_per_fault", True, ["max_nodes_per_fault", "integer"]),
    ("extra", 1, ["unknown key `extra`", "remove it"]),
]


@pytest.mark.parametrize("path,value,words", BAD, ids=[f"{p}={'<deleted>' if v is DELETE else repr(v)}"[:60] for p, v, _ in BAD])
def test_bad_target_is_one_clear_line(key_file, path, value, words):
    with pytest.raises(TargetError) as info:
        from_dict(_set(good(key_file), path, value), "t.yaml")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("t.yaml: ")
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    assert "s3cr3t-value" not in msg and "hunter22" not in msg


def test_good_target_loads(key_file, tmp_path):
    doc = good(key_file)
    doc["kafka"]["security"] = SASL
    p = tmp_path / "target.yaml"
    p.write_text(yaml.safe_dump(doc))
    t = load_target(p)
    assert t.zones == ("a", "b", "c")
    assert t.broker_of("c").actuator.unit == "kafka.service"
    settings = t.kafka.security.client_settings()
    assert settings["sasl.password"] == "s3cr3t-value" and settings["sasl.mechanism"] == "SCRAM-SHA-512"
    assert not t.touchable("kafka-c") and t.touchable("kafka-a")
    from kfchaos.redact import redact
    assert "s3cr3t-value" not in redact("password is s3cr3t-value")      # registered at load


@pytest.mark.parametrize("text,words", [
    ("name: [unclosed", ["not valid YAML", "line"]),
    ("- a\n- b\n", ["the document must be a mapping"]),
    ("", ["`name` is missing"]),
])
def test_bad_documents(tmp_path, text, words):
    p = tmp_path / "t.yaml"
    p.write_text(text)
    with pytest.raises(TargetError) as info:
        load_target(p)
    assert "\n" not in str(info.value)
    for w in words:
        assert w in str(info.value)


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(TargetError, match="cannot be read"):
        load_target(tmp_path / "absent.yaml")


def test_clean_loads_without_secrets(key_file, tmp_path, monkeypatch):
    doc = good(key_file)
    doc["kafka"]["security"] = SASL
    monkeypatch.delenv("T_KAFKA_PASSWORD")
    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(TargetError, match="T_KAFKA_PASSWORD"):
        load_target(p)
    assert load_target(p, require_env=False).name == "prod-like"

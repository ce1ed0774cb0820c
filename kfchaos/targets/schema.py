"""The target file: a YAML description of a running platform the harness did not start.

Loaded and checked like a profile: unknown keys are rejected, every value is typed, and
every error is one ``TargetError`` line naming the file, the field, what is wrong and how
to fix it. Secrets are never in the file: it names environment variables
(``password_env``, ``secret_key_env``, ...) whose values are read when the target is
loaded and registered with the redactor, so that no file a run writes shows them.

Example (the one ``kfchaos platform up`` writes has the same shape)::

    name: my-platform
    zones: [a, b, c]
    kafka:
      bootstrap_servers: "broker-a:9094,broker-b:9094,broker-c:9094"
      internal_bootstrap_servers: "kafka-a:9092,kafka-b:9092,kafka-c:9092"   # for the Flink job
      tools_classpath: /opt/kafka/libs           # Kafka's jars on the broker nodes (command-line tools)
      tools_bootstrap_servers: "kafka-a:9096"    # where those tools connect, with `security`
      security: {protocol: SASL_SSL, ca_file: /etc/ca.pem, sasl_mechanism: SCRAM-SHA-512,
                 username_env: KAFKA_USER, password_env: KAFKA_PASSWORD}
    flink: {rest_url: "http://jm:8081", auth_header_env: FLINK_AUTH}
    s3: {endpoint: "http://minio:9000", bucket: flink, region: us-east-1,
         access_key_env: S3_ACCESS_KEY, secret_key_env: S3_SECRET_KEY}
    toxiproxy: {api: {a: "http://127.0.0.1:8474"}}
    nodes:
      - {name: kafka-a, role: broker, zone: a, actuator: {type: docker, container: kafka-a}}
      - {name: kafka-b, role: broker, zone: b,
         actuator: {type: ssh, host: 10.0.0.2, user: ops, key_file: ~/.ssh/chaos, unit: kafka.service}}
    limits: {touchable: [kafka-a, kafka-b], max_nodes_per_fault: 1}
"""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfchaos.yamlfile import read_yaml

MAX_BYTES = 256 * 1024
ROLES = ("broker", "controller", "broker+controller", "jobmanager", "taskmanager", "object-store", "toxiproxy")
BROKER_ROLES = ("broker", "broker+controller")
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-512")
ACTUATORS = ("docker", "ssh", "kubernetes")
SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HOST_PORT = re.compile(r"^\[?[A-Za-z0-9_.:-]+\]?:(\d{1,5})$")
SECRET_WORDS = ("password", "secret", "token", "passphrase")


class TargetError(ValueError):
    """A target that cannot be used; the message is always one line."""

    def __init__(self, message: str):
        super().__init__(re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip())


LINE, INT, BOOL, NAMES, URLS = "single-line text", "integer", "boolean", "names", "urls"
ACTUATOR_KEYS = {"type": LINE, "container": LINE, "label": LINE, "docker_host": LINE, "host": LINE, "port": INT,
                 "user": LINE, "key_file": LINE, "known_hosts": LINE, "unit": LINE, "pid_file": LINE,
                 "start_command": LINE, "log_file": LINE, "sudo": BOOL, "pod": LINE, "selector": LINE}
NODE_KEYS = {"name": LINE, "role": LINE, "zone": LINE, "broker_id": INT, "bounded_disk": BOOL, "data_dir": LINE,
             "actuator": ACTUATOR_KEYS}
SCHEMA: dict[str, Any] = {
    "name": LINE, "description": LINE, "zones": NAMES,
    "kafka": {"bootstrap_servers": LINE, "internal_bootstrap_servers": LINE, "proxied_bootstrap_servers": LINE,
              "tools_classpath": LINE, "tools_bootstrap_servers": LINE,
              "security": {"protocol": LINE, "ca_file": LINE, "cert_file": LINE, "key_file": LINE,
                           "key_password_env": LINE, "sasl_mechanism": LINE, "username_env": LINE,
                           "password_env": LINE}},
    "flink": {"rest_url": LINE, "auth_header_env": LINE, "zone": LINE},
    "s3": {"endpoint": LINE, "bucket": LINE, "region": LINE, "access_key_env": LINE, "secret_key_env": LINE},
    "toxiproxy": {"api": URLS, "replication_port_base": INT, "controller_port_base": INT, "s3_port": INT},
    "nodes": [NODE_KEYS],
    "limits": {"touchable": NAMES, "max_nodes_per_fault": INT},
    "kubernetes": {"kubeconfig": LINE, "context": LINE, "namespace": LINE, "flink_namespace": LINE,
                   "chaos_namespace": LINE, "strimzi_cluster": LINE, "flink_deployment": LINE, "zone_label": LINE,
                   "chaos_timeout": INT,
                   "selectors": {"broker": LINE, "controller": LINE, "jobmanager": LINE, "taskmanager": LINE},
                   "expected": {"broker": INT, "controller": INT, "jobmanager": INT, "taskmanager": INT}},
}


# ---- the loaded target ---------------------------------------------------------------------
@dataclass(frozen=True)
class Security:
    protocol: str = "PLAINTEXT"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password_env: str | None = None
    sasl_mechanism: str | None = None
    username_env: str | None = None
    password_env: str | None = None

    def client_settings(self) -> dict[str, str]:
        """librdkafka settings for this security (secret values read from the environment now)."""
        if self.protocol == "PLAINTEXT":
            return {}
        out = {"security.protocol": self.protocol}
        for key, value in (("ssl.ca.location", self.ca_file), ("ssl.certificate.location", self.cert_file),
                           ("ssl.key.location", self.key_file)):
            if value:
                out[key] = str(Path(value).expanduser())
        if self.key_password_env:
            out["ssl.key.password"] = os.environ.get(self.key_password_env, "")
        if self.protocol == "SASL_SSL":
            out["sasl.mechanism"] = self.sasl_mechanism or "PLAIN"
            out["sasl.username"] = os.environ.get(self.username_env or "", "")
            out["sasl.password"] = os.environ.get(self.password_env or "", "")
        return out

    def env_names(self) -> list[str]:
        return [n for n in (self.key_password_env, self.username_env, self.password_env) if n]


@dataclass(frozen=True)
class KafkaSpec:
    bootstrap_servers: str
    internal_bootstrap_servers: str | None = None
    proxied_bootstrap_servers: str | None = None
    tools_classpath: str | None = None
    security: Security = field(default_factory=Security)
    tools_bootstrap_servers: str | None = None

    @property
    def tools_bootstrap(self) -> str:
        """Where Kafka's command-line tools on a broker node connect, with ``security``:
        ``tools_bootstrap_servers``; else the address that serves ``security`` (the internal one
        for a PLAINTEXT target, ``bootstrap_servers`` otherwise)."""
        if self.tools_bootstrap_servers:
            return self.tools_bootstrap_servers
        if self.security.protocol == "PLAINTEXT":
            return self.internal_bootstrap_servers or self.bootstrap_servers
        return self.bootstrap_servers


@dataclass(frozen=True)
class FlinkSpec:
    rest_url: str
    auth_header_env: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class S3Spec:
    endpoint: str
    bucket: str
    region: str = "us-east-1"
    access_key_env: str | None = None
    secret_key_env: str | None = None


@dataclass(frozen=True)
class ToxiproxySpec:
    api: dict[str, str] = field(default_factory=dict)       # zone -> API URL
    replication_port_base: int | None = None                # a broker's replication port: base + broker id
    controller_port_base: int | None = None
    s3_port: int | None = None                              # the s3-<zone> proxies listen here


@dataclass(frozen=True)
class ActuatorSpec:
    type: str
    container: str | None = None
    label: str | None = None
    docker_host: str | None = None
    host: str | None = None
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    known_hosts: str | None = None
    unit: str | None = None
    pid_file: str | None = None
    start_command: str | None = None
    log_file: str | None = None
    sudo: bool = False
    pod: str | None = None          # kubernetes: the pod's name, or
    selector: str | None = None     # kubernetes: a label selector matching exactly one pod
    kube: Any = None                # kubernetes: the file's kubernetes section (KubeSpec)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: str
    zone: str | None
    actuator: ActuatorSpec
    broker_id: int | None = None
    bounded_disk: bool = False
    data_dir: str | None = None

    @property
    def is_broker(self) -> bool:
        return self.role in BROKER_ROLES


@dataclass(frozen=True)
class Limits:
    touchable: tuple[str, ...] | None = None      # None: every node of the file
    max_nodes_per_fault: int = 1


@dataclass(frozen=True)
class Target:
    name: str
    zones: tuple[str, ...]
    kafka: KafkaSpec
    nodes: tuple[NodeSpec, ...]
    flink: FlinkSpec | None = None
    s3: S3Spec | None = None
    toxiproxy: ToxiproxySpec = field(default_factory=ToxiproxySpec)
    limits: Limits = field(default_factory=Limits)
    description: str = ""
    source: str = "<target>"
    kubernetes: Any = None          # kfchaos.targets.kubernetes.config.KubeSpec when the file has that section

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def with_role(self, *roles: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.role in roles]

    def broker_of(self, zone: str) -> NodeSpec:
        return next(n for n in self.nodes if n.is_broker and n.zone == zone)

    def touchable(self, name: str) -> bool:
        return self.limits.touchable is None or name in self.limits.touchable

    def env_names(self) -> list[str]:
        names = self.kafka.security.env_names()
        if self.flink and self.flink.auth_header_env:
            names.append(self.flink.auth_header_env)
        if self.s3:
            names += [n for n in (self.s3.access_key_env, self.s3.secret_key_env) if n]
        return names


# ---- loading -------------------------------------------------------------------------------
def load_target(path: str | Path, require_env: bool = True) -> Target:
    """Read, check and return a target file; registers the secrets it names with the redactor.
    ``require_env=False``: the environment variables it names need not be set (``kfchaos clean``)."""
    from .rules import REQUIRE_ENV
    path = Path(path)
    token = REQUIRE_ENV.set(require_env)
    try:
        target = from_dict(read_document(path), str(path))
    finally:
        REQUIRE_ENV.reset(token)
    _register_secrets(target)
    return target


def read_document(path: Path) -> Any:
    """The parsed YAML of a target file, or one TargetError line."""
    return read_yaml(path, TargetError, "target file", MAX_BYTES)


def _register_secrets(target: Target) -> None:
    try:
        from kfchaos import redact
    except ImportError:     # pragma: no cover - the redaction module is part of the harness
        return
    redact.register_env(target.env_names())


def fail(src: str, path: str, problem: str, fix: str) -> TargetError:
    return TargetError(f"{src}: `{path}` {problem}; {fix}")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", type(None): "empty"}.get(
        type(value), type(value).__name__)


def check_shape(data: Any, schema: Any, where: str, src: str) -> None:
    if isinstance(schema, list):
        if not isinstance(data, list):
            raise fail(src, where, f"must be a list, got {_kind(data)}", "write one `- name: ...` entry per item")
        for i, item in enumerate(data):
            check_shape(item, schema[0], f"{where}[{i}]", src)
        return
    if isinstance(schema, dict):
        if not isinstance(data, dict):
            what = f"`{where}`" if where else "the document"
            raise TargetError(f"{src}: {what} must be a mapping of keys, got {_kind(data)}; write `key: value` "
                              "lines" + (" under it" if where else " (name, zones, kafka, nodes, ...)"))
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in schema:
                if any(w in str(key).lower() for w in SECRET_WORDS) and not str(key).endswith("_env"):
                    raise fail(src, path, "holds a secret, and a target file must not",
                               f"export it in an environment variable and name it with `{key}_env` "
                               "(e.g. password_env: KAFKA_PASSWORD)")
                close = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
                fix = f"did you mean `{close[0]}`?" if close else "remove it"
                raise TargetError(f"{src}: unknown key `{path}`; {fix} (allowed here: {', '.join(schema)})")
            check_shape(value, schema[key], path, src)
        return
    if schema == INT and (not isinstance(data, int) or isinstance(data, bool)):
        raise fail(src, where, f"must be an integer, got {data!r}", "write a whole number without quotes")
    if schema == BOOL and not isinstance(data, bool):
        raise fail(src, where, f"must be true or false, got {data!r}", "write true or false without quotes")
    if schema == LINE:
        if not isinstance(data, str) or not data.strip():
            raise fail(src, where, f"must be non-empty text, got {_kind(data)} {data!r}", "quote it")
        if any(c in data for c in "\r\n\0"):
            raise fail(src, where, "must be a single line", "remove the line breaks")
    if schema == NAMES:
        if not isinstance(data, list) or not data:
            raise fail(src, where, f"must be a non-empty list, got {_kind(data)}", "write it as [x, y, ...]")
        for i, item in enumerate(data):
            check_shape(item, LINE, f"{where}[{i}]", src)
    if schema == URLS:
        if not isinstance(data, dict) or not data:
            raise fail(src, where, f"must map zones to URLs, got {_kind(data)}", 'write `a: "http://host:8474"` lines')
        for key, value in data.items():
            check_shape(value, LINE, f"{where}.{key}", src)


def from_dict(data: Any, src: str = "<target>") -> Target:
    """Check a parsed target document and build the Target (env vars it names must be set)."""
    check_shape(data, SCHEMA, "", src)
    from .rules import check_all
    return check_all(data, src)

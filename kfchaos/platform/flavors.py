"""Broker flavors: what differs between the platform kinds (``platform.kind``).

Every kind runs one broker container per zone, named ``kafka-<zone>``, with the same
EXTERNAL (9094, direct from the host) and PROXIED (9095, through ``toxiproxy-<zone>``)
ports, so clients, faults and checkers work unchanged. A flavor says, for its kind:

- ``image_role``: the image role to build or use (see ``kfchaos.platform.images``);
- ``launch(ctx)``: the container command, environment and files to copy in;
- ``readiness(...)``: the probe that says a broker is up;
- ``buckets(cfg)``: buckets that must exist in MinIO before the brokers start;
- ``data_dirs``: where a broker keeps data on its own disk (for storage figures);
- ``lacks``: Kafka features this kind does not have, each with the reason, so that a
  scenario that needs one reports its contracts as unknown instead of failing; its
  ``capabilities`` are the other ``FEATURES`` (``capabilities(kind)`` without an instance);
- ``tool_libs`` / ``tools``: where the broker image keeps Kafka's JVM tools and the class
  of each tool by short name (``tool_command``), so faults never assume Kafka's layout;
- ``preflight(cfg, images)``: checks that must pass before anything is started.

Kinds: ``kafka`` (Apache Kafka, KRaft, local disks), ``kafka-tiered`` (the same plus
KIP-405 tiered storage to MinIO), ``tansu`` (stateless Tansu brokers over one S3
bucket), ``automq`` (AutoMQ, S3 WAL and data; public image only).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from kfchaos.images.build import TIERED_PLUGIN_DIR

from . import probes
from .config import (EXTERNAL_PORT, INTERNAL_PORT, PROXIED_PORT, S3_PORT, PlatformConfig, broker_host,
                     render_server_properties, toxiproxy_host, _prop)
from .waits import Wait

ASSETS = Path(__file__).resolve().parent.parent / "images" / "assets"

TIERED_BUCKET = "kafka-tiered"
TANSU_BUCKET = "tansu"
AUTOMQ_DATA_BUCKET = "automq-data"
AUTOMQ_OPS_BUCKET = "automq-ops"
S3_REGION = "us-east-1"


class FlavorError(RuntimeError):
    """A platform kind cannot be started here; the message is one line saying why and what to do."""


# Every capability a kind may have; a flavor has all but those in its ``lacks``.
FEATURES = (
    "replication",            # broker-to-broker replication (ISR, re-replication, repl-/ctrl- proxies)
    "controller-quorum",      # a KRaft controller quorum with an active controller to target
    "partition-leader",       # one broker leads each partition
    "transactions",           # KIP-98 transactions (Flink's exactly-once sink)
    "log-in-object-storage",  # the brokers' log (or part of it) lives in object storage
    "admin-tools",            # Kafka's JVM command-line tools inside the broker image
)

# Kafka's JVM tools by short name (``Platform.run_tool``), as the Apache Kafka image has them.
KAFKA_TOOLS = {
    "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "configs": "kafka.admin.ConfigCommand",
    "transactions": "org.apache.kafka.tools.TransactionsCommand",
}


@dataclass(frozen=True)
class BrokerContext:
    """What a flavor needs to know to launch the broker of one zone."""
    cfg: PlatformConfig
    zone: str
    external_port: int          # 127.0.0.1 host port mapped to the broker's EXTERNAL_PORT
    proxied_port: int           # 127.0.0.1 host port of toxiproxy-<zone>'s PROXIED_PORT
    cluster_id: str
    s3_access_key: str
    s3_secret_key: str
    security: Any = None        # the run's RunSecurity (kfchaos.platform.security), or None


@dataclass
class BrokerLaunch:
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)   # container path -> (content, mode)


def s3_endpoint(zone: str) -> str:
    """Object storage as a broker of ``zone`` reaches it: through its zone's Toxiproxy."""
    return f"http://{toxiproxy_host(zone)}:{S3_PORT}"


class Flavor:
    kind: ClassVar[str] = ""
    image_role: ClassVar[str] = "kafka"
    ports: ClassVar[tuple[int, ...]] = (EXTERNAL_PORT,)
    mem_limit: ClassVar[str] = "1536m"
    data_dirs: ClassVar[tuple[str, ...]] = ("/var/lib/kafka/data",)
    lacks: ClassVar[dict[str, str]] = {}
    image_built: ClassVar[bool] = True          # False: a public image only, never built here
    tool_libs: ClassVar[str] = "/opt/kafka/libs"
    tools: ClassVar[dict[str, str]] = KAFKA_TOOLS

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(FEATURES) - frozenset(self.lacks)

    def tool_command(self, tool: str, args: list[str]) -> list[str]:
        """The command that runs a Kafka tool (short name or class name) inside a broker
        container of this kind, its stderr merged into the output."""
        reason = self.missing("admin-tools")
        if reason:
            raise FlavorError(f"cannot run {tool}: {reason}")
        cls = self.tools.get(tool, tool)
        if "." not in cls:
            raise FlavorError(f"unknown tool {tool!r} for {self.kind}; tools are {', '.join(self.tools)} "
                              "or a fully qualified class name")
        words = " ".join(shlex.quote(a) for a in args)
        return ["sh", "-c", f"java -Xmx128m -cp '{self.tool_libs}/*' {cls} {words} 2>&1"]

    def buckets(self, cfg: PlatformConfig) -> tuple[str, ...]:
        return ()

    def preflight(self, cfg: PlatformConfig, images: dict[str, str]) -> None:
        pass

    def launch(self, ctx: BrokerContext) -> BrokerLaunch:
        raise NotImplementedError

    def readiness(self, platform, zone: str, admin) -> Wait:
        return Wait("metadata to list 3 brokers and an active controller",
                    probes.kafka_cluster(admin, len(platform.zones)), timeout=platform.cfg.startup_timeout,
                    hint="a broker that cannot reach the quorum logs 'Connection to node ... could not be "
                         "established'")

    def broker_ids(self, platform) -> list[int] | None:
        """Node ids of the brokers that are up, when metadata cannot tell (None: ask metadata)."""
        return None

    def missing(self, *features: str) -> str | None:
        """The reason the first of ``features`` this kind lacks is missing, or None."""
        for f in features:
            if f in self.lacks:
                return f"{self.kind} lacks {f}: {self.lacks[f]}"
        return None

    def fault_not_applicable(self, spec) -> str | None:
        """Why a fault (a ``FaultSpec``) cannot apply to this kind, or None: the capabilities
        its package (``kfchaos.faults.registry``) requires for that target."""
        return self.missing(*fault_needs(spec))


def fault_needs(spec) -> tuple[str, ...]:
    """The capabilities a fault spec relies on, as its fault package declares them."""
    from kfchaos.faults import registry   # the faults import the platform, not the reverse
    return registry.requirements(spec)


class KafkaFlavor(Flavor):
    """Apache Kafka in KRaft combined mode (the default platform)."""
    kind = "kafka"
    lacks = {
        "log-in-object-storage": "brokers keep their whole log on local disks; object storage holds only "
                                 "Flink's checkpoints, so an outage of it cannot touch the brokers' write path",
    }

    def server_properties(self, ctx: BrokerContext) -> str:
        return render_server_properties(ctx.cfg, ctx.zone, ctx.external_port, ctx.proxied_port, ctx.security)

    def launch(self, ctx: BrokerContext) -> BrokerLaunch:
        launch = BrokerLaunch(
            command=["sh", "/chaos/kafka-launch.sh"],
            env={"CLUSTER_ID": ctx.cluster_id, "KAFKA_HEAP_OPTS": ctx.cfg.kafka_heap,
                 "KAFKA_CONFIG": "/etc/kafka/server.properties"},
            files={"/etc/kafka/server.properties": (self.server_properties(ctx).encode(), 0o644),
                   "/etc/kafka/log4j2.properties": ((ASSETS / "kafka-log4j2.properties").read_bytes(), 0o644),
                   "/chaos/kafka-launch.sh": ((ASSETS / "kafka-launch.sh").read_bytes(), 0o755)})
        if ctx.security is not None:
            launch.files.update(ctx.security.broker_files(broker_host(ctx.zone)))
            launch.env["KAFKA_FORMAT_ARGS"] = ctx.security.format_args()
        return launch


# ---- kafka-tiered ------------------------------------------------------------------------
TIERED_RSM_CLASS = "io.chaosharness.tiered.S3RemoteStorageManager"
TIERED_RLMM_CLASS = "org.apache.kafka.server.log.remote.metadata.storage.TopicBasedRemoteLogMetadataManager"


def tiered_properties(cfg: PlatformConfig, zone: str, access_key: str, secret_key: str) -> dict[str, Any]:
    """Broker settings for KIP-405 tiered storage to the MinIO bucket, through the zone's proxy.

    Segments are copied by the harness's RemoteStorageManager (a jar in its own plugin
    directory); the remote log metadata lives in Kafka's topic-based RLMM, reached over
    the REPLICATION listener (the path between zones that goes through Toxiproxy).
    Short intervals make segments move during a run of a few minutes.
    """
    return {
        "remote.log.storage.system.enable": "true",
        "remote.log.storage.manager.class.name": TIERED_RSM_CLASS,
        "remote.log.storage.manager.class.path": f"{TIERED_PLUGIN_DIR}/*",
        "remote.log.storage.manager.impl.prefix": "rsm.config.",
        "remote.log.metadata.manager.class.name": TIERED_RLMM_CLASS,
        "remote.log.metadata.manager.listener.name": "REPLICATION",
        "remote.log.metadata.manager.impl.prefix": "rlmm.config.",
        "rlmm.config.remote.log.metadata.topic.replication.factor": min(3, len(cfg.zones)),
        "rlmm.config.remote.log.metadata.topic.num.partitions": 6,
        "remote.log.manager.task.interval.ms": 5000,
        "log.retention.check.interval.ms": 5000,
        "rsm.config.s3.endpoint": s3_endpoint(zone),
        "rsm.config.s3.bucket": TIERED_BUCKET,
        "rsm.config.s3.region": S3_REGION,
        "rsm.config.s3.access.key": access_key,
        "rsm.config.s3.secret.key": secret_key,
    }


class KafkaTieredFlavor(KafkaFlavor):
    """Apache Kafka with tiered storage: rolled segments are copied to MinIO and deleted
    locally once past the topic's local retention."""
    kind = "kafka-tiered"
    image_role = "kafka-tiered"
    lacks = {}

    def buckets(self, cfg: PlatformConfig) -> tuple[str, ...]:
        return (TIERED_BUCKET,)

    def server_properties(self, ctx: BrokerContext) -> str:
        base = super().server_properties(ctx)
        extra = tiered_properties(ctx.cfg, ctx.zone, ctx.s3_access_key, ctx.s3_secret_key)
        # the profile's broker_config wins over the tiered defaults, as it does over the others
        extra = {k: v for k, v in extra.items() if k not in ctx.cfg.broker_config}
        return base + "".join(f"{k}={_prop(v)}\n" for k, v in extra.items())


# ---- tansu -------------------------------------------------------------------------------
class TansuFlavor(Flavor):
    """Tansu: stateless Kafka-API brokers whose log lives in one S3 bucket (dynostore).

    A Tansu process advertises exactly one listener, so each zone's container runs one
    process per listener (EXTERNAL for host clients, PROXIED for host clients through
    Toxiproxy, INTERNAL for clients in the Docker network such as Flink), all over the
    same bucket; the container stops when any of them stops. Every Tansu broker reports
    itself as node 111, leader of every partition. Measured with 0.6.0: produce (acks=all,
    idempotent), fetch, consumer groups (join, commit, resume) and several brokers
    appending to one partition work; transactions do not (see ``lacks``).
    """
    kind = "tansu"
    image_role = "tansu"
    ports = (EXTERNAL_PORT,)
    mem_limit = "768m"
    data_dirs = ("/data",)
    lacks = {
        "controller-quorum": "no KRaft controller quorum: Tansu brokers are stateless and coordinate through "
                             "conditional writes to object storage, so there is no controller to target",
        "replication": "no broker-to-broker replication: durability is the object store's, so faults on "
                       "replication traffic or re-replication do not apply",
        "partition-leader": "every Tansu broker is node 111 and leads every partition: there is no single "
                            "partition leader to target",
        "transactions": "Tansu 0.6 answers EndTxn (KIP-98) as unsupported: a transactional producer can begin "
                        "but never commit or abort, so Flink's exactly-once Kafka sink cannot run",
        "admin-tools": "the Tansu image holds one Rust binary and no JVM, so Kafka's command-line tools "
                       "(metadata quorum, client quotas) cannot run in it",
    }

    def buckets(self, cfg: PlatformConfig) -> tuple[str, ...]:
        return (TANSU_BUCKET,)

    def listeners(self, ctx: BrokerContext) -> list[tuple[int, str]]:
        host = broker_host(ctx.zone)
        return [(EXTERNAL_PORT, f"tcp://127.0.0.1:{ctx.external_port}"),
                (PROXIED_PORT, f"tcp://127.0.0.1:{ctx.proxied_port}"),
                (INTERNAL_PORT, f"tcp://{host}:{INTERNAL_PORT}")]

    def launch(self, ctx: BrokerContext) -> BrokerLaunch:
        listeners = " ".join(f"{port}={url}" for port, url in self.listeners(ctx))
        return BrokerLaunch(
            command=["bash", "/chaos/tansu-launch.sh"],
            env={"CLUSTER_ID": ctx.cluster_id, "STORAGE_ENGINE": f"s3://{TANSU_BUCKET}/",
                 "TANSU_LISTENERS": listeners,
                 "AWS_ENDPOINT": s3_endpoint(ctx.zone), "AWS_ALLOW_HTTP": "true",
                 "AWS_DEFAULT_REGION": S3_REGION, "AWS_REGION": S3_REGION,
                 "AWS_ACCESS_KEY_ID": ctx.s3_access_key, "AWS_SECRET_ACCESS_KEY": ctx.s3_secret_key,
                 "RUST_LOG": "warn"},
            files={"/chaos/tansu-launch.sh": ((ASSETS / "tansu-launch.sh").read_bytes(), 0o755)})

    def broker_ids(self, platform) -> list[int]:
        """Every Tansu broker is node 111 in metadata, so a zone's broker counts as up (under
        its zone's node id) when its own listener answers metadata."""
        ids = []
        for zone, address in platform.broker_addresses().items():
            try:
                if platform.broker_admin(address).list_topics(timeout=2).brokers:
                    ids.append(platform.cfg.node_id(zone))
            except Exception:  # down, refusing, timing out: not listed
                pass
        return sorted(ids)

    def readiness(self, platform, zone: str, admin) -> Wait:
        def probe() -> tuple[bool, str]:
            md = admin.list_topics(timeout=5)
            return bool(md.brokers), f"brokers {sorted(md.brokers)}"
        return Wait("the Tansu broker to answer metadata", probe,
                    timeout=platform.cfg.startup_timeout,
                    hint="Tansu logs S3 errors (credentials, bucket, conditional PUT) on its first request")


# ---- automq ------------------------------------------------------------------------------
AUTOMQ_HOME = "/opt/automq/kafka"


def automq_bucket_uri(bucket_id: int, bucket: str, zone: str) -> str:
    """AutoMQ's bucket URI: ``<id>@s3://<bucket>?region=..&endpoint=..&pathStyle=true``."""
    return f"{bucket_id}@s3://{bucket}?region={S3_REGION}&endpoint={s3_endpoint(zone)}&pathStyle=true"


def automq_overrides(ctx: BrokerContext) -> dict[str, Any]:
    """The server settings AutoMQ gets as ``--override`` arguments: the same KRaft and
    listener layout as Kafka, with data, operations and the WAL on object storage."""
    text = render_server_properties(ctx.cfg, ctx.zone, ctx.external_port, ctx.proxied_port)
    props: dict[str, Any] = dict(line.split("=", 1) for line in text.splitlines() if line)
    props.update({
        "cluster.id": ctx.cluster_id,
        "log.dirs": "/var/lib/kafka/data",
        "s3.data.buckets": automq_bucket_uri(0, AUTOMQ_DATA_BUCKET, ctx.zone),
        "s3.ops.buckets": automq_bucket_uri(1, AUTOMQ_OPS_BUCKET, ctx.zone),
        "s3.wal.path": automq_bucket_uri(0, AUTOMQ_DATA_BUCKET, ctx.zone),
    })
    return props


class AutoMQFlavor(Flavor):
    """AutoMQ: a shared-storage Kafka fork (stateless brokers, S3 WAL). Run from its public
    image, which is never built here."""
    kind = "automq"
    image_role = "automq"
    image_built = False
    mem_limit = "2g"
    data_dirs = ("/var/lib/kafka/data",)
    tool_libs = f"{AUTOMQ_HOME}/libs"

    def buckets(self, cfg: PlatformConfig) -> tuple[str, ...]:
        return (AUTOMQ_DATA_BUCKET, AUTOMQ_OPS_BUCKET)

    def preflight(self, cfg: PlatformConfig, images: dict[str, str]) -> None:
        from kfchaos.images.cache import image_exists
        from kfchaos.images.versions import PUBLIC_DEFAULTS
        image = images.get(self.image_role) or PUBLIC_DEFAULTS[self.image_role]
        if not image_exists(image):
            raise FlavorError(
                f"profile {cfg.name}: the AutoMQ image {image} is not in the local Docker image store and "
                f"cannot be pulled here; provide it with `docker pull {image}` or `docker load -i <file>` "
                f"(or point at another tag with CHAOS_IMAGES=automq=<image>), then rerun")

    def launch(self, ctx: BrokerContext) -> BrokerLaunch:
        args = " ".join(f"--override {shlex.quote(f'{k}={_prop(v)}')}" for k, v in automq_overrides(ctx).items())
        script = (f"exec {AUTOMQ_HOME}/bin/kafka-server-start.sh {AUTOMQ_HOME}/config/kraft/server.properties "
                  f"{args}")
        return BrokerLaunch(command=["bash", "-c", script],
                            env={"KAFKA_S3_ACCESS_KEY": ctx.s3_access_key, "KAFKA_S3_SECRET_KEY": ctx.s3_secret_key,
                                 "KAFKA_HEAP_OPTS": ctx.cfg.kafka_heap, "CLUSTER_ID": ctx.cluster_id})


# The one registry of platform kinds: kind -> flavor class (image role, capabilities, tools).
FLAVORS: dict[str, type[Flavor]] = {f.kind: f for f in (KafkaFlavor, KafkaTieredFlavor, TansuFlavor, AutoMQFlavor)}
KINDS: tuple[str, ...] = tuple(FLAVORS)


def capabilities(kind: str) -> frozenset[str]:
    """What a platform kind can do (``FEATURES`` minus its ``lacks``), without starting it."""
    return flavor_for(kind).capabilities


def broker_image_roles() -> tuple[str, ...]:
    """Image roles that replace ``kafka`` for some kind (``images.BROKER_ROLES``)."""
    return tuple(dict.fromkeys(f.image_role for f in FLAVORS.values() if f.image_role != "kafka"))


def public_only_roles() -> tuple[str, ...]:
    """Broker image roles never built here (``images.NOT_BUILT``)."""
    return tuple(f.image_role for f in FLAVORS.values() if not f.image_built)


def flavor_for(kind: str) -> Flavor:
    try:
        return FLAVORS[kind]()
    except KeyError:
        raise FlavorError(f"unknown platform kind {kind!r}; kinds are {', '.join(FLAVORS)}") from None

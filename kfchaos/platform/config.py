"""Platform settings and the pure rendering of every config file the containers get.

Nothing here touches Docker: server.properties, Flink's config.yaml and the Toxiproxy
proxy table are plain functions of a ``PlatformConfig``, unit-tested on their own.

Network layout (per run, on one Docker network):
- zone z has broker ``kafka-z`` and Toxiproxy ``toxiproxy-z``; Flink lives in ``flink_zone``.
- each broker i (1-based zone index) listens for replication on 9100+i and for the
  KRaft quorum on 9200+i. Inside zone z, the *other* brokers' host names resolve to
  ``toxiproxy-z``, which forwards 910j/920j to the real broker j. So every byte that
  leaves a zone for another passes the source zone's Toxiproxy (delay per zone pair)
  and an iptables cut between two zones' containers also cuts their proxied paths.
- host clients use EXTERNAL (direct, 127.0.0.1:port) or PROXIED (through
  ``toxiproxy-z``'s ``client-z`` proxy); Flink and in-network clients use INTERNAL :9092.
- every zone's Toxiproxy fronts MinIO as ``s3-z`` on :9000.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .toxiproxy import Proxy

INTERNAL_PORT = 9092
EXTERNAL_PORT = 9094
PROXIED_PORT = 9095
S3_PORT = 9000
TOXIPROXY_API_PORT = 8474
FLINK_REST_PORT = 8081

DEFAULT_BROKER_CONFIG: dict[str, Any] = {
    "num.partitions": 3,
    "default.replication.factor": 3,
    "min.insync.replicas": 2,
    "offsets.topic.replication.factor": 3,
    "offsets.topic.num.partitions": 6,
    "transaction.state.log.replication.factor": 3,
    "transaction.state.log.min.isr": 2,
    "transaction.state.log.num.partitions": 6,
    "unclean.leader.election.enable": "false",
    "auto.create.topics.enable": "false",
    "group.initial.rebalance.delay.ms": 0,
    "replica.lag.time.max.ms": 10000,
    "log.segment.bytes": 16 * 1024 * 1024,
    "num.network.threads": 2,
    "num.io.threads": 4,
    # the OS's autotuned socket send buffers (tcp_wmem), as brokers serving clients across zones
    # are tuned: Kafka's 100 KB default caps what one connection keeps in flight, so a replay
    # filling a bounded link could not queue ahead of live traffic (backfill-isolation)
    "socket.send.buffer.bytes": -1,
}


@dataclass
class FlinkSettings:
    taskmanagers: int = 1       # 0: no Flink cluster at all (Kafka only; profiles ask for 1 or more)
    slots: int = 4
    jobmanager_memory: str = "1024m"
    taskmanager_memory: str = "1600m"
    bucket: str = "flink"
    extra: dict[str, Any] = field(default_factory=dict)
    job_variant: str = "good"   # the reference job's variant the scenarios deploy as the production job
    ha: str = "zookeeper"       # JobManager high availability: zookeeper (a ZooKeeper node) or none
    ha_session_timeout: str = "15 s"   # how long a dead JobManager keeps its leadership


@dataclass
class PlatformConfig:
    name: str = "kafka-3az"
    kind: str = "kafka"         # kafka | kafka-tiered | tansu | automq (see kfchaos.platform.flavors)
    zones: tuple[str, ...] = ("a", "b", "c")
    images: dict[str, str] = field(default_factory=dict)   # role -> public image, overrides local build
    versions: dict[str, str] = field(default_factory=dict)  # kafka / flink release (default: pinned)
    upgrade: dict[str, str] = field(default_factory=dict)   # {kafka, flink: release} the upgrade scenarios move to
    broker_config: dict[str, Any] = field(default_factory=dict)
    kafka_heap: str = "-Xms256m -Xmx768m"
    flink: FlinkSettings = field(default_factory=FlinkSettings)
    flink_zone: str = "a"
    port_base: int = 0          # 0: ephemeral host ports; N: fixed ports from N up
    broker_disk_mb: int = 0     # >0: each broker's /var/lib/kafka is a bounded loop-mounted disk
    startup_timeout: float = 240.0   # a loaded 2-core machine can take 2 minutes; an exited container fails at once
    security: Any = None        # kfchaos.platform.security.SecuritySettings: SASL_SSL (+ ACLs) for host clients

    def broker_properties(self) -> dict[str, Any]:
        return {**DEFAULT_BROKER_CONFIG, **self.broker_config}

    def node_id(self, zone: str) -> int:
        return self.zones.index(zone) + 1

    def replication_port(self, zone: str) -> int:
        return 9100 + self.node_id(zone)

    def controller_port(self, zone: str) -> int:
        return 9200 + self.node_id(zone)


def host_port_count(zones: int, broker_ports: int) -> int:
    """How many host ports a platform maps: MinIO's, two per Toxiproxy, each broker's and Flink REST."""
    return 1 + 2 * zones + broker_ports * zones + 1


def broker_host(zone: str) -> str:
    return f"kafka-{zone}"


def toxiproxy_host(zone: str) -> str:
    return f"toxiproxy-{zone}"


def render_server_properties(cfg: PlatformConfig, zone: str, external_port: int, proxied_port: int,
                             security: Any = None) -> str:
    """server.properties for the combined broker+controller of one zone (``security``: the run's
    :class:`kfchaos.platform.security.RunSecurity`, which secures the host-facing listeners)."""
    i, host = cfg.node_id(zone), broker_host(zone)
    voters = ",".join(f"{cfg.node_id(z)}@{broker_host(z)}:{cfg.controller_port(z)}" for z in cfg.zones)
    props: dict[str, Any] = {
        "process.roles": "broker,controller",
        "node.id": i,
        "controller.quorum.voters": voters,
        "listeners": (f"INTERNAL://0.0.0.0:{INTERNAL_PORT},REPLICATION://0.0.0.0:{cfg.replication_port(zone)},"
                      f"CONTROLLER://0.0.0.0:{cfg.controller_port(zone)},EXTERNAL://0.0.0.0:{EXTERNAL_PORT},"
                      f"PROXIED://0.0.0.0:{PROXIED_PORT}"),
        "advertised.listeners": (f"INTERNAL://{host}:{INTERNAL_PORT},REPLICATION://{host}:{cfg.replication_port(zone)},"
                                 f"CONTROLLER://{host}:{cfg.controller_port(zone)},"
                                 f"EXTERNAL://127.0.0.1:{external_port},PROXIED://127.0.0.1:{proxied_port}"),
        "listener.security.protocol.map": ("INTERNAL:PLAINTEXT,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                                           "EXTERNAL:PLAINTEXT,PROXIED:PLAINTEXT"),
        "inter.broker.listener.name": "REPLICATION",
        "controller.listener.names": "CONTROLLER",
        "broker.rack": zone,
        "log.dirs": "/var/lib/kafka/data",
    }
    if security is not None:
        props.update(security.broker_properties(props))
    props.update(cfg.broker_properties())
    return "".join(f"{k}={_prop(v)}\n" for k, v in props.items())


def _prop(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def toxiproxy_proxies(cfg: PlatformConfig, zone: str) -> list[Proxy]:
    """The proxies of one zone's Toxiproxy: to every other broker, to its own broker for host
    clients, and to object storage."""
    proxies = []
    for other in cfg.zones:
        if other == zone:
            continue
        for kind, port in (("repl", cfg.replication_port(other)), ("ctrl", cfg.controller_port(other))):
            proxies.append(Proxy(f"{kind}-{zone}-{other}", f"0.0.0.0:{port}", f"{broker_host(other)}:{port}"))
    proxies.append(Proxy(f"client-{zone}", f"0.0.0.0:{PROXIED_PORT}", f"{broker_host(zone)}:{PROXIED_PORT}"))
    proxies.append(Proxy(f"s3-{zone}", f"0.0.0.0:{S3_PORT}", f"minio:{S3_PORT}"))
    return proxies


# Flink's stock conf/config.yaml sets these for Java 17 (env.java.opts.all); our rendered file
# replaces it, so they must be carried over, or a job's main() fails with
# InaccessibleObjectException (e.g. "module java.base does not opens java.util").
FLINK_JAVA17_OPTS = " ".join(
    [f"--add-exports={m}=ALL-UNNAMED" for m in (
        "java.rmi/sun.rmi.registry", "jdk.compiler/com.sun.tools.javac.api",
        "jdk.compiler/com.sun.tools.javac.file", "jdk.compiler/com.sun.tools.javac.parser",
        "jdk.compiler/com.sun.tools.javac.tree", "jdk.compiler/com.sun.tools.javac.util",
        "java.security.jgss/sun.security.krb5")]
    + [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in (
        "java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch", "java.lang.reflect",
        "java.text", "java.time", "java.util", "java.util.concurrent",
        "java.util.concurrent.atomic", "java.util.concurrent.locks")])

# JobManager and TaskManager JVMs start on the C1 compiler with the serial collector. A
# restarted TaskManager is on the recovery path of every Flink fault; measured on this 2-core
# host (restart to registered in Flink REST, CPU seconds of its container): 13.7 s CPU and
# 9.3 s with the JVM defaults, 8.0 s CPU and 6.8 s with these flags. The job rates a
# certification drives are far below what C1-compiled code sustains. A profile can set other
# flags through `platform.flink.extra` (env.java.opts.jobmanager / .taskmanager).
FLINK_FAST_START_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


ZOOKEEPER_HOST, ZOOKEEPER_PORT = "zookeeper", 2181


def flink_ha_config(f: FlinkSettings) -> dict[str, Any]:
    """JobManager high availability: leader election and job graphs in ZooKeeper, their
    payload (job graphs, checkpoint metadata pointers) in the object store, so a JobManager
    that is killed and replaced recovers its jobs from their latest checkpoints."""
    if f.ha != "zookeeper":
        return {}
    return {"high-availability.type": "zookeeper",
            "high-availability.zookeeper.quorum": f"{ZOOKEEPER_HOST}:{ZOOKEEPER_PORT}",
            "high-availability.storageDir": f"s3://{f.bucket}/ha",
            # A killed JobManager keeps its leadership until its ZooKeeper session expires: with
            # Flink's default (60 s, capped at 40 s by the server) a failover measured here took
            # 65 s, over a 60 s recovery budget. 15 s is what the shipped profiles run with.
            "high-availability.zookeeper.client.session-timeout": f.ha_session_timeout}


def render_flink_config(cfg: PlatformConfig, access_key: str, secret_key: str) -> str:
    """Flink's conf/config.yaml (flattened keys) for the JobManager and TaskManagers."""
    f = cfg.flink
    s3 = f"http://{toxiproxy_host(cfg.flink_zone)}:{S3_PORT}"
    conf: dict[str, Any] = {
        "jobmanager.rpc.address": "flink-jobmanager",
        "jobmanager.rpc.port": 6123,
        "jobmanager.bind-host": "0.0.0.0",
        "jobmanager.memory.process.size": f.jobmanager_memory,
        "taskmanager.bind-host": "0.0.0.0",
        "taskmanager.numberOfTaskSlots": f.slots,
        "taskmanager.memory.process.size": f.taskmanager_memory,
        "rest.address": "flink-jobmanager",
        "rest.bind-address": "0.0.0.0",
        "rest.port": FLINK_REST_PORT,
        "parallelism.default": 1,
        "state.backend.type": "hashmap",
        "execution.checkpointing.dir": f"s3://{f.bucket}/checkpoints",
        "execution.checkpointing.savepoint-dir": f"s3://{f.bucket}/savepoints",
        "execution.checkpointing.num-retained": 3,
        # A checkpoint that cannot reach object storage fails after 10 s instead of hanging
        # for the default 10 min, so a storage outage shows as failed checkpoints and a failover.
        "execution.checkpointing.timeout": "10 s",
        # Keep the stats of many checkpoints (default 10) so the checkpoint a job restored from
        # still has its trigger time when recovery is measured, however many ran since.
        "web.checkpoints.history": 500,
        "s3.endpoint": s3,
        "s3.path.style.access": "true",
        "s3.access-key": access_key,
        "s3.secret-key": secret_key,
        # The RPC actor system gets 60 s to start (default 10 s): on a starved host the
        # JobManager otherwise exits with "Could not create actor system" (seen at load 60).
        "pekko.startup-timeout": "60 s",
        "heartbeat.timeout": 20000,
        "heartbeat.interval": 2000,
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": 1000,
        "restart-strategy.fixed-delay.delay": "1 s",
        "web.submit.enable": "true",
        "env.java.opts.all": FLINK_JAVA17_OPTS,
        "env.java.opts.jobmanager": FLINK_FAST_START_OPTS,
        "env.java.opts.taskmanager": FLINK_FAST_START_OPTS,
        **flink_ha_config(f),
        **f.extra,
    }
    return "".join(f"{k}: {_yaml_scalar(v)}\n" for k, v in conf.items())


def _yaml_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    return s if s.replace(".", "").replace("-", "").replace("_", "").isalnum() else f"'{s}'"

"""Pinned versions of everything the harness builds, and the other Kafka and Flink releases
it can run (``platform_versions``): per Flink minor release, its Kafka connector, how that
connector reaches the cluster (flavour ``sql`` or ``plain``) and its S3 plugin. Changing one
changes the image tags."""

KAFKA_VERSION = "4.1.1"
SCALA_BINARY = "2.13"
LOG4J_VERSION = "2.24.3"
FLINK_VERSION = "2.2.0"
FLINK_KAFKA_CONNECTOR = "5.0.0-2.2"
ZOOKEEPER_VERSION = "3.9.5"       # Flink's high-availability service
MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"
TOXIPROXY_VERSION = "v2.12.0"
DEBIAN_SUITE = "bookworm"
BASE_PACKAGES = ("openjdk-17-jre-headless", "iproute2", "iptables", "procps",
                 "ca-certificates", "netcat-openbsd", "curl")
TANSU_CRATE = "tansu"
TANSU_VERSION = "0.6.0"
TANSU_FEATURES = ("dynostore",)
AUTOMQ_IMAGE = "automqinc/automq:1.6.0"

#: the public image of each role, for users who can pull images (`images: {kafka: public}`)
PUBLIC_DEFAULTS = {
    "kafka": "apache/kafka:4.1.1",
    "flink": "flink:2.2.0-java17",
    "minio": "minio/minio:latest",
    "toxiproxy": "ghcr.io/shopify/toxiproxy:2.12.0",
    "zookeeper": f"zookeeper:{ZOOKEEPER_VERSION}",
    "automq": AUTOMQ_IMAGE,
}

#: Flink minor release -> the Kafka connector built for it, as served here by Maven Central.
#: Where the SQL uber-jar ``flink-sql-connector-kafka`` is served, the image carries it (it
#: bundles kafka-clients, relocated to ``org.apache.flink.kafka.shaded``); its metadata lists
#: none for 1.20 or 2.1 on 2026-11-28, and for 1.20 the image carries the plain
#: ``flink-connector-kafka`` 3.4.0-1.20 with its own ``kafka-clients`` (3.4.0, unrelocated)
#: instead. Nothing is served for 2.1 at all, so 2.1 is refused.
FLINK_KAFKA_CONNECTORS = {"2.2": "5.0.0-2.2", "2.0": "4.0.1-2.0", "1.20": "3.4.0-1.20", "1.19": "3.2.0-1.19"}
#: how the connector reaches the cluster's lib/: ``sql`` (the uber-jar, kafka-clients relocated;
#: the reference job is shaded to match) or ``plain`` (the connector jar and its runtime
#: dependencies, kafka-clients unrelocated; the reference job is built without relocation)
CONNECTOR_FLAVOURS = ("sql", "plain")
FLINK_CONNECTOR_FLAVOUR = {"2.2": "sql", "2.0": "sql", "1.20": "plain", "1.19": "sql"}
#: its Presto S3 filesystem plugin: Maven Central serves one patch release per minor here, and
#: a plugin of the same minor release loads in any patch release (plugins are isolated)
FLINK_S3_PLUGINS = {"2.2": "2.2.0", "2.0": "2.0.0", "1.20": "1.20.0", "1.19": "1.19.0"}
KAFKA_OLDEST = (3, 7)             # KRaft with a static controller quorum, as the platform runs it
_RELEASE = __import__("re").compile(r"(\d+)\.(\d+)\.(\d+)")


class VersionError(ValueError):
    """A version the harness cannot run (one line: what and how to fix it)."""


def platform_versions(requested: dict | None = None) -> dict[str, str]:
    """``{"kafka", "flink", "flink_kafka_connector", "flink_connector_flavour", "flink_s3_plugin"}``
    for a profile's ``platform.versions``
    (missing keys: today's pinned versions); VersionError for a release the harness cannot run.
    Whether Maven Central or PyPI has it is found out when its image is built."""
    req = dict(requested or {})
    kafka, flink = str(req.get("kafka", KAFKA_VERSION)), str(req.get("flink", FLINK_VERSION))
    for what, ver in (("kafka", kafka), ("flink", flink)):
        if not _RELEASE.fullmatch(ver):
            raise VersionError(f"{what} version {ver!r} is not a release number; write it as e.g. 4.1.1")
    if tuple(int(x) for x in kafka.split(".")[:2]) < KAFKA_OLDEST:
        raise VersionError(f"kafka {kafka} is older than {'.'.join(map(str, KAFKA_OLDEST))}, the oldest KRaft "
                           "release the platform runs; use 3.7.0 or newer")
    minor = ".".join(flink.split(".")[:2])
    connector = FLINK_KAFKA_CONNECTORS.get(minor)
    if connector is None:
        raise VersionError(f"flink {flink} has no Kafka connector the harness knows; use a release of "
                           f"{', '.join(sorted(FLINK_KAFKA_CONNECTORS))}")
    return {"kafka": kafka, "flink": flink, "flink_kafka_connector": connector,
            "flink_connector_flavour": FLINK_CONNECTOR_FLAVOUR[minor], "flink_s3_plugin": FLINK_S3_PLUGINS[minor]}

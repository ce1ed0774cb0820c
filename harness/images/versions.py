"""Pinned versions of everything the harness builds. Changing one changes the image tags."""

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

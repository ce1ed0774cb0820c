"""Client quotas (KIP-13) applied from a profile, with Kafka's own ConfigCommand run inside
a broker container: a profile can give replay / backfill clients a byte-rate budget so
that they cannot starve live traffic."""
from __future__ import annotations

from .waits import NotReady

CONFIG_COMMAND = "kafka.admin.ConfigCommand"


def apply_quotas(platform, quotas: dict[str, dict[str, int]]) -> list[str]:
    """quotas: {client_id: {"consumer_byte_rate": n, "producer_byte_rate": n}}; returns what was set."""
    applied = []
    for client_id, settings in quotas.items():
        conf = ",".join(f"{k}={int(v)}" for k, v in settings.items())
        node = next((n for n in platform.brokers.values() if n.running()), None)
        if node is None:
            raise NotReady("no running broker to apply client quotas")
        node.exec(["sh", "-c", f"java -Xmx128m -cp '/opt/kafka/libs/*' {CONFIG_COMMAND} "
                               f"--bootstrap-server localhost:9092 --alter --entity-type clients "
                               f"--entity-name {client_id} --add-config {conf} 2>&1"])
        applied.append(f"{client_id}: {conf}")
    return applied

"""Client quotas (KIP-13) applied from a profile, with the kind's own config tool run inside
a broker container (``Platform.apply_quota``): a profile can give replay / backfill clients
a byte-rate budget so that they cannot starve live traffic."""
from __future__ import annotations


def apply_quotas(platform, quotas: dict[str, dict[str, int]]) -> list[str]:
    """quotas: {client_id: {"consumer_byte_rate": n, "producer_byte_rate": n}}; returns what was set."""
    return [platform.apply_quota(client_id, settings) for client_id, settings in quotas.items()]

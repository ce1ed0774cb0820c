"""librdkafka client settings shared by every harness client: logs go to Python logging
(so a broker that is down by design does not flood the console)."""
from __future__ import annotations

import logging
from typing import Any

RDKAFKA_LOGGER = logging.getLogger("chaos.rdkafka")

#: the target platform's client security (security.protocol, ssl.*, sasl.*), applied to every
#: harness client; empty for the built-in platform (PLAINTEXT)
_SECURITY: dict[str, Any] = {}


def set_client_security(settings: dict[str, Any]) -> None:
    """Use ``settings`` (librdkafka names) for every Kafka client the harness opens from now on."""
    _SECURITY.clear()
    _SECURITY.update(settings or {})


def client_security() -> dict[str, Any]:
    return dict(_SECURITY)


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "logger": RDKAFKA_LOGGER, "log.connection.close": False,
            **_SECURITY, **extra}

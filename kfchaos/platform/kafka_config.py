"""librdkafka client settings shared by every harness client: logs go to Python logging
(so a broker that is down by design does not flood the console), and the platform's client
security. Two principals may differ: the harness's own clients (admin, watermarks, checks:
``client_config``) and the recorded workload (producers, consumers, final reads: ``workload_security``,
used by :func:`kfchaos.clients.producer.base_config`)."""
from __future__ import annotations

import logging
from typing import Any

RDKAFKA_LOGGER = logging.getLogger("chaos.rdkafka")

#: the target platform's client security (security.protocol, ssl.*, sasl.*), applied to every
#: harness client; empty for the built-in platform (PLAINTEXT)
_SECURITY: dict[str, Any] = {}
#: what the workload's clients use instead (another principal's sasl.username/password), if anything
_WORKLOAD: dict[str, Any] = {}


def set_client_security(settings: dict[str, Any], workload: dict[str, Any] | None = None) -> None:
    """Use ``settings`` (librdkafka names) for every Kafka client the harness opens from now on,
    with ``workload`` on top for the recorded workload's clients."""
    _SECURITY.clear()
    _SECURITY.update(settings or {})
    _WORKLOAD.clear()
    _WORKLOAD.update(workload or {})


def client_security() -> dict[str, Any]:
    return dict(_SECURITY)


def workload_security() -> dict[str, Any]:
    return {**_SECURITY, **_WORKLOAD}


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "logger": RDKAFKA_LOGGER, "log.connection.close": False,
            **_SECURITY, **extra}

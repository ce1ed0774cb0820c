"""librdkafka client settings shared by every harness client: logs go to Python logging
(so a broker that is down by design does not flood the console)."""
from __future__ import annotations

import logging
from typing import Any

RDKAFKA_LOGGER = logging.getLogger("chaos.rdkafka")


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "logger": RDKAFKA_LOGGER, "log.connection.close": False, **extra}

"""Broker replacement: a zone lost with its disks.

``replace-broker`` (target as for ``kill``): the broker's container is removed with its
data, and a fresh one with the same node id, config and an empty log directory joins
the cluster. Proof: the new container id and an empty data directory at start; on stop
(which waits for re-replication) the seconds and bytes needed until every partition
has its full ISR again.
"""
from __future__ import annotations

import time
from typing import Any

from kfchaos.platform.health import restart_timeout, wait_broker_listed, wait_fully_replicated

from .base import FaultError
from .package import BROKER_TARGETS, PALETTE, FaultPackage
from .process import BrokerFault


def data_bytes(node, path: str = "/var/lib/kafka/data") -> int:
    code, out = node.read(["du", "-sb", path])
    return int(out.split()[0]) if code == 0 and out.split() and out.split()[0].isdigit() else 0


class ReplaceBroker(BrokerFault):
    name = "replace-broker"

    def _bytes(self, node) -> int:
        """Bytes in the broker's data directory, where the platform kind keeps it."""
        return data_bytes(node, self.platform.flavor.data_dirs[0])

    def start(self) -> dict[str, Any]:
        if len(self.nodes) != 1:
            raise FaultError("replace-broker: target exactly one broker")
        node, node_id = self.nodes[0], self.ids()[0]
        old_id = node._c.id
        before = self._bytes(node)
        node._c.remove(force=True, v=True)
        wait_broker_listed(self.platform, node_id, listed=False, timeout=60)
        self.t0 = time.monotonic()
        node.create_and_start()
        fresh = self._bytes(node)
        if node._c.id == old_id:
            raise FaultError("replace-broker: the container was not replaced")
        return {"target": self.zones, "detail": f"{node.name} replaced by an empty broker with id {node_id}",
                "proof": {"old_container": old_id[:12], "new_container": node._c.id[:12],
                          "data_bytes_before": before, "data_bytes_at_start": fresh}}

    def stop(self) -> dict[str, Any]:
        node, node_id = self.nodes[0], self.ids()[0]
        wait_broker_listed(self.platform, node_id, listed=True, timeout=restart_timeout(self.platform), node=node)
        wait_fully_replicated(self.platform, timeout=float(self.params.get("isr_timeout", 300)))
        return {"detail": f"{node.name} fully re-replicated",
                "proof": {"seconds_to_full_isr": round(time.monotonic() - self.t0, 2),
                          "bytes_re_replicated": self._bytes(node)}}

    def teardown(self) -> None:
        node = self.nodes[0]
        if node.status() in ("removed",):
            node.create_and_start()


# Measures re-replication of the lost broker's replicas: needs broker-to-broker replication.
PACKAGES = (FaultPackage(ReplaceBroker, BROKER_TARGETS, needs=("replication",), colour=PALETTE["storage"],
                         family="storage"),)

"""Disk faults on a broker's log volume.

``disk-full`` (target as for ``kill``; needs a profile with ``platform.broker_disk_mb``
so the log directory is a bounded disk): a file takes every free byte of
/var/lib/kafka. Proof: ``df`` shows no space left; Kafka takes the log directory offline
and, with its only log directory gone, the broker stops. Stop frees the space, starts
the broker again if it stopped and waits until metadata lists it.
"""
from __future__ import annotations

import time
from typing import Any

from kfchaos.platform.health import restart_timeout, wait_broker_listed

from .base import FaultError
from .package import BROKER_TARGETS, PALETTE, FaultPackage
from .process import BrokerFault

FILL = "/var/lib/kafka/chaos-fill"


def free_bytes(node) -> int:
    code, out = node.read(["df", "-B1", "--output=avail", "/var/lib/kafka"])
    lines = out.split()
    return int(lines[-1]) if code == 0 and lines and lines[-1].isdigit() else -1


class DiskFull(BrokerFault):
    name = "disk-full"

    def setup(self) -> None:
        super().setup()
        if not self.platform.cfg.broker_disk_mb:
            raise FaultError("disk-full needs bounded broker disks: set platform.broker_disk_mb in the profile "
                             "(filling the container's own disk would fill the host's)")

    def start(self) -> dict[str, Any]:
        proof = {}
        for n in self.nodes:
            before = free_bytes(n)
            n.exec(["sh", "-c", f"fallocate -l {max(before, 1)} {FILL} || dd if=/dev/zero of={FILL} bs=1M "
                                "status=none; dd if=/dev/zero of={FILL}.tail bs=4k status=none; true"
                    .replace("{FILL}", FILL)], check=False)
            proof[n.name] = {"free_bytes_before": before, "free_bytes_after": free_bytes(n)}
        if any(p["free_bytes_after"] > 64 * 1024 for p in proof.values()):
            raise FaultError(f"disk-full: space left after filling: {proof}")
        return {"target": self.zones, "detail": f"filled /var/lib/kafka of {[n.name for n in self.nodes]}",
                "proof": {"df": proof}}

    def stop(self) -> dict[str, Any]:
        t0 = time.monotonic()
        states = {}
        for n, i in zip(self.nodes, self.ids()):
            states[n.name] = n.state()
            if not n.running():
                # The broker stopped on the full disk: free the space through a fresh start.
                n.container.get_wrapped_container().start()
            n.exec(["sh", "-c", f"rm -f {FILL} {FILL}.tail"], user="root", check=False)
            if "exited" in states[n.name] or not n.running():
                n.stop(timeout=10)
                n.start()
            wait_broker_listed(self.platform, i, listed=True, timeout=restart_timeout(self.platform), node=n)
        return {"detail": "space freed, broker listed again",
                "proof": {"state_before_heal": states, "free_bytes": {n.name: free_bytes(n) for n in self.nodes},
                          "seconds_to_listed": round(time.monotonic() - t0, 2)}}

    def teardown(self) -> None:
        for n in self.nodes:
            if n.running():
                n.exec(["sh", "-c", f"rm -f {FILL} {FILL}.tail"], user="root", check=False)


PACKAGES = (FaultPackage(DiskFull, BROKER_TARGETS, colour=PALETTE["storage"], family="storage"),)

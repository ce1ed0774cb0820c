"""Rolling upgrade of the Kafka brokers to another release, then the feature-level bump.

``kafka-upgrade`` (target ``all``; param ``to``: the release, default the profile's
``platform.upgrade.kafka``): broker by broker, a clean shutdown (SIGTERM), the container
recreated from the new release's image on the same data volume, a wait until metadata
lists the broker again and every partition has its full ISR; then, once every broker runs
the new release, the finalisation ``kafka-features upgrade --release-version <to>`` (the
new release's FeatureCommand) when ``finalize`` (default true). Proof: each broker's image
before and after with its seconds, and the ``metadata.version`` before and after the
finalisation. Stop only reports: an upgrade is not undone (the downgrade is out of scope).
Teardown starts any broker left stopped by an interrupted roll.
"""
from __future__ import annotations

import re
import time
from typing import Any

from kfchaos.platform.health import restart_timeout, wait_broker_listed, wait_fully_replicated

from .base import FaultError
from .package import BROKER_TARGETS, PALETTE, FaultPackage
from .process import BrokerFault

FEATURE_TOOL = "org.apache.kafka.tools.FeatureCommand"


class KafkaUpgrade(BrokerFault):
    name = "kafka-upgrade"
    default_target = "all"

    def setup(self) -> None:
        super().setup()
        self.to = str(self.params.get("to") or (self.platform.cfg.upgrade or {}).get("kafka") or "")
        image = getattr(self.platform, "upgrade_images", {}).get(self.to)
        if not self.to or not image:
            raise FaultError("kafka-upgrade: no image for the target release; set platform.upgrade.kafka in the "
                             "profile (the platform builds that release's image at start)")
        self.image = image

    def start(self) -> dict[str, Any]:
        before = self.metadata_version()
        steps = []
        for n, i in zip(self.nodes, self.ids()):
            t0 = time.monotonic()
            old = n.container.image
            n.stop(timeout=60)
            wait_broker_listed(self.platform, i, listed=False, timeout=60)
            n._c.remove(force=True)              # the data stays on its volume
            n.container.image = self.image
            n.create_and_start()
            wait_broker_listed(self.platform, i, listed=True, timeout=restart_timeout(self.platform), node=n)
            wait_fully_replicated(self.platform, timeout=float(self.params.get("isr_timeout", 180)))
            steps.append({"broker": n.name, "from": old, "to": self.image, "seconds": round(time.monotonic() - t0, 2)})
        finalized = None
        if self.params.get("finalize", True):
            finalized = self.finalize()
        after = finalized or self.metadata_version()      # unfinalised: it must not have moved
        return {"target": self.zones, "detail": f"rolled {len(steps)} brokers to Kafka {self.to}"
                                                + (f", metadata.version {before} -> {finalized}" if finalized else ""),
                "proof": {"steps": steps, "metadata_version_before": before, "metadata_version_after": after,
                          "finalized": finalized is not None}}

    def metadata_version(self) -> str | None:
        code, out = self.platform.run_tool(FEATURE_TOOL, ["--bootstrap-server", "kafka-a:9092", "describe"])
        m = re.search(r"Feature:\s*metadata\.version\s+.*?FinalizedVersionLevel:\s*(\S+)", out)
        return m.group(1) if code == 0 and m else None

    def finalize(self) -> str | None:
        code, out = self.platform.run_tool(FEATURE_TOOL, ["--bootstrap-server", "kafka-a:9092", "upgrade",
                                                          "--release-version", self.to])
        if code != 0:
            raise FaultError(f"kafka-upgrade: finalising to {self.to} failed: {out.strip()[-300:]}")
        return self.metadata_version()

    def stop(self) -> dict[str, Any]:
        return {"detail": "upgrade complete",
                "proof": {"images": {n.name: n.container.image for n in self.nodes}}}

    def teardown(self) -> None:
        for n in self.nodes:
            if n.status() in ("removed",):
                n.create_and_start()
            elif not n.running():
                n.start()


PACKAGES = (FaultPackage(KafkaUpgrade, BROKER_TARGETS, needs=("replication",), colour=PALETTE["process"],
                         family="process"),)

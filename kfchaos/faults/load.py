"""Load faults: a controlled backfill.

``backfill`` (target: a topic): a consumer in its own group (client.id ``backfill``, so
a profile's client quota applies to it) reads the topic from the beginning at full
speed, over and over, until stopped, as a replay or reprocessing job would. Proof: records and bytes read and the read rate.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from kfchaos.platform.kafka_config import client_config

from .base import Fault, FaultError
from .package import PALETTE, FaultPackage


class Backfill(Fault):
    name = "backfill"

    def setup(self) -> None:
        if not self.spec.target:
            raise FaultError("backfill: target must be the topic to re-read")
        self.topic = self.spec.target
        self._stop = threading.Event()
        self.records = 0
        self.bytes = 0
        self.passes = 0

    def _run(self) -> None:
        c = Consumer(client_config(self.platform.bootstrap_servers, **{
            "group.id": f"backfill-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
            "client.id": str(self.params.get("client_id", "backfill")),
            "fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 10485760}))
        try:
            parts = list(c.list_topics(self.topic, timeout=10).topics[self.topic].partitions)
            while not self._stop.is_set():
                ends = {p: c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1] for p in parts}
                c.assign([TopicPartition(self.topic, p, 0) for p in parts])
                done: set[int] = set()
                while len(done) < len(parts) and not self._stop.is_set():
                    for m in c.consume(5000, timeout=0.5):
                        if m.error() is None:
                            self.records += 1
                            self.bytes += len(m.value() or b"")
                            if m.offset() >= ends[m.partition()] - 1:
                                done.add(m.partition())
                self.passes += 1
        finally:
            c.close()

    def start(self) -> dict[str, Any]:
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        time.sleep(1.0)
        if self.records == 0 and not self.thread.is_alive():
            raise FaultError("backfill: the reader stopped at once")
        return {"target": self.topic, "detail": "re-reading from offset 0 at full speed",
                "proof": {"records_read_first_second": self.records}}

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self.thread.join(timeout=30)
        secs = max(time.monotonic() - self.t0, 1e-9)
        return {"detail": f"backfill stopped after {self.passes} passes",
                "proof": {"records_read": self.records, "bytes_read": self.bytes,
                          "records_per_s": round(self.records / secs, 1),
                          "mb_per_s": round(self.bytes / secs / 1e6, 2)}}

    def teardown(self) -> None:
        if hasattr(self, "_stop"):
            self._stop.set()


PACKAGES = (FaultPackage(Backfill, ("{topic}",), colour=PALETTE["load"], family="load"),)

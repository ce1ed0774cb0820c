"""Plain confluent-kafka helpers shared by the integration tests: produce N records with
acks=all and idempotence, and consume a topic back."""
from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, Producer

from kfchaos.platform.kafka_config import client_config


def produce(bootstrap: str, topic: str, n: int, partition: int | None = None, size: int = 0,
            flush_timeout: float = 60, **extra) -> list[tuple[int, int, bytes]]:
    acked: list[tuple[int, int, bytes]] = []
    errors: list[str] = []

    def on_delivery(err, msg):
        if err:
            errors.append(str(err))
        else:
            acked.append((msg.partition(), msg.offset(), msg.value()))

    p = Producer(client_config(bootstrap, acks="all", **{"enable.idempotence": True, "linger.ms": 5}, **extra))
    pad = b"x" * size
    kw = {} if partition is None else {"partition": partition}
    for i in range(n):
        p.produce(topic, key=f"k{i % 17}".encode(), value=f"{i}:".encode() + pad, on_delivery=on_delivery, **kw)
        p.poll(0)
    assert p.flush(flush_timeout) == 0, f"producer could not deliver everything within {flush_timeout} s"
    assert not errors, errors[:5]
    return acked


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[tuple[int, int, bytes]]:
    """Every record of ``topic`` (up to ``expected``) read from the start. A broker whose
    metadata has not caught up with a topic just created (right after a heal, seen in the
    suite) answers the subscription with "Subscribed topic not available": librdkafka reports
    that as an event and keeps trying, so it is not an error of the read; any other error is.
    What counts is that every record arrives before ``timeout``."""
    c = Consumer(client_config(bootstrap, **{"group.id": f"g-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest",
                                             "enable.auto.commit": False, "topic.metadata.refresh.interval.ms": 1000}))
    c.subscribe([topic])
    seen: list[tuple[int, int, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=1):
                if m.error() is not None and m.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    continue
                assert not m.error(), m.error()
                seen.append((m.partition(), m.offset(), m.value()))
    finally:
        c.close()
    return seen

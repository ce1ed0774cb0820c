"""Recording idempotent producer on confluent-kafka.

Contract
--------
``RecordingProducer.send(key)`` assigns a globally unique id
(``<id_prefix>-<n>``, prefix defaults to the process name) and a per-key
``seq`` starting at 0, records ``invoke send {"topic", "key", "id", "seq"}``,
then produces the JSON value ``{"id", "key", "seq", "producer"}``.  The
delivery report completes the op:

* success: ``ok`` with ``partition`` and ``offset`` added;
* error: ``fail`` or ``info`` per :func:`kfchaos.clients.errors.classify_produce`
  with ``error`` added (message timeouts and retriable errors are ``info``).

With ``record_bytes``, the value is padded to that many bytes
(:func:`kfchaos.clients.codec.padded_encoder`; the recorded ops are unchanged).

Id/seq assignment, the invoke and ``produce()`` happen under one lock, so
per-key seq order equals produce order.  Delivery reports are served by
``send`` (poll(0), after every ``serve_every``-th send: 1 by default, more for
an unthrottled workload), :meth:`poll` and :meth:`flush`.  :meth:`close` flushes,
purges what is left (purge reports are ``info``) and records any invocation
still without a report as ``info``, then ``ok client-bytes {"topic", "role":
"produce", "bytes"}``: the keys and values of its acknowledged sends (the MB
produced of :mod:`kfchaos.traffic`).  Each op carries the
producer's ``process`` name, which must be unique per instance in a history.
An idempotent producer also records librdkafka's producer-id and epoch
changes as ``client-event`` ops (see :mod:`.idempotence`).
"""
from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any, Callable

from confluent_kafka import KafkaException, Producer

from .codec import encode_value, padded_encoder
from . import idempotence as idempotence_log
from .errors import classify_produce, error_str

__all__ = ["RecordingProducer", "base_config"]


def base_config(bootstrap: str, process: str, extra: dict | None = None) -> dict:
    """Bootstrap, client id and the workload's client security (see kafka_config), then ``extra``."""
    from kfchaos.platform.kafka_config import workload_security
    conf = {"bootstrap.servers": bootstrap, "client.id": process, **workload_security()}
    conf.update(extra or {})
    return conf


class RecordingProducer:
    def __init__(self, bootstrap: str, topic: str, history: Any, process: str = "producer-0",
                 *, acks: str | int = "all", idempotence: bool = True,
                 config: dict | None = None, id_prefix: str | None = None,
                 message_timeout_ms: int = 30000, linger_ms: int = 5,
                 encode: Callable[[str, str, int, str], bytes] | None = None,
                 record_bytes: int | None = None, serve_every: int = 1):
        self.topic, self.history, self.process = topic, history, process
        # (id, key, seq, producer) -> message value; padding applies to the harness's own values
        self.encode = encode if encode is not None else padded_encoder(record_bytes)
        self.serve_every = max(1, int(serve_every))
        self.id_prefix = id_prefix or process
        conf = base_config(bootstrap, process, {
            "acks": acks, "enable.idempotence": idempotence,
            "message.timeout.ms": message_timeout_ms, "linger.ms": linger_ms})
        conf.update(config or {})
        if str(conf.get("enable.idempotence")).lower() in ("true", "1"):
            conf = idempotence_log.install(conf, history, process)
        self.config = conf
        self._p = Producer(conf)
        self._lock = threading.Lock()
        self._n = 0
        self._seq: dict[str, int] = {}
        self._outstanding: dict[str, dict] = {}
        self._closed = False
        self.acked_bytes = 0        # keys and values of acknowledged sends (the traffic figures' MB produced)

    # -- verbs -----------------------------------------------------------------
    def send(self, key: str, *, partition: int | None = None,
             queue_timeout: float = 10.0) -> str:
        """Invoke one send; returns its id.  The completion is recorded when
        the delivery report arrives."""
        if self._closed:
            raise RuntimeError("producer is closed")
        with self._lock:
            n = self._n
            rid = f"{self.id_prefix}-{n}"      # codec.make_id
            self._n = n + 1
            seq = self._seq.get(key, 0)
            self._seq[key] = seq + 1
            value = {"topic": self.topic, "key": key, "id": rid, "seq": seq}
            self._record("invoke", value)
            self._outstanding[rid] = value
            kw: dict[str, Any] = {} if partition is None else {"partition": partition}
            payload = self.encode(rid, key, seq, self.process)
            deadline = None
            while True:
                try:
                    self._p.produce(self.topic, payload, key.encode("utf-8"),
                                    on_delivery=partial(self._on_delivery, rid), **kw)
                    break
                except BufferError:            # local queue full: serve reports
                    deadline = deadline or time.monotonic() + queue_timeout
                    if time.monotonic() >= deadline:
                        self._complete(rid, "fail", {"error": "local queue full"})
                        return rid
                    self._p.poll(0.05)
                except KafkaException as e:    # rejected before enqueueing
                    self._complete(rid, classify_produce(e), {"error": error_str(e)})
                    return rid
        if self.serve_every == 1 or n % self.serve_every == 0:
            self._p.poll(0)
        return rid

    def _record(self, type_: str, value: dict) -> None:
        """One ``send`` op of this producer (the history's fast path when it has one)."""
        add = getattr(self.history, "add", None)
        if add is not None:
            add(self.process, type_, "send", value)
        else:
            self.history.append({"process": self.process, "type": type_, "f": "send", "value": value})

    def _complete(self, rid: str, type_: str, extra: dict) -> None:
        value = self._outstanding.pop(rid, None)
        if value is None:
            return                              # already completed
        self._record(type_, {**value, **extra})

    def _on_delivery(self, rid: str, err: Any, msg: Any) -> None:
        if err is None:
            value = self._outstanding.pop(rid, None)
            if value is None:
                return
            self.acked_bytes += len(msg) + len(msg.key() or b"")
            done = dict(value)
            done["partition"] = msg.partition()
            done["offset"] = msg.offset()
            self._record("ok", done)
        else:
            self._complete(rid, classify_produce(err), {"error": error_str(err)})

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery reports; returns how many were served."""
        return self._p.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still pending."""
        self._p.flush(timeout)
        return len(self._outstanding)

    @property
    def outstanding(self) -> int:
        return len(self._outstanding)

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._p.flush(timeout)
        if self._outstanding:
            try:
                self._p.purge(in_queue=True, in_flight=True, blocking=False)
            except (KafkaException, TypeError):
                pass
            self._p.flush(min(timeout, 5.0))
        for rid in list(self._outstanding):
            self._complete(rid, "info", {"error": "no delivery report before close"})
        self.history.ok(self.process, "client-bytes", {"topic": self.topic, "role": "produce",
                                                        "bytes": self.acked_bytes})

    def __enter__(self) -> "RecordingProducer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

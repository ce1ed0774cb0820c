"""A principal without rights that tries to use the workload's topic and group, recorded.

Contract
--------
Every attempt is one ``intrude`` operation of process ``intruder``: ``invoke`` with
``{"attempt", "action", "principal", "topic", "group"}``, then one completion with the
same value plus what happened:

* ``ok``: the broker let it happen -- ``produce``: the record was acknowledged
  (``partition``, ``offset``); ``consume``: a record of the topic was fetched
  (``partition``, ``offset``); ``join-group``: the group coordinator let it join the
  workload's consumer group (an assignment arrived, ``partitions``);
* ``fail``: the broker refused it with an authorization or authentication error
  (``error``, ``code``: e.g. ``TOPIC_AUTHORIZATION_FAILED``);
* ``info``: the outcome is unknown (a timeout, a broker down, a transport error);
  ``error`` says what was seen. An ``info`` is never counted as a denial or a success.

Actions run one at a time, each with a fresh client of the intruder's settings
(valid credentials, no ACL), so a denial is the broker's answer to that attempt.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kfchaos.platform.kafka_config import RDKAFKA_LOGGER

from .errors import error_str

__all__ = ["Intruder", "ACTIONS", "DENIED"]

ACTIONS = ("produce", "consume", "join-group")
K = KafkaError
#: errors that prove the broker refused the principal
DENIED = frozenset({K.TOPIC_AUTHORIZATION_FAILED, K.GROUP_AUTHORIZATION_FAILED,
                    K.CLUSTER_AUTHORIZATION_FAILED, K.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                    K.SASL_AUTHENTICATION_FAILED, K._AUTHENTICATION})


class Intruder:
    def __init__(self, bootstrap: str, topic: str, group: str, history: Any, settings: dict,
                 principal: str = "intruder", attempt_timeout: float = 8.0):
        self.bootstrap, self.topic, self.group, self.history = bootstrap, topic, group, history
        self.settings, self.principal, self.timeout = dict(settings), principal, attempt_timeout
        self.process = "intruder"
        self._n = 0

    def attempt(self, action: str) -> dict:
        """One recorded attempt of ``action`` (see ACTIONS); returns its completion."""
        value = {"attempt": self._n, "action": action, "principal": self.principal,
                 "topic": self.topic, "group": self.group if action == "join-group" else None}
        self._n += 1
        self.history.invoke(self.process, "intrude", value)
        try:
            type_, extra = getattr(self, "_" + action.replace("-", "_"))()
        except Exception as exc:   # noqa: BLE001 - an attempt that broke has an unknown outcome
            type_, extra = "info", {"error": f"{type(exc).__name__}: {exc}"}
        return self.history.append({"process": self.process, "type": type_, "f": "intrude",
                                    "value": {**value, **extra}})

    def round(self) -> list[dict]:
        return [self.attempt(a) for a in ACTIONS]

    # ---- the actions -------------------------------------------------------------------
    def _conf(self, **extra: Any) -> dict:
        return {"bootstrap.servers": self.bootstrap, "client.id": f"intruder-{self._n}", "logger": RDKAFKA_LOGGER,
                "log.connection.close": False, "log_level": 2,      # its refused connections are expected
                **self.settings, **extra}

    def _produce(self) -> tuple[str, dict]:
        seen: list = []
        errors: list = []
        p = Producer(self._conf(**{"acks": "all", "enable.idempotence": False, "retries": 0,
                                   "message.timeout.ms": int(self.timeout * 1000),
                                   "error_cb": errors.append}))
        p.produce(self.topic, key=b"intruder", value=b'{"intruder": true}',
                  on_delivery=lambda err, msg: seen.append((err, msg)))
        p.flush(self.timeout + 2)
        if not seen:
            return "info", _unknown(errors, "no delivery report")
        err, msg = seen[0]
        if err is None:
            return "ok", {"partition": msg.partition(), "offset": msg.offset()}
        return _outcome(err, errors)

    def _consume(self) -> tuple[str, dict]:
        errors: list = []
        c = Consumer(self._conf(**{"group.id": f"intruder-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
                                   "error_cb": errors.append}))
        try:
            c.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
            deadline = time.monotonic() + self.timeout / 2
            while time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error() is None:
                    return "ok", {"partition": m.partition(), "offset": m.offset()}
                if m.error().code() == K.GROUP_AUTHORIZATION_FAILED:
                    continue            # its own made-up group, not the workload's topic: keep reading
                if m.error().code() in DENIED:
                    return _outcome(m.error(), errors)
            errors.extend(_topic_errors(c, self.topic, self.timeout))
            topic_denied = [e for e in errors if isinstance(e, KafkaError) and e.code() in DENIED
                            and e.code() != K.GROUP_AUTHORIZATION_FAILED]
            return _outcome(topic_denied[0], errors) if topic_denied else \
                ("info", _unknown(errors, "no record and no answer from the broker"))
        finally:
            c.close()

    def _join_group(self) -> tuple[str, dict]:
        errors: list = []
        joined = threading.Event()
        got: list = []

        def on_assign(consumer, partitions) -> None:
            got.extend(tp.partition for tp in partitions)
            joined.set()
        c = Consumer(self._conf(**{"group.id": self.group, "enable.auto.commit": False,
                                   "session.timeout.ms": 10000, "error_cb": errors.append}))
        try:
            c.subscribe([self.topic], on_assign=on_assign)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline and not joined.is_set():
                m = c.poll(0.5)         # a topic denial alone does not answer whether it may join the group
                if m is not None and m.error() is not None:
                    if m.error().code() == K.GROUP_AUTHORIZATION_FAILED:
                        return _outcome(m.error(), errors)
                    errors.append(m.error())
            if joined.is_set():
                return "ok", {"partitions": sorted(got)}
            group_denied = [e for e in errors if isinstance(e, KafkaError) and e.code() == K.GROUP_AUTHORIZATION_FAILED]
            return _outcome(group_denied[0] if group_denied else None, errors)
        finally:
            c.close()


def _topic_errors(c: Consumer, topic: str, timeout: float) -> list:
    """What the broker answers this client about ``topic`` when no record came: its metadata
    error and the error of a ListOffsets of partition 0 (the requests a fetch depends on)."""
    out: list = []
    try:
        t = c.list_topics(topic, timeout=timeout).topics.get(topic)
        if t is not None and t.error is not None:
            out.append(t.error)
    except KafkaException as exc:
        out.append(exc.args[0])
    try:
        c.get_watermark_offsets(TopicPartition(topic, 0), timeout=timeout, cached=False)
    except KafkaException as exc:
        out.append(exc.args[0])
    return out


def _outcome(err: Any, errors: list) -> tuple[str, dict]:
    """``fail`` with the code when ``err`` (or an error the client reported) is a denial, else ``info``."""
    for e in ([err] if err is not None else []) + list(errors):
        if isinstance(e, KafkaError) and e.code() in DENIED:
            return "fail", {"error": error_str(e), "code": e.name()}
    return "info", _unknown(([err] if err is not None else []) + list(errors), "no answer")


def _unknown(errors: list, default: str) -> dict:
    seen = list(dict.fromkeys(error_str(e) for e in errors))
    return {"error": "; ".join(seen[:3]) or default}

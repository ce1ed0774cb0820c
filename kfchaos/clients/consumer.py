"""Recording consumer on confluent-kafka.

Contract
--------
* :meth:`RecordingConsumer.open` subscribes (with a group) and records every
  rebalance callback as an ``ok`` op: ``assign {"group", "topic",
  "partitions", "positions": {"<p>": committed offset or null}}`` and
  ``revoke {"group", "topic", "partitions"}`` (``"lost": true`` for lost
  partitions).  Without a group it assigns every partition from the
  beginning and records one ``assign`` with ``group`` null.
* :meth:`poll_batch` records ``ok poll {"topic", "group", "records"}`` for
  every non-empty batch (empty ones only with ``record_empty_polls``);
  consume errors other than partition EOF are recorded as a ``fail`` poll
  with ``error`` (checkers ignore non-ok polls).
* :meth:`commit` commits, synchronously, the next offset to read of every
  partition polled since assignment: ``invoke commit {"group", "topic",
  "offsets": {"<p>": next offset}}`` then ``ok`` / ``fail`` / ``info`` (see
  :func:`kfchaos.clients.errors.classify_commit`).
* Auto-commit is off unless the caller's ``config`` turns it on.
* librdkafka's ``fetch.queue.backoff.ms`` is :data:`FETCH_QUEUE_BACKOFF_MS` unless the
  caller's ``config`` sets it: with its default (1000 ms) a consumer that records what it
  polls fills the 64 MB prefetch queue of large values and then fetches nothing for a
  whole second (200,000 records of 1 KiB: 60,000/s instead of 150,000/s, README Findings).
* :meth:`close` records ``ok client-bytes {"topic", "role": "consume", "bytes"}``: the
  keys and values it polled (the MB consumed of :mod:`kfchaos.traffic`).
"""
from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException,
                             TopicPartition)

from .codec import offsets_to_json, record_of
from .errors import classify_commit, error_str
from .producer import base_config

__all__ = ["RecordingConsumer", "FETCH_QUEUE_BACKOFF_MS"]

FETCH_QUEUE_BACKOFF_MS = 10


class RecordingConsumer:
    def __init__(self, bootstrap: str, topic: str, group: str | None, history: Any,
                 process: str = "consumer-0", *, isolation: str = "read_committed",
                 config: dict | None = None, auto_offset_reset: str = "earliest",
                 record_positions: bool = True, record_empty_polls: bool = False,
                 positions_timeout: float = 5.0):
        self.topic, self.group, self.history, self.process = topic, group, history, process
        self.isolation = isolation
        self.record_positions = record_positions
        self.record_empty_polls = record_empty_polls
        self.positions_timeout = positions_timeout
        conf = base_config(bootstrap, process, {
            "group.id": group or f"harness-nogroup-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False, "auto.offset.reset": auto_offset_reset,
            "isolation.level": isolation, "enable.partition.eof": False,
            "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS})
        conf.update(config or {})
        self.config = conf
        self._c = Consumer(conf)
        self._next: dict[int, int] = {}      # partition -> next offset to read
        self._opened = False
        self._closed = False
        self.polled_bytes = 0                # keys and values polled (the traffic figures' MB consumed)

    # -- rebalance callbacks ---------------------------------------------------
    def _on_assign(self, consumer: Any, partitions: list) -> None:
        parts = sorted(tp.partition for tp in partitions if tp.topic == self.topic)
        value: dict[str, Any] = {"group": self.group, "topic": self.topic, "partitions": parts}
        if self.record_positions and parts:
            try:
                committed = consumer.committed(
                    [TopicPartition(self.topic, p) for p in parts],
                    timeout=self.positions_timeout)
                value["positions"] = offsets_to_json(
                    {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in committed})
            except KafkaException as e:
                value["positions"] = {str(p): None for p in parts}
                value["positions_error"] = error_str(e)
        self.history.ok(self.process, "assign", value)

    def _on_revoke(self, consumer: Any, partitions: list, lost: bool = False) -> None:
        parts = sorted(tp.partition for tp in partitions if tp.topic == self.topic)
        for p in parts:
            self._next.pop(p, None)
        value: dict[str, Any] = {"group": self.group, "topic": self.topic, "partitions": parts}
        if lost:
            value["lost"] = True
        self.history.ok(self.process, "revoke", value)

    def _on_lost(self, consumer: Any, partitions: list) -> None:
        self._on_revoke(consumer, partitions, lost=True)

    # -- verbs -----------------------------------------------------------------
    def open(self, timeout: float = 10.0) -> "RecordingConsumer":
        if self._opened:
            return self
        self._opened = True
        if self.group is not None:
            self._c.subscribe([self.topic], on_assign=self._on_assign,
                              on_revoke=self._on_revoke, on_lost=self._on_lost)
        else:
            md = self._c.list_topics(self.topic, timeout=timeout)
            parts = sorted(md.topics[self.topic].partitions)
            self._c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in parts])
            self.history.ok(self.process, "assign", {"group": None, "topic": self.topic,
                                                     "partitions": parts})
        return self

    def poll_batch(self, max_records: int = 500, timeout: float = 1.0) -> list[dict]:
        """Consume up to ``max_records``; records and returns the batch."""
        self.open()
        msgs = self._c.consume(max_records, timeout)
        records, errors = [], []
        for m in msgs:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    errors.append(error_str(err))
                continue
            records.append(record_of(m))
            self.polled_bytes += len(m) + len(m.key() or b"")
            if m.topic() == self.topic:
                self._next[m.partition()] = m.offset() + 1
        if records or self.record_empty_polls:
            value = {"topic": self.topic, "group": self.group, "records": records}
            add = getattr(self.history, "add", None)   # the history's unchecked fast path
            if add is not None:
                add(self.process, "ok", "poll", value)
            else:
                self.history.ok(self.process, "poll", value)
        if errors:
            self.history.fail(self.process, "poll", {"topic": self.topic, "group": self.group,
                                                     "error": "; ".join(errors[:5])})
        return records

    def positions(self) -> dict[int, int]:
        """Partition -> the client's fetch position (past control records, unlike
        :meth:`next_offsets`), of every assigned partition that has one."""
        try:
            return {tp.partition: tp.offset for tp in self._c.position(self._c.assignment()) if tp.offset >= 0}
        except Exception:       # not assigned yet, or closed: no position
            return {}

    def next_offsets(self) -> dict[int, int]:
        """Partition -> next offset to read, of every partition polled since assignment."""
        return dict(self._next)

    def commit(self, offsets: dict[int, int] | None = None) -> dict | None:
        """Synchronously commit (default: next offset of every polled
        partition still assigned).  Returns the completion op, or None when
        there is nothing to commit."""
        offs = dict(self._next) if offsets is None else dict(offsets)
        if not offs or self.group is None:
            return None
        value = {"group": self.group, "topic": self.topic, "offsets": offsets_to_json(offs)}
        self.history.invoke(self.process, "commit", value)
        try:
            res = self._c.commit(offsets=[TopicPartition(self.topic, p, o)
                                          for p, o in sorted(offs.items())],
                                 asynchronous=False)
        except KafkaException as e:
            return self.history.append({"process": self.process, "type": classify_commit(e),
                                        "f": "commit",
                                        "value": {**value, "error": error_str(e)}})
        errs = [tp.error for tp in (res or []) if tp.error is not None]
        if errs:   # partially applied counts as unknown
            definite = len(errs) == len(res) and all(classify_commit(e) == "fail" for e in errs)
            return self.history.append({
                "process": self.process, "type": "fail" if definite else "info",
                "f": "commit", "value": {**value, "error": "; ".join(map(error_str, errs))}})
        return self.history.ok(self.process, "commit", value)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._c.close()
        self.history.ok(self.process, "client-bytes", {"topic": self.topic, "role": "consume",
                                                        "bytes": self.polled_bytes})

    def __enter__(self) -> "RecordingConsumer":
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""Recording transactional producer on confluent-kafka.

Contract
--------
``TransactionalProducer.txn(keys)`` records ``invoke txn {"txn": name,
"sends": [{"topic", "key", "id", "seq"}, ...]}``, then begins a
transaction, produces one harness message per key and commits.  Outcome:

* commit succeeded: ``ok`` with every send's ``partition``/``offset``;
* the transaction was aborted and ``abort_transaction`` succeeded (abortable
  error, or ``abort=True`` requested): ``fail`` with ``error`` -- the records
  must never be visible to read_committed consumers;
* anything else (commit outcome unknown, abort failed, fatal/fenced
  producer): ``info``.  A fatal error also marks the producer unusable
  (:attr:`fatal`); later calls raise ``RuntimeError``.

Retriable commit errors are retried (``commit_retries`` times) before the
outcome is declared unknown.  Seqs continue per key across transactions,
aborted ones included.
"""
from __future__ import annotations

import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from .codec import encode_value, make_id
from .errors import error_str
from .producer import base_config

__all__ = ["TransactionalProducer"]


class TransactionalProducer:
    def __init__(self, bootstrap: str, topic: str, history: Any,
                 process: str = "txn-producer-0", *, transactional_id: str | None = None,
                 config: dict | None = None, id_prefix: str | None = None,
                 timeout: float = 30.0, commit_retries: int = 3):
        self.topic, self.history, self.process = topic, history, process
        self.id_prefix = id_prefix or process
        self.timeout = timeout
        self.commit_retries = commit_retries
        conf = base_config(bootstrap, process, {
            "transactional.id": transactional_id or process, "enable.idempotence": True,
            "acks": "all", "linger.ms": 5})
        conf.update(config or {})
        self.config = conf
        self._p = Producer(conf)
        self._lock = threading.Lock()
        self._n = 0
        self._ntxn = 0
        self._seq: dict[str, int] = {}
        self._ready = False
        self.fatal: str | None = None

    def open(self) -> "TransactionalProducer":
        """init_transactions (done lazily by the first :meth:`txn`)."""
        if not self._ready:
            self._p.init_transactions(self.timeout)
            self._ready = True
        return self

    def txn(self, keys: list[str], *, abort: bool = False) -> dict:
        """Run one transaction over ``keys``; returns the completion op."""
        with self._lock:
            if self.fatal:
                raise RuntimeError(f"producer unusable after fatal error: {self.fatal}")
            self.open()
            name = f"{self.id_prefix}-t{self._ntxn}"
            self._ntxn += 1
            sends = []
            for k in keys:
                seq = self._seq.get(k, 0)
                self._seq[k] = seq + 1
                sends.append({"topic": self.topic, "key": k,
                              "id": make_id(self.id_prefix, self._n), "seq": seq})
                self._n += 1
            self.history.invoke(self.process, "txn", {"txn": name, "sends": sends})
            return self._run(name, sends, abort)

    def _run(self, name: str, sends: list[dict], abort: bool) -> dict:
        delivered: dict[str, tuple] = {}

        def report(rid: str, err: Any, msg: Any) -> None:
            if err is None:
                delivered[rid] = (msg.partition(), msg.offset())

        try:
            self._p.begin_transaction()
            for s in sends:
                self._p.produce(self.topic, key=s["key"].encode("utf-8"),
                                value=encode_value(s["id"], s["key"], s["seq"], self.process),
                                on_delivery=lambda e, m, rid=s["id"]: report(rid, e, m))
            if abort:
                self._p.abort_transaction(self.timeout)
                return self._done("fail", name, sends, "aborted by client")
            self._commit()
        except BufferError as e:
            return self._abort(name, sends, f"local queue full: {e}")
        except KafkaException as e:
            err = e.args[0] if e.args else None
            if isinstance(err, KafkaError) and err.fatal():
                self.fatal = error_str(err)
                return self._done("info", name, sends, error_str(err))
            if isinstance(err, KafkaError) and err.txn_requires_abort():
                return self._abort(name, sends, error_str(err))
            return self._done("info", name, sends, error_str(e))
        done = [{**s, "partition": delivered.get(s["id"], (None, None))[0],
                 "offset": delivered.get(s["id"], (None, None))[1]} for s in sends]
        return self.history.ok(self.process, "txn", {"txn": name, "sends": done})

    def _commit(self) -> None:
        for attempt in range(self.commit_retries + 1):
            try:
                self._p.commit_transaction(self.timeout)
                return
            except KafkaException as e:
                err = e.args[0] if e.args else None
                if not (isinstance(err, KafkaError) and err.retriable()) \
                        or attempt == self.commit_retries:
                    raise

    def _abort(self, name: str, sends: list[dict], reason: str) -> dict:
        try:
            self._p.abort_transaction(self.timeout)
        except KafkaException as e:
            err = e.args[0] if e.args else None
            if isinstance(err, KafkaError) and err.fatal():
                self.fatal = error_str(err)
            return self._done("info", name, sends, f"{reason}; abort failed: {error_str(e)}")
        return self._done("fail", name, sends, reason)

    def _done(self, type_: str, name: str, sends: list[dict], error: str) -> dict:
        return self.history.append({"process": self.process, "type": type_, "f": "txn",
                                    "value": {"txn": name, "sends": sends, "error": error}})

    def close(self, timeout: float = 30.0) -> None:
        self._p.flush(timeout)

    def __enter__(self) -> "TransactionalProducer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

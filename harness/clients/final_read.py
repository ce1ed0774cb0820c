"""Final read: every partition of a topic from its start to its end offset.

Contract
--------
:func:`final_read` first queries each partition's watermarks (uncached, with
read_uncommitted isolation: the end offset is the high watermark), then
assigns every non-empty partition at its start offset with explicit
offsets (no group, no commits) and consumes until the consumer position of
every partition reaches the end offset (control records such as transaction
markers advance the position without producing a record).  Records at or
beyond the end offset taken before the read started are left out of ``records``.

The listed end offset is the platform's answer to ListOffsets(latest); Fetch reports its
own high watermark.  Once every partition is read to its listed end, the read follows
each partition on to the end Fetch reports (PARTITION_EOF, at most ``PROBE_S`` seconds):
``fetch_end_offsets`` holds that end and ``past_end`` the records found at or beyond the
listed end.  On a quiet topic both are empty/equal; when they are not, the platform
listed an end below records it serves (the offsets checker decides whether that hid an
acknowledged write: ``listed_at`` is when the listing was answered, monotonic ns).

It appends one op ``final-read`` (process ``final-reader`` by default)::

    {"topic", "isolation", "start_offsets": {"<p>": int},
     "end_offsets": {"<p>": int}, "records": [{"partition", "offset", "key",
     "value"}, ...], "listed_at": int, "fetch_end_offsets": {"<p>": int},
     "past_end": [records]}

of type ``ok`` when every partition was read to its end (``f="output-read"``
for the output of a user's job: records then also carry ``"headers"``, a
header name -> text map), else ``info`` with
``"incomplete": [partitions]`` and ``"error"`` (checkers then treat the
topic as having no final read).  It raises (``RuntimeError`` /
``KafkaException``) only when the topic's metadata or watermarks cannot be
fetched at all.  With ``read_committed``, an open
transaction keeps the last stable offset below the high watermark, so the
read times out as ``info``: close transactional producers first.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from .codec import decode_key, offsets_to_json, record_of
from .errors import error_str
from .producer import base_config

__all__ = ["final_read"]

PROBE_S = 5.0       # how long the read follows partitions past their listed end


def final_read(bootstrap: str, topic: str, history: Any, *,
               isolation: str = "read_committed", timeout: float = 60.0,
               process: str = "final-reader", config: dict | None = None,
               batch: int = 2000, f: str = "final-read") -> dict:
    """Read ``topic`` completely and append the ``final-read`` op (or ``f``); returns it."""
    with_headers = f == "output-read"
    conf = base_config(bootstrap, process, {
        "group.id": f"harness-final-reader-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": isolation, "enable.partition.eof": True})
    conf.update(config or {})
    deadline = time.monotonic() + timeout
    start, end = _watermarks(dict(conf, **{"isolation.level": "read_uncommitted"}),
                             topic, deadline)
    listed_at = time.monotonic_ns()
    c = Consumer(conf)
    errors: list[str] = []
    records: list[dict] = []
    try:
        remaining = {p for p in start if end[p] > start[p]}
        if remaining:
            c.assign([TopicPartition(topic, p, start[p]) for p in sorted(remaining)])
        while remaining and time.monotonic() < deadline:
            for m in c.consume(batch, 0.5):
                err = m.error()
                p = m.partition()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        if m.offset() >= end.get(p, 0):
                            remaining.discard(p)
                    else:
                        errors.append(error_str(err))
                    continue
                o = m.offset()
                if o < end[p]:
                    records.append(_with_headers(m) if with_headers else record_of(m))
                if o >= end[p] - 1:
                    remaining.discard(p)
            if remaining:
                for tp in c.position([TopicPartition(topic, p) for p in remaining]):
                    if tp.offset >= end[tp.partition]:
                        remaining.discard(tp.partition)
        past, fetch_end = ([], {}) if remaining else _past_end(c, topic, end, with_headers)
    finally:
        c.close()
    records.sort(key=lambda r: (r["partition"], r["offset"]))
    value: dict[str, Any] = {"topic": topic, "isolation": isolation,
                             "start_offsets": offsets_to_json(start),
                             "end_offsets": offsets_to_json(end), "records": records,
                             "listed_at": listed_at, "fetch_end_offsets": offsets_to_json(fetch_end),
                             "past_end": past}
    if remaining:
        value["incomplete"] = sorted(remaining)
        value["error"] = "timeout" + (f": {'; '.join(errors[:5])}" if errors else "")
    elif errors:
        value["errors"] = errors[:20]
    return history.append({"process": process, "type": "info" if remaining else "ok",
                           "f": f, "value": value})


def _past_end(c: Any, topic: str, end: dict[int, int], with_headers: bool) -> tuple[list, dict]:
    """Follow every partition from its listed end to the end Fetch reports: the records
    found there and, per partition, the offset of PARTITION_EOF (absent: not reached)."""
    c.assign([TopicPartition(topic, p, end[p]) for p in sorted(end)])
    past: list[dict] = []
    fetch_end: dict[int, int] = {}
    deadline = time.monotonic() + PROBE_S
    while len(fetch_end) < len(end) and time.monotonic() < deadline:
        for m in c.consume(500, 0.5):
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    fetch_end[m.partition()] = m.offset()
                continue
            past.append(_with_headers(m) if with_headers else record_of(m))
    past.sort(key=lambda r: (r["partition"], r["offset"]))
    return past, fetch_end


def _with_headers(m: Any) -> dict:
    rec = record_of(m)
    rec["headers"] = {k: decode_key(v) for k, v in (m.headers() or [])}
    return rec


def _watermarks(conf: dict, topic: str, deadline: float) -> tuple[dict, dict]:
    """Low and *high* watermarks (read_uncommitted, so an open transaction
    cannot hide behind the last stable offset)."""
    c = Consumer(conf)
    try:
        md = c.list_topics(topic, timeout=max(1.0, deadline - time.monotonic()))
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None:
            raise RuntimeError(f"final read: topic {topic!r} unavailable: "
                               f"{tmd.error if tmd is not None else 'missing'}")
        start: dict[int, int] = {}
        end: dict[int, int] = {}
        for p in sorted(tmd.partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p),
                                             timeout=max(1.0, deadline - time.monotonic()),
                                             cached=False)
            start[p], end[p] = lo, hi
        return start, end
    finally:
        c.close()

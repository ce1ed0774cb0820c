"""Final read: every partition of a topic from its start to its end offset.

Contract
--------
:func:`final_read` first queries each partition's watermarks (uncached, with
read_uncommitted isolation: the end offset is the high watermark), then
assigns every partition at its start offset with explicit
offsets (no group, no commits) and consumes until the consumer position of
every non-empty partition reaches the end offset (control records such as transaction
markers advance the position without producing a record).  Records at or
beyond the end offset taken before the read started are left out of ``records``.

The listed end offset is the platform's answer to ListOffsets(latest); Fetch reports its
own high watermark.  Once every partition is read to its listed end, the read goes on
from where it stands until Fetch reports each partition's end (PARTITION_EOF, at most
``PROBE_S`` seconds): ``fetch_end_offsets`` holds that end and ``past_end`` the records
found at or beyond the listed end (also those of a batch that straddles it).  On a quiet
topic the ends agree and ``past_end`` is empty; when they do not, the platform
listed an end below records it serves (the offsets checker decides whether that hid an
acknowledged write: ``listed_at`` is when the listing was answered, monotonic ns).

It appends one op ``final-read`` (process ``final-reader`` by default)::

    {"topic", "isolation", "start_offsets": {"<p>": int},
     "end_offsets": {"<p>": int}, "records": [{"partition", "offset", "key",
     "value"}, ...], "listed_at": int, "fetch_end_offsets": {"<p>": int},
     "past_end": [records]}

Paged (``page_records``, default :data:`PAGE_RECORDS`): each time ``page_records`` records
below the listed end are collected and another arrives, they are appended as one op ``final-read-page`` (``f`` +
``-page``, type ``info``, the same process) ``{"topic", "page": k, "records": [...]}``, ``k``
from 0, each page sorted by (partition, offset); the final op then holds the remaining
records and ``"pages": N``.  A read of at most ``page_records`` records writes no page and
no ``pages`` key, exactly as before.  So no history line holds more than one page; the
readers merge the pages back (:mod:`kfchaos.history_pages`).  Pages are written as they fill
and not kept, so the reader's memory is bounded by one page whatever the topic's size.  The
returned op is the final op as written plus ``value["records_read"]``, the records below the
listed end over all pages (:func:`records_read` gives it for any read).  A read that raises after
writing pages first appends an ``info`` final op closing them (``"incomplete": true``,
``"error"``); a process killed in the middle of a paged read leaves pages without their
final op, which the readers reject as a malformed history.

The final op is of type ``ok`` when every partition was read to its end (``f="output-read"``
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
from .consumer import FETCH_QUEUE_BACKOFF_MS
from .errors import error_str
from .producer import base_config

__all__ = ["final_read", "records_read"]

PROBE_S = 5.0       # how long the read follows partitions past their listed end
PAGE_RECORDS = 100_000  # records per page op of a paged final read


def final_read(bootstrap: str, topic: str, history: Any, *,
               isolation: str = "read_committed", timeout: float = 60.0,
               process: str = "final-reader", config: dict | None = None,
               batch: int = 2000, f: str = "final-read",
               page_records: int = PAGE_RECORDS) -> dict:
    """Read ``topic`` completely and append the ``final-read`` op (or ``f``), after its page
    ops if it has more than ``page_records`` records; returns the final op with ``records_read``."""
    if page_records < 1:
        raise ValueError(f"page_records is {page_records!r}; give a positive number of records")
    with_headers = f == "output-read"
    conf = base_config(bootstrap, process, {
        "group.id": f"harness-final-reader-{uuid.uuid4().hex[:12]}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": isolation, "enable.partition.eof": True,
        "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS})    # see RecordingConsumer
    conf.update(config or {})
    deadline = time.monotonic() + timeout
    start, end = _watermarks(dict(conf, **{"isolation.level": "read_uncommitted"}),
                             topic, deadline)
    listed_at = time.monotonic_ns()
    pager = _Pager(history, process, f + "-page", topic, page_records)
    reader = _Reader(Consumer(conf), topic, end, with_headers, pager)
    try:
        remaining = reader.read_to_listed_end(start, deadline, batch)
        if not remaining:
            reader.follow_past_end(start, min(deadline, time.monotonic() + PROBE_S))
    except BaseException as exc:
        pager.abandon(exc)
        raise
    finally:
        reader.consumer.close()
    value: dict[str, Any] = {"topic": topic, "isolation": isolation,
                             "start_offsets": offsets_to_json(start),
                             "end_offsets": offsets_to_json(end), "records": reader.sorted(pager.records),
                             "listed_at": listed_at, "fetch_end_offsets": offsets_to_json(reader.fetch_end),
                             "past_end": reader.sorted(reader.past.values())}
    errors = reader.errors
    if remaining:
        value["incomplete"] = sorted(remaining)
        value["error"] = "timeout" + (f": {'; '.join(errors[:5])}" if errors else "")
    elif errors:
        value["errors"] = errors[:20]
    if pager.pages:
        value["pages"] = pager.pages
    op = history.append({"process": process, "type": "info" if remaining else "ok",
                         "f": f, "value": value})
    return dict(op, value=dict(op["value"], records_read=pager.paged + len(value["records"])))


def records_read(op: dict) -> int:
    """The records below the listed end of a read :func:`final_read` returned (all pages)."""
    value = op.get("value") or {}
    return value.get("records_read", len(value.get("records") or []))


class _Pager:
    """The records of a read below its listed end, appended as a page op every
    ``size`` records and then dropped (``pages``: how many were written, ``paged``: their
    records; ``records``: the rest)."""

    def __init__(self, history: Any, process: str, f: str, topic: str, size: int):
        self.history, self.process, self.f, self.topic, self.size = history, process, f, topic, size
        self.records: list[dict] = []
        self.pages = 0
        self.paged = 0

    def abandon(self, exc: BaseException) -> None:
        """The read raised: close the pages already written with an ``info`` final op (no
        records, ``incomplete``), so the history stays well-formed."""
        if self.pages:
            self.history.append({"process": self.process, "type": "info", "f": self.f[:-len("-page")],
                                 "value": {"topic": self.topic, "records": [], "pages": self.pages,
                                           "incomplete": True, "error": f"{type(exc).__name__}: {exc}"}})

    def add(self, rec: dict) -> None:
        if len(self.records) >= self.size:      # a full page and one more record: write it
            page = _Reader.sorted(self.records)
            self.records = []
            self.history.append({"process": self.process, "type": "info", "f": self.f,
                                 "value": {"topic": self.topic, "page": self.pages, "records": page}})
            self.pages += 1
            self.paged += len(page)
        self.records.append(rec)


class _Reader:
    """One consumer reading a topic: records below the listed end (to ``pager``), records at or beyond it
    (``past``, by position), and each partition's end as Fetch reports it (``fetch_end``,
    from PARTITION_EOF). A broker may serve a whole batch that straddles the listed end,
    so records past the end are kept whenever they arrive."""

    def __init__(self, consumer: Any, topic: str, end: dict[int, int], with_headers: bool,
                 pager: _Pager):
        self.consumer, self.topic, self.end, self.with_headers = consumer, topic, end, with_headers
        self.pager = pager
        self.past: dict[tuple[int, int], dict] = {}
        self.fetch_end: dict[int, int] = {}
        self.errors: list[str] = []

    def _take(self, m: Any) -> tuple[int, int | None]:
        """File one message; (partition, offset read or None for an event)."""
        err, p = m.error(), m.partition()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                self.fetch_end[p] = m.offset()
            else:
                self.errors.append(error_str(err))
            return p, None
        o = m.offset()
        rec = _with_headers(m) if self.with_headers else record_of(m)
        if o < self.end[p]:
            self.pager.add(rec)
        else:
            self.past[(p, o)] = rec
        return p, o

    def read_to_listed_end(self, start: dict[int, int], deadline: float, batch: int) -> set[int]:
        """Every non-empty partition from its start to its listed end; the partitions not
        reached before ``deadline``."""
        end, c = self.end, self.consumer
        remaining = {p for p in start if end[p] > start[p]}
        if start:       # empty partitions too: Fetch may serve records their listed end hides
            c.assign([TopicPartition(self.topic, p, start[p]) for p in sorted(start)])
        while remaining and time.monotonic() < deadline:
            for m in c.consume(batch, 0.5):
                p, o = self._take(m)
                if (o is None and self.fetch_end.get(p, -1) >= end[p]) or (o is not None and o >= end[p] - 1):
                    remaining.discard(p)
            if remaining:
                for tp in c.position([TopicPartition(self.topic, p) for p in remaining]):
                    if tp.offset >= end[tp.partition]:
                        remaining.discard(tp.partition)
        return remaining

    def follow_past_end(self, start: dict[int, int], deadline: float) -> None:
        """Go on reading, from where the read stands, until Fetch reports each partition's
        end (PARTITION_EOF)."""
        c = self.consumer
        # an end-of-partition seen below the listed end is stale once the read went past it
        self.fetch_end = {p: o for p, o in self.fetch_end.items() if o >= self.end[p]}
        while len(self.fetch_end) < len(start) and time.monotonic() < deadline:
            for m in c.consume(500, 0.5):
                self._take(m)

    @staticmethod
    def sorted(recs: Any) -> list[dict]:
        return sorted(recs, key=lambda r: (r["partition"], r["offset"]))


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

"""Idempotent-producer events, recorded from librdkafka's ``eos`` debug log.

Contract
--------
A broker deduplicates a retried batch only if it carries the producer id,
epoch and sequence numbers of the first attempt.  librdkafka changes the
epoch behind the application's back: on ``OUT_OF_ORDER_SEQUENCE_NUMBER`` for
a request that followed a failed one it drains the partitions, bumps the
epoch and re-sends every message still in flight with new sequence numbers
(librdkafka issue #4953).  A message the old leader had already written is
then written a second time, and nothing in the delivery report says so.

:class:`IdempotenceLog` is the logger a :class:`~.producer.RecordingProducer`
hands to librdkafka.  It turns on the ``eos`` debug context and records, as
``info`` operations ``f="client-event"`` of the producer's process, the lines
that change what the broker can deduplicate (:func:`parse_line`):

=================  =========================================================
pid-assigned       ``pid``, ``epoch`` (and ``previous`` when it replaced one)
epoch-bump         a drain for an epoch bump began: ``reason``, and the
                   ``pid``/``epoch`` being replaced
pid-reset          the same for a producer-id reset
epoch-bumped       the drain ended on a new epoch: ``pid``, ``epoch``
skipped-sequence   a request was refused for skipped sequence numbers:
                   ``topic``, ``partition``
fatal              the idempotent producer entered its fatal-error state
=================  =========================================================

Every other line goes on to the wrapped logger, at its own level, unless it
is below the ``log_level`` the producer was configured with (the ``eos``
lines are debug lines and would otherwise be dropped by a quiet
``log_level``).  ``pid-assigned`` events map broker log lines such as
"producer 7001" to a process of the history.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from kfchaos.history import CLIENT_EVENT_F

__all__ = ["IdempotenceLog", "parse_line", "install", "EVENT_F"]

EVENT_F = CLIENT_EVENT_F
_PID = r"PID\{Id:(-?\d+),Epoch:(-?\d+)\}"
_ACQUIRED = re.compile(r"Acquired " + _PID + r"(?: \(previous " + _PID + r"\))?")
_BUMPED = re.compile(r"bumped epoch to " + _PID)
_DRAIN = re.compile(r"Beginning partition drain(?: in state \S+)? for PID\{([^}]*)\} "
                    r"(epoch bump|reset) for \d+ partition\(s\) with in-flight "
                    r"requests: (.*)$")
_PID_FIELDS = re.compile(r"Id:(-?\d+),Epoch:(-?\d+)")
_SKIPPED = re.compile(r"ProduceRequest for (.+?) \[(\d+)\] with \d+ message\(s\) failed "
                      r"due to skipped sequence numbers")
_SYSLOG_TO_LOGGING = {0: 50, 1: 50, 2: 50, 3: 40, 4: 30, 5: 20, 6: 20, 7: 10}


def parse_line(fac: str, text: str) -> dict | None:
    """The event a librdkafka log line (facility ``fac``, message ``text``)
    stands for, or None."""
    if fac == "GETPID":
        m = _ACQUIRED.search(text)
        if m:
            ev = {"event": "pid-assigned", "pid": int(m[1]), "epoch": int(m[2])}
            if m[3] is not None:
                ev["previous"] = {"pid": int(m[3]), "epoch": int(m[4])}
            return ev
    elif fac == "DRAIN":
        m = _BUMPED.search(text)
        if m:
            return {"event": "epoch-bumped", "pid": int(m[1]), "epoch": int(m[2])}
        m = _DRAIN.search(text)
        if m:
            ev = {"event": "epoch-bump" if m[2] == "epoch bump" else "pid-reset",
                  "reason": m[3].strip()}
            ids = _PID_FIELDS.match(m[1])
            if ids:
                ev["pid"], ev["epoch"] = int(ids[1]), int(ids[2])
            return ev
    elif fac == "ERRSEQ":
        m = _SKIPPED.search(text)
        if m:
            return {"event": "skipped-sequence", "topic": m[1], "partition": int(m[2]),
                    "detail": _strip_thread(text)[:300]}
    elif fac == "IDEMPSTATE" and text.rstrip().endswith("-> FatalError"):
        return {"event": "fatal", "detail": _strip_thread(text)[:300]}
    return None


def _strip_thread(text: str) -> str:
    """librdkafka prefixes each message with ``[thrd:...]: ``."""
    if text.startswith("[thrd:"):
        i = text.find("]: ")
        if i >= 0:
            return text[i + 3:]
    return text


def install(conf: dict, history: Any, process: str) -> dict:
    """``conf`` with the ``eos`` debug context added, librdkafka's log level
    raised to debug and an :class:`IdempotenceLog` as its logger, which
    applies the level (syslog scale, default 6) and wraps the logger that
    ``conf`` named (default: the ``chaos.rdkafka`` logger)."""
    conf = dict(conf)
    contexts = [c.strip() for c in str(conf.get("debug") or "").split(",") if c.strip()]
    log = IdempotenceLog(history, process, conf.get("logger"),
                         level=int(conf.get("log_level", 6)), user_debug=bool(contexts))
    if "eos" not in contexts and "all" not in contexts:
        contexts.append("eos")
    conf.update({"debug": ",".join(contexts), "log_level": 7, "logger": log})
    return conf


class IdempotenceLog:
    """Logger for librdkafka: records the events above in ``history`` as ops
    of ``process`` and forwards the other lines to ``logger``."""

    def __init__(self, history: Any, process: str, logger: Any = None, *,
                 level: int = 6, user_debug: bool = False):
        self.history, self.process = history, process
        self.logger = logger if logger is not None else logging.getLogger("chaos.rdkafka")
        self.threshold = _SYSLOG_TO_LOGGING.get(level, 10)   # the caller's log_level
        self.user_debug = user_debug     # debug lines were asked for, not only ours
        self.events = 0

    # confluent-kafka calls logger.log(level, "%s [%s] %s", facility, name, message)
    def log(self, level: int, fmt: str, *args: Any) -> None:
        fac, text = (str(args[0]), str(args[2])) if len(args) >= 3 else ("", fmt % args)
        ev = parse_line(fac, _strip_thread(text))
        if ev is not None:
            op = self.history.info(self.process, EVENT_F, ev)
            if op.get("index") is not None:      # None: the history was closed (a late write)
                self.events += 1
        if level >= self.threshold and (level > logging.DEBUG or self.user_debug):
            self.logger.log(level, fmt, *args)

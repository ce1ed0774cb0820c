"""Typed records of the history digest and record identities.

Contract
--------
* :class:`Write`: one harness write (a plain ``send`` or a send inside a
  ``txn``), mutable while the write is in flight.  ``outcome`` is None until
  the completion is seen (then ``"ok"``, ``"fail"`` or ``"info"``);
  ``partition``/``offset`` are set by an ``ok`` completion.
* :class:`OrderEvent`: one non-contiguous step of a consumer's offsets.
* :class:`FirstPoll`: the first poll of a partition after it was assigned to
  a group member, with the group's commit state at that moment.
* A record position is the int ``pos(p, o) = p << 40 | o``.
* A record identity ("rid") is ``value["id"]`` for dict values, None for a
  null value, else ``("raw", value)``; only dict ids are *harness ids*.
"""
from __future__ import annotations

import json
from itertools import repeat
from operator import lshift, or_
from typing import Any, NamedTuple

__all__ = ["Write", "OrderEvent", "FirstPoll", "FIRST_POLL_FIELDS", "SHIFT", "MASK",
           "HOLE", "pos", "unpos", "positions", "raw_rid", "rid_of", "rids_of"]

SHIFT = 40
MASK = (1 << SHIFT) - 1
_get = dict.get

HOLE = type("Hole", (), {"__repr__": lambda self: "HOLE"})()   # no record at an offset


class Write:
    """One harness write; see the module contract."""

    __slots__ = ("id", "process", "topic", "key", "seq", "invoke_time", "invoke_index",
                 "txn", "outcome", "partition", "offset", "done_time", "done_index")

    def __init__(self, rid: Any, process: Any, topic: Any, key: Any, seq: Any,
                 invoke_time: int | None, invoke_index: Any, txn: Any = None):
        self.id = rid
        self.process = process
        self.topic = topic
        self.key = key
        self.seq = seq
        self.invoke_time = invoke_time
        self.invoke_index = invoke_index
        self.txn = txn
        self.outcome = None
        self.partition = None
        self.offset = None
        self.done_time = None
        self.done_index = None

    def complete(self, outcome: str, time: int, index: Any,
                 partition: Any = None, offset: Any = None) -> None:
        self.outcome = outcome
        self.done_time = time
        self.done_index = index
        self.partition = partition
        self.offset = offset

    def __repr__(self) -> str:
        return (f"Write({self.id!r}, {self.process!r}, {self.topic!r}, key={self.key!r}, "
                f"seq={self.seq!r}, {self.outcome}, p={self.partition!r}, o={self.offset!r})")


class OrderEvent(NamedTuple):
    kind: str            # "gap" (offset jumped forward) or "back" (not increasing)
    index: Any           # the poll's op index
    time: int
    process: Any
    topic: Any
    partition: Any
    previous: int        # the offset polled before, in the same tracking span
    offset: int


class FirstPoll(NamedTuple):
    index: Any
    time: int
    wall: Any
    process: Any
    group: Any
    topic: Any
    partition: Any
    first: int                 # first offset polled
    position: Any              # committed offset the broker reported with the assign
    commit_ok: Any             # last commit ok of the partition
    commit_maybe: Any          # largest commit of unknown outcome
    commit_inflight: Any       # largest commit in flight
    last_polled: Any           # highest offset any group member polled before
    assign_index: Any
    assign_time: Any


FIRST_POLL_FIELDS = FirstPoll._fields


def pos(p: int, o: int) -> int:
    return (p << SHIFT) | o


def unpos(x: int) -> tuple[int, int]:
    return x >> SHIFT, x & MASK


def positions(ps: list, os: list) -> list[int]:
    """``pos(p, o)`` of parallel partition/offset lists (ints required)."""
    return list(map(or_, map(lshift, ps, repeat(SHIFT)), os))


def raw_rid(val: Any) -> Any:
    """Identity of a non-dict record value: None, or ("raw", value)."""
    if val is None:
        return None
    if isinstance(val, (str, int, float, bool)):
        return ("raw", val)
    return ("raw", json.dumps(val, sort_keys=True))


def rid_of(val: Any) -> Any:
    return val.get("id") if val.__class__ is dict else raw_rid(val)


def rids_of(vals: list) -> list:
    """:func:`rid_of` of every value (C-level when all are plain dicts)."""
    if set(map(type, vals)) <= {dict}:
        return list(map(_get, vals, repeat("id")))
    return [rid_of(v) for v in vals]

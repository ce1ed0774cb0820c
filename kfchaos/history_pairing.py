"""Pairing invocations with their completions (per process, by an operation key, else FIFO).

Contract: a completion belongs to the oldest pending invoke of the same
:func:`correlation_key` -- ``(process, f, id)`` with the id ``value["id"]`` for sends,
``value["txn"]`` for transactions and ``value["fault_id"]`` for faults, None otherwise --
because producers have many sends in flight at once.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable

_ID_FIELDS = {"send": "id", "txn": "txn", "fault-start": "fault_id", "fault-stop": "fault_id"}


def correlation_key(op: dict) -> tuple:
    """Key correlating an invoke with its completion: (process, f, op-id)."""
    f = op["f"]
    field = _ID_FIELDS.get(f)
    v = op.get("value")
    cid = v.get(field) if field and isinstance(v, dict) else None
    return (op["process"], f, cid)


def pair(history: Iterable[dict]) -> list[tuple[dict | None, dict | None]]:
    """Pair invokes with completions.

    Returns ``(invoke, completion)`` tuples in invoke order; ``completion`` is
    None for an invoke never completed (treat it like ``info``).  Completions
    with no invoke (e.g. ``poll`` ok, ``assign`` ok) come as ``(None, op)``
    in history order, after the invoke pairs.
    """
    pending: dict[tuple, deque] = {}
    pairs: list[list] = []
    orphans: list[tuple[None, dict]] = []
    for op in history:
        key = correlation_key(op)
        if op["type"] == "invoke":
            slot = [op, None]
            pairs.append(slot)
            pending.setdefault(key, deque()).append(slot)
        else:
            q = pending.get(key)
            if q:
                q.popleft()[1] = op
            else:
                orphans.append((None, op))
    return [(a, b) for a, b in pairs] + orphans


def completions(history: Iterable[dict]) -> dict[int, dict | None]:
    """Map invoke index -> completion op (None when never completed)."""
    return {inv["index"]: done for inv, done in pair(history) if inv is not None}

"""Anomaly injection into valid histories (for checker tests and demos).

Contract
--------
Each ``inject_*`` mutates a list of op dicts in place to introduce exactly
one anomaly of a known kind and returns what it changed, or ``None`` if the
history has no suitable spot.  A final read written in pages is first
assembled in place (:mod:`kfchaos.history_pages`): its page ops are replaced
by the one op holding every record.  The result must be detected as:

=========================  ===============================================
inject_lost                lost / ``lost`` (acked record dropped from the
                           final read)
inject_duplicate           duplicate / ``duplicate`` (copy appended)
inject_swap                ordering / ``reordered`` (two acked writes of one
                           producer and key trade offsets, consistently in
                           acks, polls and the final read)
inject_skip                group / ``skipped-range`` (the first record a
                           consumer polls after an assign is removed)
inject_output_duplicate    exactly-once / ``duplicate-output``
=========================  ===============================================
"""
from __future__ import annotations

import random
from typing import Any

from kfchaos.history_pages import assemble, has_pages

from .index import HistoryIndex

__all__ = ["inject_lost", "inject_duplicate", "inject_swap", "inject_skip",
           "inject_output_duplicate", "final_read_op"]


def _assembled(ops: list[dict]) -> None:
    """Merge the pages of paged reads into their final op, in place."""
    if has_pages(ops):
        ops[:] = list(assemble(ops))


def final_read_op(ops: list[dict], topic: str) -> dict | None:
    """The final read the checkers use for ``topic`` (last read_committed ok)."""
    _assembled(ops)
    best = None
    for op in ops:
        if op["f"] == "final-read" and op["type"] == "ok" and op["value"]["topic"] == topic:
            if best is None or op["value"].get("isolation") == "read_committed" \
                    or best["value"].get("isolation") != "read_committed":
                best = op
    return best


def _rng(rng: random.Random | int | None) -> random.Random:
    return rng if isinstance(rng, random.Random) else random.Random(rng)


def inject_lost(ops: list[dict], topic: str = "t", rng: Any = None) -> str | None:
    fr = final_read_op(ops, topic)
    if fr is None:
        return None
    acked = {op["value"]["id"] for op in ops
             if op["f"] == "send" and op["type"] == "ok" and op["value"]["topic"] == topic}
    recs = fr["value"]["records"]
    cands = [i for i, r in enumerate(recs)
             if isinstance(r["value"], dict) and r["value"].get("id") in acked]
    if not cands:
        return None
    i = _rng(rng).choice(cands)
    return recs.pop(i)["value"]["id"]


def _append_copy(fr: dict, rng: random.Random) -> dict | None:
    recs = fr["value"]["records"]
    cands = [r for r in recs if isinstance(r["value"], dict) and r["value"].get("id")]
    if not cands:
        return None
    r = dict(rng.choice(cands))
    ends = fr["value"]["end_offsets"]
    r["offset"] = ends[str(r["partition"])]
    ends[str(r["partition"])] = r["offset"] + 1
    recs.append(r)
    return r


def inject_duplicate(ops: list[dict], topic: str = "t", rng: Any = None) -> str | None:
    fr = final_read_op(ops, topic)
    r = _append_copy(fr, _rng(rng)) if fr is not None else None
    return None if r is None else r["value"]["id"]


def inject_output_duplicate(ops: list[dict], topic: str = "out",
                            rng: Any = None) -> str | None:
    return inject_duplicate(ops, topic, rng)


def inject_swap(ops: list[dict], topic: str = "t", rng: Any = None) -> tuple | None:
    _assembled(ops)
    last: dict[tuple, dict] = {}
    pairs = []
    for op in ops:
        if op["f"] == "send" and op["type"] == "ok" and op["value"]["topic"] == topic:
            v = op["value"]
            k = (op["process"], v["key"], v["partition"])
            if k in last and last[k]["seq"] < v["seq"]:
                pairs.append((last[k], v))
            last[k] = v
    if not pairs:
        return None
    a, b = _rng(rng).choice(pairs)
    p, oa, ob = a["partition"], a["offset"], b["offset"]
    a["offset"], b["offset"] = ob, oa
    for op in ops:
        if op["type"] != "ok" or op["f"] not in ("poll", "final-read") \
                or op["value"]["topic"] != topic:
            continue
        recs = op["value"]["records"]
        at = {r["offset"]: r for r in recs if r["partition"] == p and r["offset"] in (oa, ob)}
        if oa in at and ob in at:
            at[oa]["value"], at[ob]["value"] = at[ob]["value"], at[oa]["value"]
        elif at:
            r = next(iter(at.values()))
            r["value"] = {**r["value"], "id": b["id"] if r["offset"] == oa else a["id"]}
    return a["id"], b["id"]


def inject_skip(ops: list[dict], rng: Any = None) -> tuple | None:
    idx = HistoryIndex(ops)
    by_index = {op["index"]: op for op in ops if op["f"] == "poll"}
    cands = []
    for ev in idx.first_polls:
        bound = [x for x in (ev["position"], ev["commit_ok"], ev["commit_maybe"],
                             ev["commit_inflight"]) if x is not None and x >= 0]
        b = max(bound) if bound else 0
        op = by_index.get(ev["index"])
        if op is None or ev["first"] != b:
            continue
        mine = [r for r in op["value"]["records"] if r["partition"] == ev["partition"]]
        if len(mine) >= 2:
            cands.append((op, ev["partition"], mine[0]))
    if not cands:
        return None
    op, p, r = _rng(rng).choice(cands)
    op["value"]["records"].remove(r)
    return op["index"], p, r["offset"]

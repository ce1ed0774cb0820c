"""Cut-over checker: a consumer group moved from the source platform to the target resumes
with no skipped record and bounded redelivery.

Contract
--------
A ``cutover`` op (process ``harness``) records one move: ``{"group", "source_topic",
"target_topic", "process", "stopped_at", "source_committed", "translated"}``: the group
stopped on the source at ``stopped_at`` (monotonic ns) with ``source_committed`` (partition
-> next offset to read on the source), MirrorMaker's checkpoints gave it ``translated``
offsets on the target, and the consumer ``process`` then read ``target_topic`` as that group
to its end. With the source's and the target's final reads:

* ``cutover-skipped``: a record at or above the group's committed source offset that is on
  the target (mirrored) but that the group never read there. Invalid. (A record that never
  reached the target is the mirror checker's ``mirror-missing``.)
* redelivery: records the group read on the target whose source offset lies below what it
  had committed on the source (it had consumed them already): ``stats["redelivered"]``, per
  partition in ``stats["redelivered_by_partition"]``. With option ``max_redelivery``
  (records per cut-over) more is ``excess-redelivery``. Invalid.
* ``no-translated-offset``: a partition without a translated offset on the target (the
  group then starts wherever ``auto.offset.reset`` says). Informational.

``stats["cutover_s"]``: from ``stopped_at`` to the first poll of ``process`` that returned
records on the target (None if it returned none). No ``cutover`` op, or a missing final
read of either topic, is ``unknown``.
"""
from __future__ import annotations

from typing import Any

from .index import as_index
from .records import unpos
from .verdict import Verdict

NAME = "cutover"
CUTOVER_F = "cutover"


def check(history: Any, *, max_redelivery: float | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME, informational=("no-translated-offset",))
    ops = [op for op in idx.get(CUTOVER_F) if op.get("type") == "ok"]
    if not ops:
        return v.finish("no cut-over in the history")
    v.stats.update(redelivered=0, redelivered_by_partition={}, skipped=0, read_on_target=0)
    for op in ops:
        reason = _check_move(idx, v, op.get("value") or {}, max_redelivery)
        if reason:
            return v.finish(reason)
    return v.finish()


def _polled(idx: Any, topic: str, process: str) -> tuple[list[tuple[int, int, Any]], int | None]:
    """(partition, offset, rid) of every record ``process`` polled from ``topic``, and the time
    of its first poll that returned records."""
    d = idx.polls(topic)
    if d is None:
        return [], None
    out, first = [], None
    for k, proc in enumerate(d.procs):
        if proc != process:
            continue
        first = d.times[k] if first is None else first
        lo, hi = d.cum[k], d.cum[k + 1]
        out += list(zip(d.ps[lo:hi], d.os[lo:hi], d.rids[lo:hi]))
    return out, first


def _check_move(idx: Any, v: Verdict, val: dict, budget: float | None) -> str | None:
    src, dst, group = val["source_topic"], val["target_topic"], val["group"]
    fr_s, fr_t = idx.final_read(src), idx.final_read(dst)
    if fr_s is None or fr_t is None:
        return f"no final read of {src if fr_s is None else dst}"
    committed = {int(p): o for p, o in (val.get("source_committed") or {}).items() if o is not None and o >= 0}
    translated = {int(p): o for p, o in (val.get("translated") or {}).items() if o is not None and o >= 0}
    for p in fr_s.partitions():
        if p not in translated:
            v.add("no-translated-offset", {"group": group, "topic": dst, "partition": p})
    polled, first_time = _polled(idx, dst, val["process"])
    v.stats["read_on_target"] += len(polled)
    v.stats["translated"], v.stats["source_committed"] = translated, committed
    v.stats["cutover_s"] = round((first_time - val["stopped_at"]) / 1e9, 3) if first_time is not None else None
    seen = {rid for _, _, rid in polled if rid is not None}
    by_part: dict[int, int] = {}
    for rid in seen:
        at = fr_s.ids.get(rid)
        if at is None:
            continue
        p, o = unpos(at)
        if o < committed.get(p, fr_s.start.get(p, 0)):
            by_part[p] = by_part.get(p, 0) + 1
    total = sum(by_part.values())
    v.stats["redelivered"] += total
    v.stats["redelivered_by_partition"] = {str(p): n for p, n in sorted(by_part.items())}
    if budget is not None and total > budget:
        v.add("excess-redelivery", {"group": group, "topic": dst, "redelivered": total, "max_redelivery": budget,
                                    "by_partition": v.stats["redelivered_by_partition"]})
    for p in fr_s.partitions():
        start = committed.get(p, fr_s.start.get(p, 0))
        for o in fr_s.sorted_offsets(p):
            rid = fr_s.rid_at(p, o)
            if o >= start and rid is not None and rid in fr_t.ids and rid not in seen:
                v.stats["skipped"] += 1
                v.add("cutover-skipped", {"group": group, "topic": src, "partition": p, "offset": o, "id": rid,
                                          "committed_on_source": start, "translated": translated.get(p)})
    return None

"""Mirror checker: every record acknowledged on the source platform is on the target platform
exactly once, in the same partition, in per-partition order.

Contract
--------
Option ``mirror_topics``: source topic -> its mirror on the target (recorded by the
migration rehearsal as a check option; without it the checker does not run). For each pair,
the source's acknowledged writes (``send`` ok: partition and offset on the source) are
compared with the target topic's final read:

* ``mirror-missing``: acknowledged on the source, absent from the target. Invalid.
* ``mirror-duplicate``: one id at two or more offsets of the target (MirrorMaker 2 delivers
  at least once: a task restart re-sends what its last offset commit did not cover).
  Invalid; ``stats["duplicates"]`` counts the extra copies.
* ``mirror-partition``: an id mirrored into another partition than the one it was
  acknowledged in. Invalid.
* ``mirror-reorder``: in a target partition, a record whose source offset is below the
  source offset of the record before it (duplicates excluded: a re-sent copy is counted
  once, as a duplicate). Invalid.
* ``mirror-unacked``: on the target but not acknowledged on the source (an unknown-outcome
  write that reached the source). Informational: never a failure.

A pair without a final read of its target topic is ``unknown``. Replication lag, from the
``mirror-lag`` samples (process ``harness``; ``{"source_end", "target_end"}``: end offsets
per partition): ``stats["lag_max_records"]`` is the largest sum over partitions of
``source_end - target_end`` seen; ``stats["catch_up_s"]`` is the time from the last
acknowledged source write to the first later sample with no lag (``None`` when no sample
showed the target caught up).
"""
from __future__ import annotations

from typing import Any

from .index import as_index
from .records import pos, unpos
from .verdict import Verdict

NAME = "mirror"
LAG_F = "mirror-lag"


def check(history: Any, *, mirror_topics: dict | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME, informational=("mirror-unacked",))
    if not mirror_topics:
        return v.finish("no mirrored topics named (check option mirror_topics)")
    v.stats.update(acked=0, mirrored=0, duplicates=0, **lag_figures(idx, list(mirror_topics)))
    missing_read = []
    for src, dst in sorted(mirror_topics.items()):
        fr = idx.final_read(dst)
        if fr is None:
            missing_read.append(dst)
            continue
        _check_pair(idx, v, src, dst, fr)
    return v.finish(f"no final read of {', '.join(missing_read)}" if missing_read else None)


def _check_pair(idx: Any, v: Verdict, src: str, dst: str, fr: Any) -> None:
    acked = idx.acked.get(src, {})
    v.stats["acked"] += len(acked)
    v.stats["mirrored"] += fr.n_records
    for rid, w in acked.items():
        at = fr.ids.get(rid)
        if at is None:
            v.add("mirror-missing", {"id": rid, "topic": src, "partition": w.partition, "offset": w.offset})
        elif unpos(at)[0] != w.partition:
            v.add("mirror-partition", {"id": rid, "topic": dst, "source_partition": w.partition,
                                       "partition": unpos(at)[0], "offset": unpos(at)[1]})
    for rid, p, o in fr.dups:
        v.stats["duplicates"] += 1
        first = unpos(fr.ids[rid])
        v.add("mirror-duplicate", {"id": rid, "topic": dst, "partition": p, "offset": o,
                                   "first_at": {"partition": first[0], "offset": first[1]}})
    for p in fr.partitions():
        _order(v, dst, p, fr, acked)
    unacked = [rid for rid in fr.ids if rid not in acked]
    for rid in unacked:
        v.add("mirror-unacked", {"id": rid, "topic": dst})


def _order(v: Verdict, dst: str, p: int, fr: Any, acked: dict) -> None:
    """Source offsets along the target partition never go down (first copies only)."""
    prev = None
    for o in fr.sorted_offsets(p):
        rid = fr.rid_at(p, o)
        w = acked.get(rid)
        if w is None or w.offset is None or fr.ids.get(rid) != pos(p, o):
            continue
        if prev is not None and w.offset < prev[1]:
            v.add("mirror-reorder", {"topic": dst, "partition": p, "offset": o, "id": rid,
                                     "source_offset": w.offset, "after_source_offset": prev[1], "after_id": prev[0]})
        prev = (rid, w.offset)


def lag_figures(idx: Any, sources: list[str]) -> dict:
    """Largest replication lag sampled (records), and how long after the last acknowledged
    source write the first sample showed the target holding every source offset."""
    worst, samples = None, []
    for op in idx.get(LAG_F):
        val = op.get("value") or {}
        src, dst = val.get("source_end") or {}, val.get("target_end") or {}
        lag = sum(max(0, int(n) - int(dst.get(p, 0))) for p, n in src.items())
        worst = lag if worst is None else max(worst, lag)
        samples.append((op.get("time", 0), lag))
    last_ack = max((w.done_time for t in sources for w in idx.acked.get(t, {}).values()
                    if w.done_time is not None), default=None)
    caught = None
    if last_ack is not None:
        caught = next((t for t, lag in sorted(samples) if t >= last_ack and lag == 0), None)
    return {"lag_max_records": worst, "lag_samples": len(samples),
            "catch_up_s": round((caught - last_ack) / 1e9, 3) if caught is not None else None}

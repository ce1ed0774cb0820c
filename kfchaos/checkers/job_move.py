"""Job-move checker: a Flink job moved from the source platform to the target through a
savepoint keeps its output exactly-once across the move.

Contract
--------
A ``job-move`` op (process ``harness``) records one move: ``{"input_topic"`` (on the
source), ``"target_input_topic"`` (its mirror on the target, which the moved job reads),
``"output_topics"`` (the job's output on the source, then on the target),
``"stopped_at"`` (monotonic ns: the stop-with-savepoint was asked for),
``"first_output_at"`` (the first committed output record seen on the target, or None),
``"savepoint_bytes"``, ``"source_positions"``/``"target_positions"`` (partition -> next
offset: what the job had read on the source, where it starts on the target)}``. Its type
is ``ok`` (moved), ``fail`` (definitely not) or ``info`` (outcome unknown): the verdict
is decided from the data either way, never from the op's type.

The inputs the output must hold are the acknowledged writes to ``input_topic`` plus every
harness id in its final read (a write whose outcome was unknown but that landed); a write
of unknown outcome absent from that read is not required. The output is the union of the
``read_committed`` final reads of ``output_topics``:

* ``move-missing``: a required input id in no output. Invalid.
* ``move-duplicate``: an input id in the output more than once, in one output topic or in
  both (``where`` says which). Invalid.
* ``move-unexpected``: an output id never written to the input. Invalid.
* ``move-count-gap`` / ``move-count-repeat``: per key, the output counts of both sides
  together must be 1..n: the keyed state moved with the job. Invalid.

No ``job-move`` op, or no final read of the input or of an output topic, is ``unknown``.
Stats: ``downtime_s`` (``stopped_at`` to ``first_output_at``), ``stages_s`` (seconds of
stop, copy, positions, restore, as recorded), ``savepoint_bytes``,
``output_before`` / ``output_after`` (records of each side), ``required``.
"""
from __future__ import annotations

from typing import Any

from .index import as_index
from .records import unpos
from .verdict import MAX_EXAMPLES, Verdict

NAME = "job-move"
MOVE_F = "job-move"


def check(history: Any, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    ops = [op for op in idx.get(MOVE_F) if op.get("type") in ("ok", "fail", "info")]
    if not ops:
        return v.finish("no job move in the history")
    move = ops[-1].get("value") or {}
    src, outs = move.get("input_topic"), list(move.get("output_topics") or [])
    reads = {t: idx.final_read(t) for t in [src, *outs]}
    absent = [t for t, fr in reads.items() if fr is None]
    if absent or len(outs) != 2:
        return v.finish(f"no final read of {', '.join(map(str, absent))}" if absent else
                        "the job move names no output topic on each side")
    v.stats.update(_figures(move, ops[-1]), output_before=reads[outs[0]].n_records,
                   output_after=reads[outs[1]].n_records)
    seen = _output_ids(v, reads, outs)
    _missing(idx, v, src, reads[src], seen)
    _unexpected(idx, v, reads[src], seen)
    _counts(v, reads, outs)
    return v.finish()


def _figures(move: dict, op: dict) -> dict:
    stop, first = move.get("stopped_at"), move.get("first_output_at")
    return {"moved": op.get("type"), "savepoint_bytes": move.get("savepoint_bytes"), "stages_s": move.get("stages_s"),
            "downtime_s": round((first - stop) / 1e9, 3) if stop is not None and first is not None else None}


def _output_ids(v: Verdict, reads: dict, outs: list) -> dict:
    """id -> (topic, partition, offset) of its first copy; every further copy is a duplicate."""
    seen: dict = {}
    v.stats["duplicates"] = 0
    for t in outs:
        fr = reads[t]
        for rid, p, o in fr.dups:
            v.stats["duplicates"] += 1
            v.add("move-duplicate", {"id": rid, "topic": t, "partition": p, "offset": o, "where": t,
                                     "first_at": [t, *unpos(fr.ids[rid])]})
        for rid, at in fr.ids.items():
            if rid in seen:
                v.stats["duplicates"] += 1
                v.add("move-duplicate", {"id": rid, "topic": t, "partition": unpos(at)[0], "offset": unpos(at)[1],
                                         "where": "both sides", "first_at": [seen[rid][0], *unpos(seen[rid][1])]})
            else:
                seen[rid] = (t, at)
    return seen


def _missing(idx: Any, v: Verdict, src: str, fr_in: Any, seen: dict) -> None:
    required = set(idx.acked.get(src, {})) | set(fr_in.ids)
    v.stats["required"] = len(required)
    missing = sorted((rid for rid in required if rid not in seen), key=str)
    v.stats["missing"] = len(missing)
    for rid in missing[:MAX_EXAMPLES]:
        v.add("move-missing", idx.write_example(rid, topic=src))
    if len(missing) > MAX_EXAMPLES:
        v.add("move-missing", n=len(missing) - MAX_EXAMPLES)


def _unexpected(idx: Any, v: Verdict, fr_in: Any, seen: dict) -> None:
    odd = sorted((rid for rid in seen if rid not in fr_in.ids and idx.write(rid) is None), key=str)
    for rid in odd[:MAX_EXAMPLES]:
        t, at = seen[rid]
        v.add("move-unexpected", {"id": rid, "topic": t, "partition": unpos(at)[0], "offset": unpos(at)[1]})
    if len(odd) > MAX_EXAMPLES:
        v.add("move-unexpected", n=len(odd) - MAX_EXAMPLES)


def _counts(v: Verdict, reads: dict, outs: list) -> None:
    """Per key, the counts of both sides together are exactly 1..n."""
    both: dict[Any, list] = {}
    for t in outs:
        for k, counts in reads[t].counts.items():
            both.setdefault(k, []).extend(counts)
    for k, counts in both.items():
        prev = 0
        for c in sorted(counts):
            if c <= prev:
                v.add("move-count-repeat", {"key": k, "count": c})
            elif c > prev + 1:
                v.add("move-count-gap", {"key": k, "missing": [prev + 1, c - 1], "count": c})
            prev = max(prev, c)

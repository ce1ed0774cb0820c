"""Exactly-once output checker (Flink job: input topic -> output topic).

Contract
--------
Output records (final read of ``output_topic``, normally ``read_committed``)
have JSON values ``{"id": input id, "key", "count": running per-key count from
1, "seq", "in_partition", "in_offset"}``.

* required inputs: ids of acknowledged writes to ``input_topic`` plus every
  harness id in the input topic's final read (writes whose outcome was
  unknown but that did land).  Unknown-outcome writes absent from the input
  final read are not required.
* ``missing-output``: a required input id absent from the output.
* ``duplicate-output``: an input id present more than once in the output.
* ``unexpected-output``: an output id that was never written to the input
  (no send/txn invoke and not in the input final read).
* ``count-gap`` / ``count-repeat``: per key, the sorted output counts must be
  exactly 1, 2, ..., n -- a missing number is a gap, a repeated one a repeat.

Topics come from options ``input_topic``/``output_topic``, else from a
``deploy`` op value carrying ``input_topic``/``output_topic``.  No output
topic, or no final read of it: ``unknown``.  Without ``input_topic`` every
harness-written topic other than the output is an input.
"""
from __future__ import annotations

from itertools import filterfalse
from typing import Any

from .digests import unpos
from .index import as_index
from .verdict import Verdict

NAME = "exactly-once"


def discover_topics(idx: Any) -> tuple[str | None, str | None]:
    """(input_topic, output_topic) from the last ``deploy`` op that names them."""
    inp = out = None
    for op in idx.get("deploy"):
        val = op.get("value")
        if isinstance(val, dict):
            inp = val.get("input_topic", inp)
            out = val.get("output_topic", out)
    return inp, out


def check(history: Any, *, input_topic: str | None = None,
          output_topic: str | None = None, **_: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    d_in, d_out = discover_topics(idx)
    input_topic = input_topic or d_in
    output_topic = output_topic or d_out
    if output_topic is None:
        return v.finish("no output topic given or deployed")
    out = idx.final_read(output_topic)
    if out is None:
        return v.finish(f"no final read of output topic {output_topic}")
    inputs = [input_topic] if input_topic else sorted(
        (t for t in idx.write_topics() if t != output_topic), key=str)
    missing: set = set()
    reqs: list[dict] = []
    outd = out.ids
    for t in inputs:
        acked, fr = idx.acked.get(t, {}), idx.final_read(t)
        reqs.append(acked)
        if fr is None:
            missing.update(idx.absent(acked, outd))
            continue
        reqs.append(fr.ids)
        gone = idx.absent(fr.ids, outd)
        missing.update(gone)
        # acked \ out = (acked \ fr \ out) | (acked & fr \ out), the latter in ``gone``
        if not idx.acks_in_place(t):
            missing.update(filterfalse(outd.__contains__, idx.absent(acked, fr.ids)))
    outk = outd.keys()
    if len(inputs) == 1 and len(reqs) == 2 and len(outd) == len(reqs[1]) - len(gone):
        extra: set = set()       # out >= fr \ gone, of the same size: out == fr \ gone
    else:
        rest: Any = outd
        for m in reqs:
            rest = filterfalse(m.__contains__, rest)
        extra = set(rest)
    st = v.stats
    st.update({"input-topics": inputs, "output-topic": output_topic,
               "output-isolation": out.isolation,
               "required": len(outk) - len(extra) + len(missing),
               "output-records": out.n_records, "output-ids": len(out.ids)})
    st["missing-output"] = len(missing)
    for rid in sorted(missing, key=str)[:10]:
        v.add("missing-output", idx.write_example(rid, topic=input_topic))
    if len(missing) > 10:
        v.add("missing-output", n=len(missing) - 10)
    st["duplicate-output"] = len(out.dups)
    for rid, p, o in out.dups:
        if not v.wants_example("duplicate-output"):
            v.add("duplicate-output")
            continue
        v.add("duplicate-output", idx.example(
            out.op, topic=output_topic, id=rid, partition=p, offset=o,
            first=list(unpos(out.ids[rid]))))
    unexpected = [rid for rid in extra if rid not in idx.sends and rid not in idx.txn_sends]
    st["unexpected-output"] = len(unexpected)
    for rid in sorted(unexpected, key=str)[:10]:
        p, o = unpos(out.ids[rid])
        v.add("unexpected-output", idx.example(
            out.op, topic=output_topic, id=rid, partition=p, offset=o))
    if len(unexpected) > 10:
        v.add("unexpected-output", n=len(unexpected) - 10)
    _counts(idx, v, out, output_topic)
    return v.finish()


def _counts(idx: Any, v: Verdict, out: Any, topic: str) -> None:
    st = v.stats
    st["keys"] = len(out.counts)
    st["non-dict-output"] = out.non_dict
    gaps = repeats = 0
    for k, counts in out.counts.items():
        counts = sorted(counts)
        if counts[-1] == len(counts) and counts[0] == 1 and \
                counts == list(range(1, len(counts) + 1)):
            continue
        prev = 0
        for c in counts:
            if c == prev + 1:
                prev = c
                continue
            if c <= prev:
                repeats += 1
                v.add("count-repeat", idx.example(out.op, topic=topic, key=k, count=c)
                      if v.wants_example("count-repeat") else None)
            else:
                gaps += 1
                v.add("count-gap", idx.example(out.op, topic=topic, key=k,
                                               missing=[prev + 1, c - 1], count=c)
                      if v.wants_example("count-gap") else None)
            prev = max(prev, c)
    st["count-gap"] = gaps
    st["count-repeat"] = repeats

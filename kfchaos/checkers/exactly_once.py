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

An ``open-transactions`` op of the output topic (recorded after the drain,
:mod:`kfchaos.platform.producer_state`) explains, never decides: a
``missing-output`` example then cites up to three transactions it saw open
(``open_transactions``: partition, producer id, first offset, op index), since
an open transaction keeps a ``read_committed`` reader of its partition from
everything at and after its first offset. The reference job keys its output by
the input's key, so the example names that ``output_partition``
(:mod:`.partitioner`) and cites only the transactions open there; a user's job
(or a write whose key is unknown) cites those of every output partition. The
stat ``open-transactions`` is their count, or why they are unknown.

A user's job (option ``output_contract``) is checked by
:mod:`.output_contract` instead, under the same checker name.

Topics come from options ``input_topic``/``output_topic``, else from a
``deploy`` op value carrying ``input_topic``/``output_topic``.  No output
topic, or no final read of it: ``unknown``.  Without ``input_topic`` every
harness-written topic other than the output is an input.
"""
from __future__ import annotations

from itertools import filterfalse
from typing import Any, NamedTuple

from .digests import unpos
from .index import as_index
from .partitioner import partition_for_key
from .verdict import MAX_EXAMPLES, Verdict

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
          output_topic: str | None = None, **opts: Any) -> Verdict:
    if opts.get("output_contract"):
        from . import output_contract
        return output_contract.check(history, input_topic=input_topic, output_topic=output_topic, **opts)
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
    required = _required(idx, inputs)
    missing = _missing(idx, inputs, out.ids)
    extra = _not_required(idx, inputs, out.ids, required)
    v.stats.update({"input-topics": inputs, "output-topic": output_topic,
                    "output-isolation": out.isolation,
                    "required": len(out.ids) - len(extra) + len(missing),
                    "output-records": out.n_records, "output-ids": len(out.ids)})
    _missing_output(idx, v, missing, input_topic, output_topic, keyed=True)
    _duplicate_output(idx, v, out, output_topic)
    _unexpected_output(idx, v, out, output_topic, extra)
    _counts(idx, v, out, output_topic)
    return v.finish()


def _required(idx: Any, inputs: list) -> list[dict]:
    """Id-keyed dicts whose ids the output must hold: per input topic its
    acked writes and the harness ids of its final read."""
    reqs = []
    for t in inputs:
        reqs.append(idx.acked.get(t, {}))
        fr = idx.final_read(t)
        if fr is not None:
            reqs.append(fr.ids)
    return reqs


def _missing(idx: Any, inputs: list, outd: dict) -> set:
    """Required input ids absent from the output (``outd``)."""
    missing: set = set()
    for t in inputs:
        acked, fr = idx.acked.get(t, {}), idx.final_read(t)
        if fr is None:
            missing.update(idx.absent(acked, outd))
            continue
        missing.update(idx.absent(fr.ids, outd))
        # acked \ out = (acked \ fr \ out) | (acked & fr \ out), the latter above
        missing.update(filterfalse(outd.__contains__, idx.absent(acked, fr.ids)))
    return missing


def _not_required(idx: Any, inputs: list, outd: dict, reqs: list[dict]) -> set:
    """Output ids in none of the required id sets.

    With one input topic, when as many of its final read's ids are in the
    output as the output has ids, the output holds only those: no extra id.
    That count costs one cached join; filtering every output id through the
    required sets costs ~0.3 s on the 1M-op benchmark history."""
    if len(inputs) == 1:
        fr = idx.final_read(inputs[0])
        if fr is not None and len(fr.ids) - len(idx.absent(fr.ids, outd)) == len(outd):
            return set()
    rest: Any = outd
    for m in reqs:
        rest = filterfalse(m.__contains__, rest)
    return set(rest)


class OpenTransactions(NamedTuple):
    """What the last ``open-transactions`` op of a topic says."""
    found: list[dict]              # {"partition", "producer_id", "txn_start_offset", "index"}
    unknown: str | None            # why some or all partitions are unknown
    partitions: int | None         # how many partitions the topic had (None: not described)


def open_transactions(idx: Any, topic: Any) -> OpenTransactions:
    """The transactions open on ``topic`` by its last ``open-transactions`` op (none without one)."""
    last = None
    for op in idx.get("open-transactions"):
        val = op.get("value")
        if isinstance(val, dict) and val.get("topic") == topic:
            last = op
    if last is None:
        return OpenTransactions([], None, None)
    val = last["value"]
    if val.get("unavailable"):
        return OpenTransactions([], str(val["unavailable"]), None)
    found, failed = [], []
    for part in val.get("partitions") or ():
        if part.get("producers") is None:
            failed.append(f"partition {part.get('partition')}: {part.get('error')}")
        for p in part.get("producers") or ():
            if p.get("txn_start_offset") is not None:
                found.append({"partition": part.get("partition"), "producer_id": p.get("producer_id"),
                              "txn_start_offset": p["txn_start_offset"], "index": last.get("index")})
    parts = [p.get("partition") for p in val.get("partitions") or ()]
    n = len(parts) if parts and sorted(parts) == list(range(len(parts))) else None
    return OpenTransactions(found, "; ".join(failed) or None, n)


def _citation(txns: OpenTransactions, key: Any, keyed: bool) -> dict:
    """The explanation fields of one missing-output example."""
    if keyed and isinstance(key, str) and txns.partitions:
        p = partition_for_key(key, txns.partitions)
        here = [t for t in txns.found if t["partition"] == p]
        return {"output_partition": p, **({"open_transactions": here[:3]} if here else {})}
    return {"open_transactions": txns.found[:3]} if txns.found else {}


def _missing_output(idx: Any, v: Verdict, missing: set, input_topic: Any, output_topic: Any = None,
                    keyed: bool = False) -> None:
    """``keyed``: the output record has the input's key (the reference job)."""
    v.stats["missing-output"] = len(missing)
    txns = open_transactions(idx, output_topic) if output_topic is not None else OpenTransactions([], None, None)
    if txns.found or txns.unknown:
        v.stats["open-transactions"] = (len(txns.found) if txns.unknown is None
                                        else f"{len(txns.found)}; unknown for {txns.unknown}")
    for rid in sorted(missing, key=str)[:MAX_EXAMPLES]:
        ex = idx.write_example(rid, topic=input_topic)
        if txns.found or txns.partitions:
            ex.update(_citation(txns, ex.get("key"), keyed))
        v.add("missing-output", ex)
    if len(missing) > MAX_EXAMPLES:
        v.add("missing-output", n=len(missing) - MAX_EXAMPLES)


def _duplicate_output(idx: Any, v: Verdict, out: Any, topic: Any) -> None:
    v.stats["duplicate-output"] = len(out.dups)
    for rid, p, o in out.dups:
        v.add("duplicate-output", idx.example(
            out.op, topic=topic, id=rid, partition=p, offset=o,
            first=list(unpos(out.ids[rid]))) if v.wants_example("duplicate-output") else None)


def _unexpected_output(idx: Any, v: Verdict, out: Any, topic: Any, extra: set) -> None:
    """Output ids never written to the input (no send/txn invoke)."""
    unexpected = [rid for rid in extra if idx.write(rid) is None]
    v.stats["unexpected-output"] = len(unexpected)
    for rid in sorted(unexpected, key=str)[:MAX_EXAMPLES]:
        p, o = unpos(out.ids[rid])
        v.add("unexpected-output", idx.example(
            out.op, topic=topic, id=rid, partition=p, offset=o))
    if len(unexpected) > MAX_EXAMPLES:
        v.add("unexpected-output", n=len(unexpected) - MAX_EXAMPLES)


def _counts(idx: Any, v: Verdict, out: Any, topic: str) -> None:
    """Per key, the sorted output counts must be exactly 1, 2, ..., n.

    Keys equal to 1..n are skipped after one comparison: on the 1M-op
    benchmark history (~390k output records) walking every count costs
    ~0.11 s, the comparisons ~0.03 s."""
    st = v.stats
    st["keys"] = len(out.counts)
    st["non-dict-output"] = out.non_dict
    st["count-gap"] = st["count-repeat"] = 0
    for k, counts in out.counts.items():
        counts = sorted(counts)
        if counts == list(range(1, len(counts) + 1)):
            continue            # clean key, shown by one whole-list comparison
        prev = 0
        for c in counts:
            if c <= prev:
                st["count-repeat"] += 1
                v.add("count-repeat", idx.example(out.op, topic=topic, key=k, count=c)
                      if v.wants_example("count-repeat") else None)
            elif c > prev + 1:
                st["count-gap"] += 1
                v.add("count-gap", idx.example(out.op, topic=topic, key=k,
                                               missing=[prev + 1, c - 1], count=c)
                      if v.wants_example("count-gap") else None)
            prev = max(prev, c)

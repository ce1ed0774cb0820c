"""Output contracts of a user's Flink job, checked without knowing the job's logic.

Contract
--------
The harness writes the job's input (acknowledged writes and the input topic's
final read give the *required* input ids, exactly as in :mod:`.exactly_once`)
and reads the job's committed output once at the end as an ``output-read`` op:
``{"topic", "isolation", "records": [{"partition", "offset", "key", "value",
"headers"}]}`` with values as decoded by :mod:`kfchaos.clients.codec` (JSON
objects become dicts).  Which output contract applies is a checker option
(recorded by the scenario as ``check-options``):

* ``exactly-once-by-id`` (``id_field`` names a field of the JSON value, or
  ``id_header`` a record header): every required input id appears exactly
  once in the output.  ``missing-output``, ``duplicate-output`` (an id at two
  positions), ``unexpected-output`` (an id never written to the input) and
  ``unreadable-output`` (a record without the id) are invalid.
* ``per-key-sequence`` (``key_field``, default the record key, and
  ``sequence_field``): per key, the sorted sequence values are exactly
  1, 2, ..., n: a missing number is ``count-gap``, a repeated one
  ``count-repeat``; a record without a key or an integer sequence is
  ``unreadable-output``.
* ``module:function`` (or an entry point of group ``kfchaos.output_contracts``):
  called as ``function(inputs, outputs, **options)`` with ``inputs`` a dict
  input id -> ``{"key", "required"}`` and ``outputs`` the output records; it
  returns a :class:`~.verdict.Verdict` or ``{"valid": True|False|None,
  "anomalies": {kind: [example, ...]}, "reason": str}``.  A function that
  raises makes the verdict unknown (the checker is isolated as any other).

No output-read of the output topic: ``unknown``.
"""
from __future__ import annotations

import importlib
from types import SimpleNamespace
from importlib import metadata
from typing import Any, Callable

from .digests import FinalRead
from .exactly_once import (_counts, _duplicate_output, _missing, _missing_output, _not_required,
                           _required, _unexpected_output)
from .index import as_index
from .verdict import INVALID, MAX_EXAMPLES, UNKNOWN, VALID, Verdict

NAME = "exactly-once"
OUTPUT_READ_F = "output-read"
BUILT_IN = ("exactly-once-by-id", "per-key-sequence")
ENTRY_POINT_GROUP = "kfchaos.output_contracts"


class OutputContractError(ValueError):
    """An output contract that cannot be used (one line)."""


def resolve(spec: str) -> Callable[..., Any] | None:
    """None for a built-in contract, else the callable ``spec`` names (``module:function`` or
    an entry point name); raises OutputContractError with the fix."""
    if spec in BUILT_IN:
        return None
    if ":" in spec:
        mod, _, fn = spec.partition(":")
        try:
            target = getattr(importlib.import_module(mod), fn)
        except (ImportError, AttributeError) as e:
            raise OutputContractError(f"output contract {spec!r} cannot be loaded ({e}); install the "
                                      "module that defines it or fix the name") from e
    else:
        eps = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == spec]
        if not eps:
            raise OutputContractError(
                f"output contract {spec!r} is neither built in ({', '.join(BUILT_IN)}), `module:function`, "
                f"nor an installed entry point of group {ENTRY_POINT_GROUP}")
        target = eps[0].load()
    if not callable(target):
        raise OutputContractError(f"output contract {spec!r} is not a function")
    return target


def output_read(idx: Any, topic: str | None) -> dict | None:
    """The last ok ``output-read`` of ``topic`` (any topic when None)."""
    found = None
    for op in idx.get(OUTPUT_READ_F):
        v = op.get("value")
        if op.get("type") == "ok" and isinstance(v, dict) and (topic is None or v.get("topic") == topic):
            found = op
    return found


def field_of(record: dict, field: str | None, header: str | None = None) -> Any:
    """A record's value field (dotted path into the JSON value), or its header."""
    if header:
        return (record.get("headers") or {}).get(header)
    if field is None:
        return record.get("key")
    cur: Any = record.get("value")
    for part in field.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def check(history: Any, *, output_contract: str = "exactly-once-by-id", input_topic: str | None = None,
          output_topic: str | None = None, id_field: str | None = "id", id_header: str | None = None,
          key_field: str | None = None, sequence_field: str | None = "count", **opts: Any) -> Verdict:
    idx = as_index(history)
    v = Verdict(NAME)
    v.stats["output-contract"] = output_contract
    op = output_read(idx, output_topic)
    if op is None:
        return v.finish(f"no output read of {output_topic or 'the output topic'}")
    records = [r for r in op["value"].get("records") or [] if isinstance(r, dict)]
    v.stats.update({"output-topic": op["value"].get("topic"), "output-records": len(records)})
    inputs = [input_topic] if input_topic else sorted(
        (t for t in idx.write_topics() if t != output_topic), key=str)
    if output_contract == "exactly-once-by-id":
        _by_id(idx, v, op, records, inputs, id_field, id_header)
    elif output_contract == "per-key-sequence":
        _per_key(idx, v, op, records, key_field, sequence_field)
    else:
        return _user(idx, v, records, inputs, output_contract, {
            "id_field": id_field, "id_header": id_header, "key_field": key_field,
            "sequence_field": sequence_field, **opts})
    return v.finish()


def _projected(op: dict, records: list[dict], ids: list) -> FinalRead:
    """A FinalRead digest of the output with each record's id (None: no id)."""
    recs = [{"partition": r.get("partition"), "offset": r.get("offset"),
             "value": {"id": rid} if rid is not None else None} for r, rid in zip(records, ids)]
    return FinalRead({**op, "value": {"topic": op["value"].get("topic"), "records": recs,
                                      "isolation": op["value"].get("isolation")}})


def _unreadable(idx: Any, v: Verdict, op: dict, bad: list[dict], what: str) -> None:
    v.stats["unreadable-output"] = len(bad)
    for r in bad[:MAX_EXAMPLES]:
        v.add("unreadable-output", idx.example(op, partition=r.get("partition"), offset=r.get("offset"),
                                               missing=what))
    if len(bad) > MAX_EXAMPLES:
        v.add("unreadable-output", n=len(bad) - MAX_EXAMPLES)


def _by_id(idx: Any, v: Verdict, op: dict, records: list[dict], inputs: list,
           id_field: str | None, id_header: str | None) -> None:
    ids = [field_of(r, id_field or "id", id_header) for r in records]
    ids = [str(i) if i is not None and not isinstance(i, (dict, list)) else None for i in ids]
    _unreadable(idx, v, op, [r for r, i in zip(records, ids) if i is None],
                f"header {id_header}" if id_header else f"field {id_field}")
    out = _projected(op, records, ids)
    required = _required(idx, inputs)
    missing = _missing(idx, inputs, out.ids)
    extra = _not_required(idx, inputs, out.ids, required)
    v.stats.update({"input-topics": inputs, "output-ids": len(out.ids),
                    "required": len(out.ids) - len(extra) + len(missing)})
    topic = op["value"].get("topic")
    _missing_output(idx, v, missing, inputs[0] if len(inputs) == 1 else None, topic)
    _duplicate_output(idx, v, out, topic)
    _unexpected_output(idx, v, out, topic, extra)


def _per_key(idx: Any, v: Verdict, op: dict, records: list[dict], key_field: str | None,
             sequence_field: str | None) -> None:
    good, bad = [], []
    for r in records:
        k, s = field_of(r, key_field), field_of(r, sequence_field or "count")
        if k is None or not isinstance(s, int) or isinstance(s, bool):
            bad.append(r)
        else:
            good.append((str(k), s))
    _unreadable(idx, v, op, bad, f"key {key_field or '(record key)'} or integer {sequence_field}")
    out = SimpleNamespace(counts={}, non_dict=0, op=op)      # what exactly_once._counts reads
    for k, s in good:
        out.counts.setdefault(k, []).append(s)
    _counts(idx, v, out, op["value"].get("topic"))


def _user(idx: Any, v: Verdict, records: list[dict], inputs: list, spec: str, options: dict) -> Verdict:
    fn = resolve(spec)
    given: dict[str, dict] = {}
    for t in inputs:
        for rid, w in idx.acked.get(t, {}).items():
            given[str(rid)] = {"key": getattr(w, "key", None), "required": True}
        for rid, w in idx.unacked.get(t, {}).items():
            given.setdefault(str(rid), {"key": getattr(w, "key", None), "required": False})
        fr = idx.final_read(t)
        for rid in (fr.ids if fr is not None else ()):
            if str(rid) in given:
                given[str(rid)]["required"] = True
    got = fn(given, records, **options)
    if isinstance(got, Verdict):
        got.checker = NAME
        got.stats.setdefault("output-contract", spec)
        return got
    if not isinstance(got, dict):
        raise OutputContractError(f"output contract {spec} returned {type(got).__name__}, "
                                  "expected a Verdict or a dict with `valid`")
    for kind, examples in (got.get("anomalies") or {}).items():
        for ex in list(examples)[:MAX_EXAMPLES]:
            v.add(str(kind), dict(ex) if isinstance(ex, dict) else {"detail": ex})
        if len(examples) > MAX_EXAMPLES:
            v.add(str(kind), n=len(examples) - MAX_EXAMPLES)
    valid = got.get("valid")
    v.reason = str(got.get("reason") or "")
    v.valid = INVALID if valid is False or v.anomalies else VALID if valid is True else UNKNOWN
    if v.valid == UNKNOWN and not v.reason:
        v.reason = f"output contract {spec} could not decide"
    return v

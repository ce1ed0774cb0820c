"""Schema of the operations in a history.jsonl, checked once when it is loaded.

Contract
--------
:func:`check_op` returns ``None`` for a well-formed op, else ``(what is
wrong, what was expected)``; :func:`first_bad` finds the first malformed op
of a batch.  The loaders of :mod:`kfchaos.history` and
:mod:`kfchaos.checkers.stream` run it on every op they read and raise
:class:`HistoryError` naming the file and line, so the checkers never see a
malformed op.

Every op (the envelope):

=========  ==================================================================
index      integer
process    string
type       one of ``invoke``, ``ok``, ``fail``, ``info`` (anything else: error)
f          string
value      per ``f`` (below); any JSON for kinds not listed
time       integer, 0 <= time < 2**63 (``time.monotonic_ns()``)
wall       optional: a finite number or null
=========  ==================================================================

Other envelope keys are ignored.  Per ``f`` (:data:`SCHEMA`), the value is an
object, or also null where the table says ``|null``; *required* fields must
be present with the given type, *optional* ones are type-checked when
present, other fields are free.  The types are those the checkers and the
analysis read (``str?``: string or null; ``int``: any JSON integer)::

    send             required id (str|int), seq (int); optional topic (str),
                     key (str?), partition (int?), offset (int?)
    txn              required txn (str), sends: list of {id, seq, topic;
                     optional key, partition, offset as for send}
    poll ok          required topic (str), records; optional group (str?)
    final-read ok    required topic, records; optional isolation (str?),
                     start_offsets, end_offsets, fetch_end_offsets (offset
                     maps), past_end (records), listed_at (int)
      records: list of {partition: int 0..2**32-1, offset: int 0..2**64-1,
      value: any JSON; if an object, its id/key are str|int|null and its
      count int|null}
    output-read ok   required topic, records (partition and offset as
                     above, value any JSON: a user job's output); optional
                     isolation (str?)
      both, any type: optional pages (int), the number of page ops before
      a read written in pages (kfchaos.history_pages)
    final-read-page  required topic (str), page (int, 0-based), records (as
                     final-read's); output-read-page: records as output-read's
    commit           required offsets (map of decimal partition string ->
                     int?); optional group, topic (str?)
    assign/revoke ok required partitions (list of int 0..2**31-1); optional
                     group, topic (str?); assign: positions (offset map)
    fault-start/stop required fault_id, fault (str)
    ramp-step        required step, start, end (int; kfchaos.ramp)
    flink-release    required to (str); optional from, image (str?)
    mirror-lag       required source_end, target_end (offset maps)
    cutover          required group, source_topic, target_topic, process
                     (str), stopped_at (int); optional source_committed,
                     translated (offset maps)
    job-move         required input_topic, target_input_topic (str),
                     output_topics (list); optional stopped_at,
                     first_output_at (int?), savepoint_bytes (int?),
                     source_positions, target_positions (offset maps)
    savepoint-copy   required path (str); ok: objects, bytes (int)
    reassign         required move (str), start (int); scale: action (str);
                     throttle: free (kfchaos.elasticity)
    client-event     required event (str)
    intrude          required action (str); optional principal, code (str?)
    deploy, restore  |null; optional input_topic, output_topic (str?)
    end-offsets      |null; optional topic (str?)
    open-transactions required topic (str); optional partitions (list of
                     {partition int, producers: list of {producer_id int,
                     txn_start_offset, epoch, last_sequence, last_timestamp,
                     coordinator_epoch int?} or null, error str?}),
                     unavailable (str?) (kfchaos.platform.producer_state)
    poll, final-read, output-read, assign, revoke (not ok); upgrade, rollback, cancel,
    savepoint, checkpoint, stop, check-options, scenario-end: |null, free fields
    scenario, note, not-applicable, measure, cluster-health, job-recovery,
    drain, harness-error, scenario-error (kfchaos.observe), traffic
    (kfchaos.platform.traffic), client-bytes (the recording clients): |null;
    the fields analysis reads are typed (strings; waited_s and
    time_to_running_s finite numbers or null; bytes an integer)

Decisions
---------
* An unknown ``f`` is kept (a future op kind): its envelope is checked, its
  value is not, no checker reads it, and the loaders log its name once per
  file (logger ``chaos.history``, WARNING: it may be a misspelt kind).  A
  checker that starts reading a new kind adds it to :data:`SCHEMA`.
* Order is not checked: ``index`` and ``time`` need not increase (the
  checkers tolerate reordered ops; the writer never produces them).
* Integers are unbounded except ``time`` and record positions: those feed
  float arithmetic and 64-bit arrays.  NaN and infinity are rejected in
  typed fields and allowed in free ones (the writer can produce them).
* Checking is whole-list first (:func:`batch_ok`, about one C-level pass per
  field); only a batch that fails it is walked op by op (:func:`check_op`)
  for the message, so both always agree on what is accepted.
"""
from __future__ import annotations

import math
from itertools import compress, repeat
from operator import itemgetter, not_
from typing import Any, NamedTuple

__all__ = ["HistoryError", "Kind", "Field", "Rule", "SCHEMA", "check_op", "first_bad", "TYPES"]

from .history_kinds import (_DICT_SET, _FLOAT_SET, _INT_SET, _STR_SET, TYPES, _TYPESET, _I63, _NONE, _Absent,
                            _ABSENT, _MISSING, Kind, _k, kind_ok, _get, _record_lists, _REC_PART,
                            _REC_OFFSET, STR, STR_N, INT, INT_N, NUM_N, OFFSETS, PARTITIONS, STRINGS,
                            RECORDS, OUTPUT_RECORDS, Field, req, opt, fields_ok, _SEND, _SENT, _TXN_SEND,
                            SENDS, _PRODUCER, PRODUCERS, _PRODUCER_STATE, PRODUCER_STATES)



class HistoryError(ValueError):
    """A malformed history: ``"<path>:<line>: <what is wrong> (<expected>)"``.

    ``path`` and ``line`` are None while the error is raised below a loader
    that knows them; ``ordinal`` is then the 0-based position of the op among
    the file's op lines, and the loader re-raises with :meth:`located`."""

    def __init__(self, what: str, expected: str, *, path: Any = None,
                 line: int | None = None, ordinal: int | None = None):
        self.what, self.expected = what, expected
        self.path, self.line, self.ordinal = path, line, ordinal
        where = f"{path}:{line}" if path is not None else f"op {ordinal}"
        super().__init__(f"{where}: {what} ({expected})")

    def located(self, path: Any, line: int) -> "HistoryError":
        return HistoryError(self.what, self.expected, path=path, line=line,
                            ordinal=self.ordinal)


class Rule(NamedTuple):
    """How the value of one op kind is checked."""
    fields: tuple[Field, ...] = ()
    nullable: bool = True          # the value may be null instead of an object


_LOOSE = Rule()                    # object or null, nothing else checked

#: f -> {type or "*": Rule}; the type's rule if listed, else "*"
SCHEMA: dict[str, dict[str, Rule]] = {
    "send": {"*": Rule(_SEND + _SENT, False)},
    "txn": {"*": Rule((req("txn", STR), req("sends", SENDS)), False)},
    "poll": {"*": _LOOSE,
             "ok": Rule((req("topic", STR), req("records", RECORDS), opt("group", STR_N)),
                        False)},
    "final-read": {"*": Rule((opt("pages", INT),)),
                   "ok": Rule((req("topic", STR), req("records", RECORDS),
                               opt("isolation", STR_N), opt("start_offsets", OFFSETS),
                               opt("end_offsets", OFFSETS), opt("fetch_end_offsets", OFFSETS),
                               opt("past_end", RECORDS), opt("listed_at", INT),
                               opt("pages", INT)), False)},
    "output-read": {"*": Rule((opt("pages", INT),)),
                    "ok": Rule((req("topic", STR), req("records", OUTPUT_RECORDS),
                                opt("isolation", STR_N), opt("pages", INT)), False)},
    # a final read written in pages (kfchaos.history_pages)
    "final-read-page": {"*": Rule((req("topic", STR), req("page", INT), req("records", RECORDS)),
                                  False)},
    "output-read-page": {"*": Rule((req("topic", STR), req("page", INT),
                                    req("records", OUTPUT_RECORDS)), False)},
    "commit": {"*": Rule((req("offsets", OFFSETS), opt("group", STR_N), opt("topic", STR_N)),
                         False)},
    "assign": {"*": _LOOSE,
               "ok": Rule((req("partitions", PARTITIONS), opt("group", STR_N),
                           opt("topic", STR_N), opt("positions", OFFSETS)), False)},
    "revoke": {"*": _LOOSE,
               "ok": Rule((req("partitions", PARTITIONS), opt("group", STR_N),
                           opt("topic", STR_N)), False)},
    "ramp-step": {"*": Rule((req("step", INT), req("start", INT), req("end", INT)), False)},
    # a migration rehearsal (kfchaos.migrate)
    "mirror-lag": {"*": Rule((req("source_end", OFFSETS), req("target_end", OFFSETS)), False)},
    "cutover": {"*": Rule((req("group", STR), req("source_topic", STR), req("target_topic", STR),
                           req("process", STR), req("stopped_at", INT), opt("source_committed", OFFSETS),
                           opt("translated", OFFSETS)), False)},
    "job-move": {"*": Rule((req("input_topic", STR), req("target_input_topic", STR), req("output_topics", STRINGS),
                            opt("stopped_at", INT_N), opt("first_output_at", INT_N), opt("savepoint_bytes", INT_N),
                            opt("source_positions", OFFSETS), opt("target_positions", OFFSETS)), False)},
    "savepoint-copy": {"*": Rule((req("path", STR),), False),
                       "ok": Rule((req("path", STR), req("objects", INT), req("bytes", INT)), False)},
    # scale-out / scale-in (kfchaos.elasticity)
    "reassign": {"*": Rule((req("move", STR), req("start", INT)))},
    "scale": {"*": Rule((req("action", STR),))},
    "throttle": {"*": _LOOSE},
    "fault-start": {"*": Rule((req("fault_id", STR), req("fault", STR)), False)},
    "fault-stop": {"*": Rule((req("fault_id", STR), req("fault", STR)), False)},
    "client-event": {"*": Rule((req("event", STR),), False)},
    "intrude": {"*": Rule((req("action", STR), opt("principal", STR_N), opt("code", STR_N)), False)},
    "end-offsets": {"*": Rule((opt("topic", STR_N),))},
    "deploy": {"*": Rule((opt("input_topic", STR_N), opt("output_topic", STR_N)))},
    "restore": {"*": Rule((opt("input_topic", STR_N), opt("output_topic", STR_N)))},
    "upgrade": {"*": _LOOSE}, "rollback": {"*": _LOOSE}, "cancel": {"*": _LOOSE},
    "savepoint": {"*": _LOOSE}, "checkpoint": {"*": _LOOSE}, "stop": {"*": _LOOSE},
    "flink-release": {"*": Rule((req("to", STR), opt("from", STR_N), opt("image", STR_N)), False)},
    # the harness's own observations (kfchaos.observe)
    "scenario": {"*": Rule((opt("name", STR), opt("title", STR), opt("description", STR),
                            opt("contracts", STRINGS), opt("seed", INT_N)))},
    "check-options": {"*": _LOOSE},
    "note": {"*": Rule((opt("contract", STR), opt("text", STR)))},
    "not-applicable": {"*": Rule((opt("reason", STR_N),))},
    "measure": {"*": Rule((opt("name", STR),))},
    "cluster-health": {"*": Rule((opt("waited_s", NUM_N), opt("error", STR_N)))},
    "job-recovery": {"*": Rule((opt("job_id", STR_N), opt("state", STR_N),
                                opt("time_to_running_s", NUM_N)))},
    "drain": {"*": Rule((opt("waited_s", NUM_N),))},
    "harness-error": {"*": Rule((opt("error", STR_N),))},
    "scenario-error": {"*": Rule((opt("error", STR_N),))},
    "scenario-end": {"*": _LOOSE},
    "traffic": {"*": Rule((opt("phase", STR), opt("unavailable", STR_N)))},
    "client-bytes": {"*": Rule((opt("role", STR), opt("bytes", INT)))},
    "open-transactions": {"*": Rule((req("topic", STR), opt("partitions", PRODUCER_STATES),
                                     opt("unavailable", STR_N)), False)},
}
_RULES = {(f, t): by.get(t, by["*"]) for f, by in SCHEMA.items() for t in TYPES}


# -- a batch of ops: whole-list checks first, the exact walk for the message ----
_IDX, _PROC, _TYP, _F, _TM = map(itemgetter, ("index", "process", "type", "f", "time"))
_TIME = _k((int,), "integer nanoseconds, 0 <= time < 2**63", 0, _I63)
_WALL = _k((int, float, _NONE), "epoch seconds as a finite number, or null")
_SEND_GETTERS = tuple((itemgetter(f.name), f.kind.classes) for f in _SEND + _SENT
                      if f.required)
_SENT_GETTERS = tuple((f.name, f.kind.classes | {_Absent}) for f in _SEND + _SENT
                      if not f.required)
assert all(f.kind.bulk is None and f.kind.lo is None for f in _SEND + _SENT)


def batch_ok(ops: list, unknown: set | None = None) -> bool:
    """True if every op of ``ops`` is well-formed (False: some is not, or
    the whole-list checks cannot tell; :func:`first_bad` then decides).
    Op kinds not in :data:`SCHEMA` are added to ``unknown``."""
    if not ops:
        return True
    try:        # (an op that is not an object, or lacks a key: TypeError, KeyError)
        fs, types, times = list(map(_F, ops)), list(map(_TYP, ops)), list(map(_TM, ops))
        kinds = set(fs)
        if not (set(types) <= _TYPESET and set(map(type, kinds)) == _STR_SET
                and set(map(type, map(_IDX, ops))) == _INT_SET
                and set(map(type, map(_PROC, ops))) == _STR_SET):
            return False
    except (KeyError, TypeError):
        return False
    walls = list(map(_get, ops, repeat("wall")))
    if not kind_ok(_TIME, times) or not (
            all(map(math.isfinite, walls)) if set(map(type, walls)) == _FLOAT_SET
            else kind_ok(_WALL, walls)):
        return False
    vals = list(map(_get, ops, repeat("value"), repeat(_MISSING)))
    if "send" not in kinds:
        return _others_ok(zip(fs, types, vals), unknown)
    if len(kinds) == 1:
        return _sends_ok(vals)
    is_send = list(map("send".__eq__, fs))
    return _sends_ok(list(compress(vals, is_send))) and \
        _others_ok(compress(zip(fs, types, vals), map(not_, is_send)), unknown)


def _sends_ok(vals: list) -> bool:
    """The values of ``send`` ops (whole-list checks)."""
    try:
        for get, classes in _SEND_GETTERS:
            if not set(map(type, map(get, vals))) <= classes:
                return False
    except (KeyError, TypeError):   # (not an object, or a required field missing)
        return False
    for name, classes in _SENT_GETTERS:
        if not set(map(type, map(_get, vals, repeat(name), repeat(_ABSENT)))) <= classes:
            return False
    return True


def _others_ok(items: Any, unknown: set | None) -> bool:
    """``(f, type, value)`` of ops other than sends, grouped by kind."""
    groups: dict[tuple, list] = {}
    for f, t, v in items:
        key = (f, t) if f in _BY_TYPE else f
        g = groups.get(key)
        if g is None:
            groups[key] = [v]
        else:
            g.append(v)
    for key, vs in groups.items():
        rule = _RULES.get(key if key.__class__ is tuple else (key, "invoke"))
        if rule is None:
            if unknown is not None:
                unknown.add(key if key.__class__ is str else key[0])
        elif not _values_ok(rule, vs):
            return False
    return True


#: kinds whose rule depends on the op type (the others have one rule)
_BY_TYPE = frozenset(f for f, by in SCHEMA.items() if len(by) > 1)


def _values_ok(rule: Rule, vals: list) -> bool:
    types = set(map(type, vals))
    if types != _DICT_SET:
        if not types <= ({dict, _NONE} if rule.nullable else _DICT_SET):
            return False
        vals = [v for v in vals if v.__class__ is dict]
    return not rule.fields or fields_ok(rule.fields, vals)


def _show(x: Any) -> str:
    """Short, one-line rendering of a bad value."""
    s = repr(x)
    return s if len(s) <= 40 else s[:37] + "..."


def _envelope_problem(op: Any) -> tuple[str, str] | None:
    if op.__class__ is not dict:
        return (f"the line holds {_show(op)}, not an op",
                'expected an object {"index", "process", "type", "f", "value", "time", ...}')
    i = op.get("index", _MISSING)
    if i.__class__ is not int:
        return ("op has no index" if i is _MISSING else f"op index is {_show(i)}",
                "expected an integer")
    t = op.get("type")
    if t.__class__ is not str or t not in _TYPESET:
        return f"op type {_show(t)} is unknown", "expected one of invoke, ok, fail, info"
    if op.get("f").__class__ is not str:
        return f"op f is {_show(op.get('f'))}", "expected a string naming the op kind"
    if op.get("process").__class__ is not str:
        return f"op process is {_show(op.get('process'))}", "expected a string"
    tm = op.get("time", _MISSING)
    if tm is _MISSING or not kind_ok(_TIME, [tm]):
        return (f"op time is {_show(tm)}" if tm is not _MISSING else "op has no time",
                "expected integer nanoseconds, 0 <= time < 2**63")
    w = op.get("wall")
    if not kind_ok(_WALL, [w]):
        return f"op wall is {_show(w)}", "expected epoch seconds as a finite number, or null"
    return None


def _field_problem(v: dict, fields: tuple[Field, ...]) -> tuple[str, str] | None:
    for name, kind, required in fields:
        x = v.get(name, _MISSING)
        if x is _MISSING:
            if required:
                return f'value has no "{name}"', f"expected {kind.expected}"
            continue
        if not kind_ok(kind, [x]):
            where = _inner_problem(kind, x)
            return f"value.{name}{where or ' is ' + _show(x)}", f"{name}: expected {kind.expected}"
    return None


def _inner_problem(kind: Kind, x: Any) -> str | None:
    """Which element of a list-valued field is wrong, e.g. ``[3].offset is 'x'``."""
    if x.__class__ is not list:
        return None
    inner = {id(RECORDS): _RECORD, id(OUTPUT_RECORDS): _OUTPUT_RECORD,
             id(SENDS): _TXN_SEND, id(PRODUCER_STATES): _PRODUCER_STATE,
             id(PRODUCERS): _PRODUCER}.get(id(kind))
    for i, e in enumerate(x):
        if inner is None:
            if not kind_ok(kind, [[e]]):
                return f"[{i}] is {_show(e)}"
        elif e.__class__ is not dict:
            return f"[{i}] is {_show(e)}"
        else:
            bad = _field_problem(e, inner)
            if bad is not None:
                return f"[{i}]" + bad[0].replace("value has", " has").replace("value.", ".")
    return None


def _record_values(vals: list) -> bool:
    return _record_lists([[{"partition": 0, "offset": 0, "value": v} for v in vals]])


_ANY = (dict, list, str, int, float, bool, _NONE)
_RECORD = (req("partition", _REC_PART), req("offset", _REC_OFFSET), opt("value", _k(
    _ANY, "any JSON; an object's id and key: string, integer or null; its count: integer "
    "or null", bulk=_record_values)))

_OUTPUT_RECORD = (req("partition", _REC_PART), req("offset", _REC_OFFSET))


def check_op(op: Any) -> tuple[str, str] | None:
    """``None`` if ``op`` is well-formed, else (what is wrong, expected)."""
    bad = _envelope_problem(op)
    if bad is not None:
        return bad
    rule = _RULES.get((op["f"], op["type"]))
    if rule is None:
        return None                     # unknown f: kept, value unchecked
    v = op.get("value", _MISSING)
    if v.__class__ is not dict:
        if v is None and rule.nullable:
            return None
        what = "op has no value" if v is _MISSING else f"value is {_show(v)}"
        return (f"{op['f']} {op['type']} {what}",
                "expected an object" + (" or null" if rule.nullable else ""))
    bad = _field_problem(v, rule.fields)
    if bad is not None:
        return f"{op['f']} {op['type']} {bad[0]}", bad[1]
    return None


def first_bad(ops: list, unknown: set | None = None) -> tuple[int, str, str] | None:
    """(position, what, expected) of the first malformed op of ``ops``, or
    None; op kinds not in :data:`SCHEMA` are added to ``unknown``."""
    if batch_ok(ops, unknown):
        return None
    for k, op in enumerate(ops):
        bad = check_op(op)
        if bad is not None:
            return k, bad[0], bad[1]
        if unknown is not None and op["f"] not in SCHEMA:
            unknown.add(op["f"])
    return None

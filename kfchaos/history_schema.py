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
    poll, final-read, assign, revoke (not ok); upgrade, rollback, cancel,
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
from array import array
from itertools import chain, compress, repeat
from operator import itemgetter, not_
from typing import Any, Callable, NamedTuple

__all__ = ["HistoryError", "Kind", "Field", "Rule", "SCHEMA", "check_op", "first_bad", "TYPES"]

TYPES = ("invoke", "ok", "fail", "info")
_TYPESET = frozenset(TYPES)
_I63 = 1 << 63
_I31 = 1 << 31
_NONE = type(None)


class _Absent:
    """Default of an optional field that is not there (always acceptable)."""


_ABSENT = _Absent()
_MISSING = object()       # default of a required field that is not there (never acceptable)


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


# -- kinds of field values ------------------------------------------------------
class Kind(NamedTuple):
    """Accepted values: of one of ``classes``; ints in ``[lo, hi)`` (None:
    unbounded); floats finite; containers also pass ``bulk`` (given the list
    of all of them)."""
    classes: frozenset
    expected: str
    lo: int | None = None
    hi: int | None = None
    bulk: Callable[[list], bool] | None = None


def _k(classes: tuple, expected: str, lo: int | None = None, hi: int | None = None,
       bulk: Callable[[list], bool] | None = None) -> Kind:
    return Kind(frozenset(classes), expected, lo, hi, bulk)


def kind_ok(kind: Kind, xs: list, types: set | None = None) -> bool:
    """True if every value of ``xs`` is of ``kind`` (whole-list operations;
    ``types``: the set of their classes, if known)."""
    if types is None:
        types = set(map(type, xs))
    if not types <= kind.classes:
        return False
    if int in types and kind.lo is not None:
        ints = xs if len(types) == 1 else [x for x in xs if x.__class__ is int]
        if min(ints) < kind.lo or max(ints) >= kind.hi:
            return False
    if float in types:
        fl = xs if len(types) == 1 else [x for x in xs if x.__class__ is float]
        if not all(map(math.isfinite, fl)):
            return False
    if kind.bulk is not None:
        box = xs if len(types) == 1 else [x for x in xs if x.__class__ in _CONTAINERS]
        if box and not kind.bulk(box):
            return False
    return True


_CONTAINERS = (dict, list)


def _offsets_maps(maps: list) -> bool:
    """Partition number (decimal string) -> offset (64-bit integer or null)."""
    keys = list(chain.from_iterable(maps))
    if keys and not (all(map(str.isdigit, keys)) and "".join(keys).isascii()
                     and max(map(len, keys)) < 11):
        return False
    return kind_ok(_OFFSET_N, list(chain.from_iterable(map(dict.values, maps))))


def _partition_lists(lists: list) -> bool:
    return kind_ok(_PART, list(chain.from_iterable(lists)))


def _string_lists(lists: list) -> bool:
    return set(map(type, chain.from_iterable(lists))) <= {str}


_P, _O = itemgetter("partition"), itemgetter("offset")
_get = dict.get
_SCALAR_IDS = frozenset((str, int, _NONE))
_INT_SET, _STR_SET, _DICT_SET, _FLOAT_SET = {int}, {str}, {dict}, {float}


def _record_lists(lists: list) -> bool:
    """Poll/final-read records: objects with an integer partition (0 <= p <
    2**32) and offset (0 <= o < 2**64); a dict value's id and key are
    strings, integers or null, its count an integer or null (other values:
    any JSON)."""
    recs = list(chain.from_iterable(lists))
    if not recs:
        return True
    try:                                   # (a record that is not an object: TypeError)
        ps, os = list(map(_P, recs)), list(map(_O, recs))
        if set(map(type, ps)) != _INT_SET or set(map(type, os)) != _INT_SET:
            return False
        array("I", ps)                     # range checks (OverflowError)
        array("Q", os)
    except (KeyError, TypeError, IndexError, OverflowError):
        return False
    vals = list(map(_get, recs, repeat("value")))
    if set(map(type, vals)) != _DICT_SET:
        vals = [v for v in vals if v.__class__ is dict]
        if not vals:
            return True
    if not set(map(type, map(_get, vals, repeat("id")))) <= _SCALAR_IDS:
        return False
    counts = set(map(type, map(_get, vals, repeat("count"))))
    return counts == {_NONE} or (counts <= {int, _NONE} and set(
        map(type, map(_get, vals, repeat("key")))) <= _SCALAR_IDS)


def _output_record_lists(lists: list) -> bool:
    """Records of a user job's output: integer partition and offset as for
    :func:`_record_lists`; the value is any JSON (the user's format)."""
    recs = list(chain.from_iterable(lists))
    try:
        ps, os = list(map(_P, recs)), list(map(_O, recs))
        if recs and (set(map(type, ps)) != _INT_SET or set(map(type, os)) != _INT_SET):
            return False
        array("I", ps)
        array("Q", os)
    except (KeyError, TypeError, IndexError, OverflowError):
        return False
    return True


_PART = _k((int,), "a partition number, 0 <= p < 2**31", 0, _I31)
_REC_PART = _k((int,), "an integer, 0 <= partition < 2**32", 0, 1 << 32)
_REC_OFFSET = _k((int,), "an integer, 0 <= offset < 2**64", 0, 1 << 64)
_OFFSET_N = _k((int, _NONE), "an integer offset or null")

STR = _k((str,), "a string")
STR_N = _k((str, _NONE), "a string or null")
ID = _k((str, int), "a string or integer id")
INT = _k((int,), "an integer")
INT_N = _k((int, _NONE), "an integer or null")
PART_N = _k((int, _NONE), "an integer partition or null")
OFFSET_N = _OFFSET_N
NUM_N = _k((int, float, _NONE), "a finite number or null")
OFFSETS = _k((dict,), "an object of partition number as a decimal string -> integer "
             "offset or null", bulk=_offsets_maps)
PARTITIONS = _k((list,), "a list of partition numbers, 0 <= p < 2**31", bulk=_partition_lists)
STRINGS = _k((list,), "a list of strings", bulk=_string_lists)
RECORDS = _k((list,), 'a list of records {"partition": int >= 0, "offset": int >= 0, '
             '"value": ...}', bulk=_record_lists)
OUTPUT_RECORDS = _k((list,), 'a list of records {"partition": int >= 0, "offset": int >= 0, '
                    '"value": any JSON}', bulk=_output_record_lists)


class Field(NamedTuple):
    name: str
    kind: Kind
    required: bool


def req(name: str, kind: Kind) -> Field:
    return Field(name, kind, True)


def opt(name: str, kind: Kind) -> Field:
    return Field(name, kind, False)


def fields_ok(fields: tuple[Field, ...], objs: list) -> bool:
    """True if every object of ``objs`` (dicts) has ``fields`` right."""
    for name, kind, required in fields:
        xs = list(map(_get, objs, repeat(name), repeat(_MISSING if required else _ABSENT)))
        types = set(map(type, xs))
        if _Absent in types:
            xs = [x for x in xs if x is not _ABSENT]
            types.discard(_Absent)
        if xs and not kind_ok(kind, xs, types):
            return False
    return True


_SEND = (req("id", ID), req("seq", INT), opt("topic", STR), opt("key", STR_N))
_SENT = (opt("partition", PART_N), opt("offset", OFFSET_N))
_TXN_SEND = (req("id", ID), req("seq", INT), req("topic", STR), opt("key", STR_N)) + _SENT


def _send_lists(lists: list) -> bool:
    sends = list(chain.from_iterable(lists))
    return set(map(type, sends)) <= {dict} and fields_ok(_TXN_SEND, sends)


SENDS = _k((list,), 'a list of {"id", "seq", "topic"[, "key", "partition", "offset"]} '
           "objects", bulk=_send_lists)

# open-transactions (kfchaos.platform.producer_state): each partition's producers
_PRODUCER = (req("producer_id", INT), opt("epoch", INT_N), opt("last_sequence", INT_N),
             opt("last_timestamp", INT_N), opt("coordinator_epoch", INT_N), opt("txn_start_offset", INT_N))


def _dict_lists(fields: tuple[Field, ...], lists: list) -> bool:
    objs = list(chain.from_iterable(lists))
    return set(map(type, objs)) <= {dict} and fields_ok(fields, objs)


PRODUCERS = _k((list, _NONE), 'a list of {"producer_id": int[, "txn_start_offset": int|null, ...]} '
               "objects, or null", bulk=lambda lists: _dict_lists(_PRODUCER, lists))
_PRODUCER_STATE = (req("partition", _PART), opt("producers", PRODUCERS), opt("error", STR_N))
PRODUCER_STATES = _k((list,), 'a list of {"partition": int, "producers": [...]|null[, "error": str]} '
                     "objects", bulk=lambda lists: _dict_lists(_PRODUCER_STATE, lists))


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
    "final-read": {"*": _LOOSE,
                   "ok": Rule((req("topic", STR), req("records", RECORDS),
                               opt("isolation", STR_N), opt("start_offsets", OFFSETS),
                               opt("end_offsets", OFFSETS), opt("fetch_end_offsets", OFFSETS),
                               opt("past_end", RECORDS), opt("listed_at", INT)), False)},
    "output-read": {"*": _LOOSE,
                    "ok": Rule((req("topic", STR), req("records", OUTPUT_RECORDS),
                                opt("isolation", STR_N)), False)},
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

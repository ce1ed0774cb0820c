"""The kinds of values a history's op fields may hold, and the field lists built from them
(:mod:`kfchaos.history_schema` puts them together into the schema of every op kind).

Contract: ``kind_ok(kind, values)`` is True exactly when every value is of the kind's
classes (integers within its bounds, floats finite, nested lists and objects as its ``bulk``
check requires); ``fields_ok(fields, objects)`` is True exactly when every object has each
required field and every present field is of its kind. Both are whole-list checks (about
one C-level pass a field), so that validating a history costs little next to parsing it.
"""
from __future__ import annotations

import math
from array import array
from itertools import chain, repeat
from operator import itemgetter
from typing import Callable, NamedTuple

TYPES = ("invoke", "ok", "fail", "info")
_TYPESET = frozenset(TYPES)
_I63 = 1 << 63
_I31 = 1 << 31
_NONE = type(None)


class _Absent:
    """Default of an optional field that is not there (always acceptable)."""


_ABSENT = _Absent()
_MISSING = object()       # default of a required field that is not there (never acceptable)




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

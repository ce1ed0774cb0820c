"""JSON text of history operations: how a line is written and read back.

Contract: :func:`line_of` writes ``json.dumps(op, separators=(",", ":"))`` (the writer's
default for bytes and sets), computed by orjson for the clients' own ops (:data:`FAST_FS`)
when its line is ASCII and has no ``null`` or reads back equal to the op (orjson writes
NaN and Infinity as ``null``, which then differs), so it is the same JSON value; :func:`loads`
and :func:`parse_lines` give what ``json.loads`` gives, with orjson where it agrees
(no integer beyond 64 bits) and the standard library otherwise, and reject text that
is not valid Unicode.
"""
from __future__ import annotations

import json
import re
from typing import Any

try:                 # optional speed-up: a parser ~2x faster than the standard library
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

_NOT_DIGIT = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))   # digit -> "0", else " "
_LONG_RUN = b"0" * 19
_SLICE = 1 << 20
HUGE_LINE = 1 << 20     # chars: such a line (a final read) is parsed on its own

def _orjson_exact(s: str | bytes) -> bool:
    """True if ``s`` has no run of 19+ digits: the integers orjson would
    turn into floats (beyond 64 bits) need one, nothing else differs."""
    n = len(s)
    if n <= _SLICE and s.__class__ is bytes:       # the common case, without the loop's cost
        return s.translate(_NOT_DIGIT).find(_LONG_RUN) < 0
    for i in range(0, n, _SLICE):
        part = s[max(0, i - 18):i + _SLICE]
        if isinstance(part, str):
            part = part.encode("utf-8", "surrogatepass")
        if part.translate(_NOT_DIGIT).find(_LONG_RUN) >= 0:
            return False
    return True


def loads(s: str | bytes) -> Any:
    """``json.loads(s)``: the same result, computed by orjson when it is
    installed and agrees (no integer beyond 64 bits; what orjson rejects --
    NaN, Infinity, lone surrogates, malformed text -- goes to the standard
    library, which also produces the errors)."""
    if _orjson is not None and isinstance(s, (str, bytes)) and _orjson_exact(s):
        try:
            return _orjson.loads(s)
        except ValueError:
            pass
    return json.loads(s)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)



#: ops the recording clients write at the workload's rate: plain JSON values built by the harness
FAST_FS = frozenset(("send", "poll", "commit", "assign", "revoke", "client-bytes", "txn"))
_encode = json.JSONEncoder(separators=(",", ":"), default=_json_default).encode   # what json.dumps does
_ORJSON_OPTS = 0
if _orjson is not None:
    _ORJSON_OPTS = (_orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_DATETIME
                    | _orjson.OPT_PASSTHROUGH_SUBCLASS)


def _orjson_default(obj: Any) -> Any:
    """What ``_json_default`` gives, for the types the standard library would hand it too;
    anything else (subclasses, dataclasses, dates) falls back to the standard library."""
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    if type(obj) in (set, frozenset):
        return list(obj)
    raise TypeError


def line_of(op: dict) -> str:
    """The JSON line of ``op``: ``json.dumps(op, separators=(",", ":"))`` with the writer's
    default, computed by orjson for the clients' ops when that gives the same JSON value."""
    if _ORJSON_OPTS and op["f"] in FAST_FS:
        try:
            raw = _orjson.dumps(op, default=_orjson_default, option=_ORJSON_OPTS)
        except (TypeError, ValueError):
            raw = b""
        if raw and raw.isascii() and (raw.find(b"null") < 0 or _orjson.loads(raw) == op):
            return raw.decode("ascii")
    return _encode(op)



def parse_lines(lines: list[str], chunk_chars: int = 64 << 10) -> list | None:
    """The ops of non-blank JSON lines, or None if some chunk of them does not
    parse.  Lines are parsed as JSON arrays of about ``chunk_chars`` (one
    parser call each, bounded parser memory); a line of ``HUGE_LINE`` chars
    or more alone, with the standard library (orjson would build a
    multi-hundred-MB document tree first).  Text that is not valid Unicode
    (bytes that are not UTF-8, decoded as lone surrogates, or escaped lone
    surrogates) and nesting too deep for the parser do not parse either."""
    ops: list = []
    i, n = 0, len(lines)
    try:
        while i < n:
            if len(lines[i]) >= HUGE_LINE:
                ops.append(_strict(json.loads(lines[i]), lines[i]))
                i += 1
                continue
            j, size = i, 0
            while j < n and size < chunk_chars and len(lines[j]) < HUGE_LINE:
                size += len(lines[j])
                j += 1
            text = "[" + ",".join(lines[i:j]) + "]"
            if _orjson is not None and _orjson_exact(text):
                try:                    # orjson rejects lone surrogates itself
                    ops += _orjson.loads(text)
                    i = j
                    continue
                except ValueError:
                    pass
            ops += _strict(json.loads(text), text)
            i = j
    except (ValueError, RecursionError):
        return None
    return ops


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _strict(parsed: Any, text: str) -> Any:
    """``parsed`` (the standard library's reading of ``text``), or ValueError
    if it holds lone surrogates: bytes of the file that are not UTF-8
    (decoded with ``surrogateescape``) or escapes like ``"\\udc80"``."""
    if not text.isascii() and _LONE_SURROGATE.search(text):
        raise ValueError("not valid UTF-8")
    if "\\ud" in text or "\\uD" in text:
        try:
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a lone surrogate escape (not valid Unicode)") from None
    return parsed


def json_problem(line: str) -> str:
    """Why ``line`` is not one op's JSON text (for error messages)."""
    try:
        _strict(json.loads(line), line)
    except RecursionError:
        return "JSON nested too deeply"
    except json.JSONDecodeError as e:
        return f"not valid JSON: {e.msg} at column {e.colno}"
    except ValueError as e:
        return f"not valid JSON text: {e}"
    return "not valid JSON"


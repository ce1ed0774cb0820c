"""Append-only operation history (Jepsen style), stored as JSON lines.

Contract
--------
Every line of ``history.jsonl`` -- or of a frame of a chunk file
``history.kfh`` (:mod:`kfchaos.history_chunks`: zstd-compressed frames of the
same lines, what a run writes; a writer whose path ends in ``.kfh`` writes one
frame per flush) -- is one operation::

    {"index": int, "process": str, "type": "invoke"|"ok"|"fail"|"info",
     "f": str, "value": <any JSON>, "time": int, "wall": float}

* ``index`` is assigned by the writer, 0..n-1, in file order.
* ``time`` is ``time.monotonic_ns()`` and ``wall`` is ``time.time()``, both taken
  under the writer lock, so ``time`` never decreases with ``index``.
* ``info`` means "outcome unknown"; it is never a failure.
* ``fail`` means the operation definitely did not take effect.

The writer is thread safe.  A line is what ``json.dumps(op, separators=(",",
":"))`` writes; the clients' own ops (:data:`FAST_FS`) are serialised by
orjson when its line is ASCII and has no ``null`` (where its output could
mean something else: NaN and Infinity, or be spelt differently: non-ASCII
escapes), which keeps recording cheap at high rates; such a line is the same
JSON value (a float with an exponent may be spelt ``1e-5`` for ``1e-05``).
Lines are buffered but flushed to the OS after every
``flush_every`` ops, at least every ``flush_interval`` seconds (a background
thread), immediately after every nemesis ``fault-*`` op, and on close: a test
that crashes leaves everything recorded up to ~0.5 s before on disk.

Reading (:func:`load`, :func:`iter_load`, :func:`op_batches`, and
``HistoryIndex.from_path`` through :mod:`kfchaos.checkers.stream`) accepts
either format (:func:`source_lines`; a chunk file is told by its magic bytes,
and its error messages give the op's 1-based position, which is its line in
the JSONL export, instead of a line number) and validates
every op once against :mod:`kfchaos.history_schema`: a malformed op, or a
line that is not JSON other than a cut-short last line (a crash while
writing, dropped), raises :class:`HistoryError`, a ``ValueError`` whose
one-line message is ``"<path>:<line>: <what is wrong> (<expected>)"``.

Completions are correlated with invocations per process by an operation key
(``value["id"]`` for sends, ``value["txn"]`` for transactions,
``value["fault_id"]`` for faults) and otherwise FIFO per (process, f), because
producers have many sends in flight at once.  See :func:`pair`.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from bisect import bisect_left
from collections import deque
from itertools import accumulate, count
from operator import add
from typing import Any, Callable, Iterable, Iterator

from kfchaos import history_chunks as _chunks
from kfchaos import history_rotation as _rotation
from kfchaos.history_schema import SCHEMA, HistoryError, first_bad

__all__ = [
    "TYPES", "History", "load", "iter_load", "correlation_key", "pair",
    "completions", "FAULT_FS", "loads", "parse_lines", "line_chunks", "HUGE_LINE",
    "HistoryError", "SCHEMA", "op_batches", "parse_chunk", "check_batch", "locate",
    "open_history", "log_unknown", "source_lines", "history_file", "HISTORY_CHUNKS",
    "HISTORY_JSONL", "HISTORY_NAMES", "HISTORY_ROTATED", "live_history_name", "line_of", "FAST_FS",
]

TYPES = ("invoke", "ok", "fail", "info")
log = logging.getLogger("chaos.history")


try:                 # optional speed-up: a parser ~2x faster than the standard library
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

_NOT_DIGIT = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))   # digit -> "0", else " "
_LONG_RUN = b"0" * 19
_SLICE = 1 << 20
HUGE_LINE = 1 << 20     # chars: such a line (a final read) is parsed on its own
_BLOCK = 4 << 20        # chars read at a time by line_chunks


def _orjson_exact(s: str | bytes) -> bool:
    """True if ``s`` has no run of 19+ digits: the integers orjson would
    turn into floats (beyond 64 bits) need one, nothing else differs."""
    n = len(s)
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


FAULT_FS = ("fault-start", "fault-stop")
CLIENT_EVENT_F = "client-event"   # a client library's own event (see kfchaos.clients.idempotence)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _default_clock() -> tuple[int, float]:
    return time.monotonic_ns(), time.time()


_UNSET = object()
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
        if raw and raw.isascii() and raw.find(b"null") < 0:
            return raw.decode("ascii")
    return _encode(op)


class History:
    """Thread-safe append-only history writer.

    ``History(path)`` (or ``History.open(path)``) truncates/creates ``path``.
    ``History()`` without a path keeps operations in memory only.
    ``keep=True`` also keeps every op in ``self.ops`` (default: only when no
    path is given).  ``clock`` returns ``(monotonic_ns, wall)``; tests pass a
    fake one.  ``writer`` (e.g. a
    :class:`kfchaos.history_rotation.RotatingChunkWriter` over the directory
    ``path``) takes the frames instead of a file of its own.
    """

    def __init__(self, path: str | os.PathLike | None = None, *,
                 flush_every: int = 256, flush_interval: float = 0.5,
                 keep: bool | None = None,
                 clock: Callable[[], tuple[int, float]] | None = None,
                 writer: Any = None):
        self.path = os.fspath(path) if path is not None else None
        self._chunks = writer is not None or (self.path is not None and self.path.endswith(_chunks.SUFFIX))
        if writer is not None:
            self._file = writer
        elif self._chunks:           # one compressed frame per flush (kfchaos.history_chunks)
            self._file = _chunks.ChunkWriter(self.path)
        else:
            self._file = open(self.path, "w", encoding="utf-8") if self.path else None
        self._keep = (self._file is None) if keep is None else keep
        self.ops: list[dict] = []
        self._lock = threading.Lock()
        self._buf: list[str] = []
        self._n = 0
        self._clock = clock or _default_clock
        self._flush_every = max(1, int(flush_every))
        self._flush_interval = float(flush_interval)
        self._last_flush = time.monotonic()
        self._closed = False
        self._stop = threading.Event()
        self._flusher = None
        if self._file is not None and self._flush_interval > 0:
            self._flusher = threading.Thread(target=self._flush_loop,
                                             name="history-flusher", daemon=True)
            self._flusher.start()

    @classmethod
    def open(cls, path: str | os.PathLike, **kw: Any) -> "History":
        return cls(path, **kw)

    # -- writing -----------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def append(self, op: dict) -> dict:
        """Record ``op`` (process, type, f, value required); fills index, time
        and wall (time/wall are kept if already present).  Returns the op."""
        if op.get("type") not in TYPES:
            raise ValueError(f"bad op type {op.get('type')!r}")
        if not isinstance(op.get("f"), str) or not isinstance(op.get("process"), str):
            raise ValueError("op needs str 'f' and 'process'")
        return self._add(op["process"], op["type"], op["f"], op.get("value"), op.get("time", _UNSET),
                         op.get("wall", _UNSET))

    def _add(self, process: str, type_: str, f: str, value: Any, mono: Any, wall: Any) -> dict:
        """Record one op whose type, f and process are known to be well formed."""
        with self._lock:
            if self._closed:
                raise RuntimeError("history is closed")
            now, now_wall = self._clock()
            op = {"index": self._n, "process": process, "type": type_, "f": f, "value": value,
                  "time": now if mono is _UNSET else mono, "wall": now_wall if wall is _UNSET else wall}
            self._n += 1
            if self._keep:
                self.ops.append(op)
            if self._file is not None:
                self._buf.append(line_of(op))
                if (len(self._buf) >= self._flush_every or f in FAULT_FS
                        or time.monotonic() - self._last_flush >= self._flush_interval):
                    self._flush_locked()
        return op

    def add(self, process: str, type_: str, f: str, value: Any) -> dict:
        """``append`` of an op the caller built from constants (a recording client): its
        type is one of :data:`TYPES`, its process and f strings, so nothing is checked (a
        subclass with its own ``append`` gets the op through it)."""
        if type(self).append is not History.append:
            return self.append({"process": process, "type": type_, "f": f, "value": value})
        return self._add(process, type_, f, value, _UNSET, _UNSET)

    def _record(self, type_: str, process: str, f: str, value: Any) -> dict:
        if not isinstance(f, str) or not isinstance(process, str):
            raise ValueError("op needs str 'f' and 'process'")
        return self._add(process, type_, f, value, _UNSET, _UNSET)

    def invoke(self, process: str, f: str, value: Any = None) -> dict:
        return self._record("invoke", process, f, value)

    def ok(self, process: str, f: str, value: Any = None) -> dict:
        return self._record("ok", process, f, value)

    def fail(self, process: str, f: str, value: Any = None) -> dict:
        return self._record("fail", process, f, value)

    def info(self, process: str, f: str, value: Any = None) -> dict:
        return self._record("info", process, f, value)

    def complete(self, invoke_op: dict, type_: str, value: Any = None) -> dict:
        """Record the completion of ``invoke_op`` (same process and f)."""
        if type_ == "invoke":
            raise ValueError("a completion cannot be an invoke")
        return self._record(type_, invoke_op["process"], invoke_op["f"],
                            invoke_op["value"] if value is None else value)

    # -- flushing ----------------------------------------------------------
    def _flush_locked(self) -> None:
        if self._buf and self._file is not None:
            if self._chunks:
                self._file.write(self._buf)
            else:
                self._file.write("\n".join(self._buf))
                self._file.write("\n")
            self._buf.clear()
        if self._file is not None:
            self._file.flush()
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        with self._lock:
            if not self._closed:
                self._flush_locked()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush_interval):
            with self._lock:
                if self._closed:
                    return
                if self._buf:
                    self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._flush_locked()
            self._closed = True
            if self._file is not None:
                self._file.close()
        self._stop.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=2)

    @property
    def writer(self) -> Any:
        """What the frames or lines go to (a file, a chunk writer, or None in memory)."""
        return self._file

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- reading -----------------------------------------------------------------
def load(path: str | os.PathLike) -> list[dict]:
    """Load and validate a history file (history.kfh or history.jsonl) (see :func:`iter_load` for the rules)."""
    ops: list[dict] = []
    for batch in op_batches(path, _BLOCK):
        ops += batch
    return ops


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


def line_chunks(fh: Any, chunk_chars: int) -> Iterator[tuple[list[str], bool]]:
    """Split a text file into chunks of non-blank lines for streaming.

    Yields ``(lines, at_end)``: exactly the chunks of this loop, but with
    whole-block operations instead of one Python step per line::

        for line in fh:                  # line with its newline
            if len(line) < 3 and not line.strip(): continue
            pending.append(line); size += len(line)
            if size >= chunk_chars:       # the line that crosses starts the next chunk
                last = pending.pop(); yield pending, False
                pending, size = [last], len(last)
        yield pending, True

    Lines come without their newline.  The consumer may clear a yielded list."""
    pending: list[str] = []
    size = 0
    carry: list[str] = []
    while True:
        block = fh.read(_BLOCK)
        if not block:
            break
        if "\n" not in block:
            carry.append(block)
            continue
        parts = ("".join(carry) + block if carry else block).split("\n")
        tail = parts.pop()
        carry = [tail] if tail else []
        if min(map(len, parts)) < 2:         # blank lines are skipped
            parts = [x for x in parts if len(x) >= 2 or x.strip()]
        if not parts:
            continue
        cum = list(map(add, accumulate(map(len, parts)), count(1)))   # sizes with "\n"
        i, base, n = 0, 0, len(parts)
        while i < n:
            j = bisect_left(cum, chunk_chars - size + base, i)
            if j >= n:
                pending += parts[i:]
                size += cum[-1] - base
                break
            pending += parts[i:j]
            yield pending, False
            pending = [parts[j]]
            size = cum[j] - (cum[j - 1] if j else 0)
            base, i = cum[j], j + 1
    line = "".join(carry)
    if line and not (len(line) < 3 and not line.strip()):
        pending.append(line)
        size += len(line)
        if size >= chunk_chars:
            last = pending.pop()
            yield pending, False
            pending = [last]
    yield pending, True


def iter_load(path: str | os.PathLike) -> Iterator[dict]:
    """Stream the ops of a history file (history.kfh or history.jsonl), each validated once
    (:mod:`kfchaos.history_schema`).

    Blank lines are skipped.  A line that is not JSON is dropped if it is
    the last one (a crash while writing), else :class:`HistoryError`; so is
    every malformed op.  The error names the file and line: ``"<path>:<line>:
    <what is wrong> (<expected>)"``."""
    for batch in op_batches(path, 1 << 20):
        yield from batch


def op_batches(path: str | os.PathLike, chunk_chars: int = _BLOCK) -> Iterator[list[dict]]:
    """The validated ops of each chunk of about ``chunk_chars`` of the file."""
    unknown: set[str] = set()
    n = 0
    try:
        for lines, at_end in source_lines(path, chunk_chars):
            ops = parse_chunk(lines, at_end, n)
            check_batch(ops, n, unknown)
            n += len(ops)
            yield ops
    except HistoryError as e:
        raise locate(e, path) from None
    log_unknown(path, unknown)


def source_lines(path: str | os.PathLike, chunk_chars: int = _BLOCK) -> Iterator[tuple[list[str], bool]]:
    """``(op lines, at_end)`` chunks of a history file of either format:
    :func:`line_chunks` of a JSONL file, or the lines of a few frames at a
    time of a chunk file (:mod:`kfchaos.history_chunks`; ``at_end`` is
    then always False: a frame's lines were all written whole), or of every
    chunk file of a rotated history's directory, in order
    (:mod:`kfchaos.history_rotation`)."""
    if _rotation.is_chunk_dir(path):
        for lines in _rotation.op_lines(path, chunk_chars):
            yield lines, False
        return
    if _chunks.is_chunk_file(path):
        for lines in _chunks.frame_lines(path, chunk_chars):
            yield lines, False
        return
    with open_history(path) as fh:
        yield from line_chunks(fh, chunk_chars)


def history_file(directory: str | os.PathLike) -> "os.PathLike":
    """The history of a scenario directory: ``history.chunks/`` (a rotated
    history, what a soak writes), else ``history.kfh`` (chunk file) if
    present, else ``history.jsonl``."""
    from pathlib import Path
    d = Path(directory)
    for name in (HISTORY_ROTATED, HISTORY_CHUNKS):
        if (d / name).exists():
            return d / name
    return d / HISTORY_JSONL


HISTORY_CHUNKS = "history" + _chunks.SUFFIX
HISTORY_JSONL = "history.jsonl"
HISTORY_ROTATED = _rotation.CHUNK_DIR
HISTORY_NAMES = (HISTORY_ROTATED, HISTORY_CHUNKS, HISTORY_JSONL)


def live_history_name() -> str:
    """What a run writes: ``history.jsonl`` (readable, the default) or, with
    ``CHAOS_HISTORY_FORMAT=kfh``, ``history.kfh`` (about 10x smaller; for long runs)."""
    fmt = os.environ.get("CHAOS_HISTORY_FORMAT", "jsonl").strip().lower()
    if fmt not in ("jsonl", "kfh"):
        raise ValueError(f"CHAOS_HISTORY_FORMAT is {fmt!r}; use jsonl or kfh")
    return HISTORY_CHUNKS if fmt == "kfh" else HISTORY_JSONL


def open_history(path: str | os.PathLike) -> Any:
    """The file as text: UTF-8, undecodable bytes as lone surrogates (which
    then fail to parse, with a line number, instead of failing the read)."""
    return open(path, "r", encoding="utf-8", errors="surrogateescape")


def parse_chunk(lines: list[str], at_end: bool, n0: int) -> list:
    """Ops of ``lines`` (op lines ``n0``...); the very last line of the file
    (``at_end``) is dropped if it does not parse, any other such line raises
    :class:`HistoryError` with its ordinal."""
    if not lines:
        return []
    ops = parse_lines(lines)
    if ops is not None:
        return ops
    ops, last = [], len(lines) - 1
    for k, line in enumerate(lines):
        one = parse_lines([line])
        if one is None:
            if at_end and k == last:
                break
            raise HistoryError(json_problem(line), _ONE_OP_PER_LINE, ordinal=n0 + k)
        ops += one
    return ops


_ONE_OP_PER_LINE = ("each line must be one JSON op; only the last line may be cut short "
                    "by a crash while writing")


def check_batch(ops: list, n0: int, unknown: set | None = None) -> None:
    """Raise :class:`HistoryError` (with its ordinal) for the first malformed
    op of ``ops`` (op lines ``n0``...); add unknown op kinds to ``unknown``."""
    bad = first_bad(ops, unknown)
    if bad is not None:
        raise HistoryError(bad[1], bad[2], ordinal=n0 + bad[0])


def locate(err: HistoryError, path: str | os.PathLike) -> HistoryError:
    """``err`` with the file and line of its op ordinal (re-reads the file:
    only on errors)."""
    if err.path is not None or err.ordinal is None:
        return err
    if _rotation.is_chunk_dir(path):
        return _rotation.locate(err, path)
    if _chunks.is_chunk_file(path):      # no lines: the op's 1-based position (its JSONL export line)
        return err.located(os.fspath(path), err.ordinal + 1)
    return err.located(os.fspath(path), op_line(path, err.ordinal))


def op_line(path: str | os.PathLike, ordinal: int) -> int:
    """1-based line number of the ``ordinal``-th op line (0-based) of the file:
    the lines :func:`line_chunks` keeps, counted as it does."""
    k = -1
    with open_history(path) as fh:
        for no, line in enumerate(fh, 1):
            if len(line) < 3 and not line.strip():
                continue
            k += 1
            if k == ordinal:
                return no
    return no if k >= 0 else 1


def log_unknown(path: str | os.PathLike, unknown: set) -> None:
    if unknown:
        log.warning("%s: ops of unknown kind kept unchecked (f = %s)", os.fspath(path),
                    ", ".join(sorted(map(repr, unknown))[:10]))


# -- pairing -----------------------------------------------------------------
_ID_FIELDS = {"send": "id", "txn": "txn", "fault-start": "fault_id", "fault-stop": "fault_id"}


def correlation_key(op: dict) -> tuple:
    """Key correlating an invoke with its completion: (process, f, op-id)."""
    f = op["f"]
    field = _ID_FIELDS.get(f)
    v = op.get("value")
    cid = v.get(field) if field and isinstance(v, dict) else None
    return (op["process"], f, cid)


def pair(history: Iterable[dict]) -> list[tuple[dict | None, dict | None]]:
    """Pair invokes with completions.

    Returns ``(invoke, completion)`` tuples in invoke order; ``completion`` is
    None for an invoke never completed (treat it like ``info``).  Completions
    with no invoke (e.g. ``poll`` ok, ``assign`` ok) come as ``(None, op)``
    in history order, after the invoke pairs.
    """
    pending: dict[tuple, deque] = {}
    pairs: list[list] = []
    orphans: list[tuple[None, dict]] = []
    for op in history:
        key = correlation_key(op)
        if op["type"] == "invoke":
            slot = [op, None]
            pairs.append(slot)
            pending.setdefault(key, deque()).append(slot)
        else:
            q = pending.get(key)
            if q:
                q.popleft()[1] = op
            else:
                orphans.append((None, op))
    return [(a, b) for a, b in pairs] + orphans


def completions(history: Iterable[dict]) -> dict[int, dict | None]:
    """Map invoke index -> completion op (None when never completed)."""
    return {inv["index"]: done for inv, done in pair(history) if inv is not None}

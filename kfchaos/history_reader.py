"""Reading a history file of any format (``history.jsonl``, ``history.kfh``, a rotated
``history.chunks/``) as validated operations.

Contract: :func:`load`, :func:`iter_load` and :func:`op_batches` validate every op once
against :mod:`kfchaos.history_schema`; a malformed op, or a line that is not JSON other
than a cut-short last line (a crash while writing, dropped), raises :class:`HistoryError`
whose one-line message is ``"<path>:<line>: <what is wrong> (<expected>)"`` (for a chunk
file the op's 1-based position, its line in the JSONL export).
"""
from __future__ import annotations

import logging
import os
from bisect import bisect_left
from itertools import accumulate, count
from operator import add
from typing import Any, Iterator

from kfchaos import history_chunks as _chunks
from kfchaos import history_rotation as _rotation
from kfchaos.history_codec import json_problem, parse_lines
from kfchaos.history_schema import HistoryError, first_bad

log = logging.getLogger("chaos.history")
_BLOCK = 4 << 20        # chars read at a time by line_chunks


def load(path: str | os.PathLike) -> list[dict]:
    """Load and validate a history file (history.kfh or history.jsonl) (see :func:`iter_load` for the rules)."""
    ops: list[dict] = []
    for batch in op_batches(path, _BLOCK):
        ops += batch
    return ops



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


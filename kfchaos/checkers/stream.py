"""Streaming a history file into a :class:`~kfchaos.checkers.index.HistoryIndex`.

Contract
--------
:func:`feed_file` reads the file in chunks of about ``chunk_bytes``
characters (:func:`kfchaos.history.source_lines`: lines of a history.jsonl,
or the decompressed frames of a chunk file, :mod:`kfchaos.history_chunks`);
every line holds one op.
Each chunk is one batch of :meth:`HistoryIndex.feed` as far as the index can
tell (the wall clock of its last op is sampled), but it is parsed and digested
in sub-batches of about :data:`PARSE_CHARS` characters, so the parsed ops are
still in the CPU cache when the index reads them.  A line of
:data:`kfchaos.history.HUGE_LINE` characters or more (a final read) is parsed
alone, by the standard library (orjson would first build a document tree
several times its size).

Every sub-batch is validated (:func:`kfchaos.history.check_batch`, the
schema of :mod:`kfchaos.history_schema`) before the index sees it, so the
checkers never get a malformed op: a line that is not JSON -- except the very
last line of the file (a crash while writing), which is dropped -- or a
malformed op raises :class:`kfchaos.history.HistoryError`, ``"<path>:<line>:
<what is wrong> (<expected>)"``.
"""
from __future__ import annotations

import os
from bisect import bisect_left
from itertools import accumulate
from typing import Any

from kfchaos.history import (HUGE_LINE, HistoryError, check_batch, locate, log_unknown,
                             parse_chunk, source_lines)

__all__ = ["feed_file", "feed_chunk", "PARSE_CHARS"]

PARSE_CHARS = 64 << 10


def feed_file(idx: Any, path: str | os.PathLike, chunk_bytes: int) -> None:
    """Feed every op of the file at ``path`` to ``idx`` (see the contract)."""
    unknown: set[str] = set()
    try:
        for lines, at_end in source_lines(path, chunk_bytes):
            feed_chunk(idx, lines, at_end, unknown)
    except HistoryError as e:
        raise locate(e, path) from None
    log_unknown(path, unknown)


def feed_chunk(idx: Any, lines: list[str], at_end: bool, unknown: set | None = None) -> None:
    """Parse, validate and digest one chunk of lines (``at_end``: it ends the
    file); :class:`HistoryError` carries the bad op's ordinal, not its line."""
    if not lines:
        return
    n0, last = idx.n, None
    for i, j in _sub_batches(lines):
        ops = _parse(lines, i, j, n0, at_end)
        if ops:
            check_batch(ops, n0 + i, unknown)
            idx._feed(ops, sample_last=False)
            last = ops[-1]
    if last is not None:
        idx.walls.append((last["time"], last.get("wall")))


def _sub_batches(lines: list[str]) -> list[tuple[int, int]]:
    """[i, j) line ranges of about PARSE_CHARS; a huge line alone."""
    n = len(lines)
    huge = max(map(len, lines)) >= HUGE_LINE
    cum = list(accumulate(map(len, lines)))
    out, i = [], 0
    while i < n:
        if huge and len(lines[i]) >= HUGE_LINE:
            j = i + 1
        else:
            j = min(n, bisect_left(cum, (cum[i - 1] if i else 0) + PARSE_CHARS, i) + 1)
            if huge:
                j = next((k for k in range(i + 1, j) if len(lines[k]) >= HUGE_LINE), j)
        out.append((i, j))
        i = j
    return out


def _parse(lines: list[str], i: int, j: int, n0: int, at_end: bool) -> list:
    """Ops of ``lines[i:j]`` (the chunk's first op is op ``n0``)."""
    return parse_chunk(lines[i:j], at_end and j == len(lines), n0 + i)

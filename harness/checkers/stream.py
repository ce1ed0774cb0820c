"""Streaming a history.jsonl into a :class:`~harness.checkers.index.HistoryIndex`.

Contract
--------
:func:`feed_file` reads the file in chunks of about ``chunk_bytes``
characters (:func:`harness.history.line_chunks`); every line holds one op.
Each chunk is one batch of :meth:`HistoryIndex.feed` as far as the index can
tell (the wall clock of its last op is sampled), but it is parsed and digested
in sub-batches of about :data:`PARSE_CHARS` characters, so the parsed ops are
still in the CPU cache when the index reads them.  A line of
:data:`harness.history.HUGE_LINE` characters or more (a final read) is parsed
alone, by the standard library (orjson would first build a document tree
several times its size).  A corrupt line raises ``ValueError``, except the
very last line of the file (a crash while writing): that one is dropped.
"""
from __future__ import annotations

import os
from bisect import bisect_left
from itertools import accumulate
from typing import Any

from harness.history import HUGE_LINE, line_chunks, parse_lines

__all__ = ["feed_file", "feed_chunk", "PARSE_CHARS"]

PARSE_CHARS = 64 << 10


def feed_file(idx: Any, path: str | os.PathLike, chunk_bytes: int) -> None:
    with open(path, "r", encoding="utf-8") as fh:
        for lines, at_end in line_chunks(fh, chunk_bytes):
            feed_chunk(idx, lines, at_end)


def feed_chunk(idx: Any, lines: list[str], at_end: bool) -> None:
    """Parse and digest one chunk of lines (``at_end``: it ends the file)."""
    if not lines:
        return
    n0, last = idx.n, None
    for i, j in _sub_batches(lines):
        ops = _parse(lines, i, j, n0, at_end)
        if ops:
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
    ops = parse_lines(lines[i:j])
    if ops is not None:
        return ops
    ops, last = [], len(lines) - 1
    for k in range(i, j):
        one = parse_lines([lines[k]])
        if one is None:
            if at_end and k == last:
                break
            raise ValueError(f"corrupt history line near op {n0 + k}")
        ops += one
    return ops

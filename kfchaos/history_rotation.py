"""A history written as a sequence of chunk files (``history.chunks/``), rotated as it grows.

What it does
------------
A soak records for hours. One ``history.kfh`` would grow without end and a crash could
leave one damaged file; so :class:`RotatingChunkWriter` writes the history into a
directory of chunk files (:mod:`kfchaos.history_chunks` format, each one complete and
self-checking)::

    <scenario>/history.chunks/000000.kfh, 000001.kfh, ...

It starts the next file when the current one holds ``rotate_ops`` ops or is
``rotate_s`` seconds old, whichever comes first, always between two flushes of the
writer (a frame never spans two files). Time is the primary trigger: each file then
covers a known stretch of wall-clock time, so the file of an incident is found by its
time; the op count bounds a file's size when the rate is high. Nothing is kept in
memory beyond the writer's frame buffer, so memory stays flat however long the run.

Reading: the files of a directory, in name order, are one history (``op_lines``); the
op ordinals continue across files, so an error names ``<file>:op <n>`` with ``n`` the
op's position in the whole history (:func:`locate`). The writer counts the send
failures and the faults started and healed it sees (on the JSON text, nothing parsed): the
soak's progress line shows them for free.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

from kfchaos import history_chunks as chunks
from kfchaos.history_schema import HistoryError

__all__ = ["CHUNK_DIR", "RotatingChunkWriter", "is_chunk_dir", "chunk_files", "op_lines", "locate",
           "export_jsonl"]

#: the directory name a rotated history is written under, in a scenario's directory
CHUNK_DIR = "history.chunks"
_SEND_FAIL = '"type":"fail","f":"send"'
_FAULT_ON = '"type":"ok","f":"fault-start"'
_FAULT_OFF = '"type":"ok","f":"fault-stop"'


def is_chunk_dir(path: str | os.PathLike) -> bool:
    """True if ``path`` is a directory (a rotated history, possibly still empty)."""
    try:
        return path is not None and Path(path).is_dir()
    except (OSError, ValueError, TypeError):
        return False


def chunk_files(directory: str | os.PathLike) -> list[Path]:
    """The chunk files of a rotated history, in write order (their names sort in it)."""
    return sorted(p for p in Path(directory).glob(f"*{chunks.SUFFIX}") if p.is_file())


class RotatingChunkWriter:
    """Writes frames into numbered chunk files under ``directory`` (created), rotating at
    ``rotate_ops`` ops or ``rotate_s`` seconds. The file-like subset :class:`kfchaos.history.History`
    uses (``write(lines)``, ``flush``, ``close``); not thread safe (History holds its lock)."""

    def __init__(self, directory: str | os.PathLike, *, rotate_s: float = 600.0, rotate_ops: int = 1_000_000,
                 codec: int | None = None, clock=time.monotonic):
        if rotate_s <= 0 or rotate_ops <= 0:
            raise ValueError("rotate_s and rotate_ops must be above 0")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.rotate_s, self.rotate_ops, self.codec, self._clock = float(rotate_s), int(rotate_ops), codec, clock
        self.files: list[Path] = []
        self.n = 0                      # ops written, every file together
        self.send_failures = 0          # counted on the JSON text (the writer's key order), never parsed
        self.faults_started = 0
        self.faults_healed = 0
        self._open_next()

    def _open_next(self) -> None:
        path = self.directory / f"{len(self.files):06d}{chunks.SUFFIX}"
        self._cur = chunks.ChunkWriter(path, self.codec)
        self._opened = self._clock()
        self.files.append(path)

    def _due(self) -> bool:
        return self._cur.n > 0 and (self._cur.n >= self.rotate_ops or self._clock() - self._opened >= self.rotate_s)

    def write(self, lines: list[str]) -> None:
        if self._due():
            self._cur.close()
            self._open_next()
        self._cur.write(lines)
        self.n += len(lines)
        for line in lines:
            if _SEND_FAIL in line:
                self.send_failures += 1
            elif _FAULT_ON in line:
                self.faults_started += 1
            elif _FAULT_OFF in line:
                self.faults_healed += 1

    def flush(self) -> None:
        self._cur.flush()

    def close(self) -> None:
        self._cur.close()


def op_lines(directory: str | os.PathLike, max_chars: int = 4 << 20) -> Iterator[list[str]]:
    """The op lines of every chunk file of ``directory``, in order, a few frames at a time. A
    damaged frame raises :class:`HistoryError` naming its file and the position in the whole
    history of its first op."""
    seen = 0
    for path in chunk_files(directory):
        first = seen                    # the position of the file's first op in the history
        try:
            for lines in chunks.frame_lines(path, max_chars):
                seen += len(lines)
                yield lines
        except HistoryError as e:
            if e.path is not None or e.ordinal is None:
                raise
            raise e.located(os.fspath(path), first + e.ordinal + 1) from None


def locate(err: HistoryError, directory: str | os.PathLike) -> HistoryError:
    """``err`` (whose ordinal counts ops from the start of the whole history) located in the
    chunk file that holds the op: ``<file>:<position of the op in the history, 1-based>``."""
    if err.path is not None or err.ordinal is None:
        return err
    files = chunk_files(directory)
    seen = 0
    for path in files:
        n, damaged = _op_count(path)
        if damaged or err.ordinal < seen + n:
            return err.located(os.fspath(path), err.ordinal + 1)
        seen += n
    return err.located(os.fspath(files[-1] if files else directory), err.ordinal + 1)


def _op_count(path: Path) -> tuple[int, bool]:
    """The ops of a chunk file's readable frames, and whether a damaged frame ends them."""
    n = 0
    try:
        for n_ops, _ in chunks.iter_frames(path):
            n += n_ops
    except HistoryError:
        return n, True
    return n, False


def export_jsonl(directory: str | os.PathLike, dst: str | os.PathLike) -> int:
    """The whole rotated history as one JSON Lines file ``dst``; returns the number of ops."""
    n = 0
    with open(dst, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as out:
        for path in chunk_files(directory):
            for n_ops, text in chunks.iter_frames(path):
                if n_ops:
                    out.write(text)
                    out.write("\n")
                    n += n_ops
    return n

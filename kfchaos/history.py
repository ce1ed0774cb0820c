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

The writer is thread safe.  A write after close records nothing and raises
nothing: it is counted (``History.late_writes``) and the first is logged at
debug level (a client thread still closing after a Ctrl-C).  A line is what ``json.dumps(op, separators=(",",
":"))`` writes; the clients' own ops (:data:`FAST_FS`) are serialised by
orjson when its line is ASCII (non-ASCII text the standard library escapes) and
either has no ``null`` or reads back equal to the op (orjson writes NaN and Infinity
as ``null``), which keeps recording cheap at high rates; such a line is the same
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

The roles live in their own modules, re-exported here (import from
``kfchaos.history``): :mod:`kfchaos.history_writer` (:class:`History`),
:mod:`kfchaos.history_reader` (loading), :mod:`kfchaos.history_codec` (the JSON text),
:mod:`kfchaos.history_pairing` (invokes and completions) and
:mod:`kfchaos.history_schema` (validation).
"""
from __future__ import annotations

from kfchaos.history_codec import FAST_FS, HUGE_LINE, json_problem, line_of, loads, parse_lines
from kfchaos.history_pairing import completions, correlation_key, pair
from kfchaos.history_reader import (HISTORY_CHUNKS, HISTORY_JSONL, HISTORY_NAMES, HISTORY_ROTATED, check_batch,
                                    history_file, iter_load, line_chunks, live_history_name, load, locate,
                                    log_unknown, op_batches, op_line, open_history, parse_chunk, source_lines)
from kfchaos.history_schema import SCHEMA, HistoryError
from kfchaos.history_writer import CLIENT_EVENT_F, FAULT_FS, TYPES, History

__all__ = [
    "TYPES", "History", "load", "iter_load", "correlation_key", "pair",
    "completions", "FAULT_FS", "loads", "parse_lines", "line_chunks", "HUGE_LINE",
    "HistoryError", "SCHEMA", "op_batches", "parse_chunk", "check_batch", "locate",
    "open_history", "log_unknown", "source_lines", "history_file", "HISTORY_CHUNKS",
    "HISTORY_JSONL", "HISTORY_NAMES", "HISTORY_ROTATED", "live_history_name", "line_of", "FAST_FS",
    "CLIENT_EVENT_F", "json_problem", "op_line",
]

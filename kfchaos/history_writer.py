"""The history writer: :class:`History`, a thread-safe, append-only recorder of operations.

Contract: ``index`` is 0..n-1 in file order; ``time`` (``time.monotonic_ns()``) and
``wall`` (``time.time()``) are taken under the writer lock, so ``time`` never decreases
with ``index``. Lines are buffered and flushed after every ``flush_every`` ops or
:data:`FLUSH_CHARS` of text, at least
every ``flush_interval`` seconds (a background thread), at once after every nemesis
``fault-*`` op, and on close. The line format is :mod:`kfchaos.history_codec`'s.

A write after :meth:`History.close` (a client thread still closing when a Ctrl-C or
SIGTERM closed the run) records nothing and raises nothing: it is counted
(:attr:`History.late_writes`) and the first one is logged at debug level with the
process and f that wrote it.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable

from kfchaos import history_chunks as _chunks
from kfchaos.history_codec import line_of

TYPES = ("invoke", "ok", "fail", "info")
log = logging.getLogger("chaos.history")
FAULT_FS = ("fault-start", "fault-stop")
#: buffered text at which a flush (a frame of a chunk file) is due whatever the op count: a
#: reader then never holds a frame much larger than this plus one op (a final read's page)
FLUSH_CHARS = 8 << 20
CLIENT_EVENT_F = "client-event"   # a client library's own event (see kfchaos.clients.idempotence)


def _default_clock() -> tuple[int, float]:
    return time.monotonic_ns(), time.time()


_UNSET = object()


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
        self._buf_chars = 0          # text held in _buf: a frame is closed at FLUSH_CHARS
        self._n = 0
        self._clock = clock or _default_clock
        self._flush_every = max(1, int(flush_every))
        self._flush_interval = float(flush_interval)
        self._last_flush = time.monotonic()
        self._closed = False
        self._late_writes = 0
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
                return self._late(process, type_, f, value)
            now, now_wall = self._clock()
            op = {"index": self._n, "process": process, "type": type_, "f": f, "value": value,
                  "time": now if mono is _UNSET else mono, "wall": now_wall if wall is _UNSET else wall}
            self._n += 1
            if self._keep:
                self.ops.append(op)
            if self._file is not None:
                line = line_of(op)
                self._buf.append(line)
                self._buf_chars += len(line)
                if (len(self._buf) >= self._flush_every or f in FAULT_FS or self._buf_chars >= FLUSH_CHARS
                        or time.monotonic() - self._last_flush >= self._flush_interval):
                    self._flush_locked()
        return op

    def _late(self, process: str, type_: str, f: str, value: Any) -> dict:
        """A write after close (called under the lock): counted, not recorded; the op
        comes back without an index."""
        self._late_writes += 1
        if self._late_writes == 1:
            log.debug("history %s is closed: a %s %s op from %s was not recorded (writes after close "
                      "are counted in late_writes)", self.path or "(in memory)", type_, f, process)
        return {"index": None, "process": process, "type": type_, "f": f, "value": value}

    @property
    def late_writes(self) -> int:
        """How many writes came after :meth:`close` (none of them recorded)."""
        return self._late_writes

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
            self._buf_chars = 0
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

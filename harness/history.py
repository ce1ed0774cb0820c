"""Append-only operation history (Jepsen style), stored as JSON Lines.

Contract
--------
Every line of ``history.jsonl`` is one operation::

    {"index": int, "process": str, "type": "invoke"|"ok"|"fail"|"info",
     "f": str, "value": <any JSON>, "time": int, "wall": float}

* ``index`` is assigned by the writer, 0..n-1, in file order.
* ``time`` is ``time.monotonic_ns()`` and ``wall`` is ``time.time()``, both taken
  under the writer lock, so ``time`` never decreases with ``index``.
* ``info`` means "outcome unknown"; it is never a failure.
* ``fail`` means the operation definitely did not take effect.

The writer is thread safe.  Lines are buffered but flushed to the OS after every
``flush_every`` ops, at least every ``flush_interval`` seconds (a background
thread), immediately after every nemesis ``fault-*`` op, and on close: a test
that crashes leaves everything recorded up to ~0.5 s before on disk.

Completions are correlated with invocations per process by an operation key
(``value["id"]`` for sends, ``value["txn"]`` for transactions,
``value["fault_id"]`` for faults) and otherwise FIFO per (process, f), because
producers have many sends in flight at once.  See :func:`pair`.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from typing import Any, Callable, Iterable, Iterator

__all__ = [
    "TYPES", "History", "load", "iter_load", "correlation_key", "pair",
    "completions", "FAULT_FS", "loads",
]

TYPES = ("invoke", "ok", "fail", "info")


loads = json.loads   # one place to swap the parser (e.g. for orjson) if ever needed
FAULT_FS = ("fault-start", "fault-stop")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _default_clock() -> tuple[int, float]:
    return time.monotonic_ns(), time.time()


class History:
    """Thread-safe append-only history writer.

    ``History(path)`` (or ``History.open(path)``) truncates/creates ``path``.
    ``History()`` without a path keeps operations in memory only.
    ``keep=True`` also keeps every op in ``self.ops`` (default: only when no
    path is given).  ``clock`` returns ``(monotonic_ns, wall)``; tests pass a
    fake one.
    """

    def __init__(self, path: str | os.PathLike | None = None, *,
                 flush_every: int = 256, flush_interval: float = 0.5,
                 keep: bool | None = None,
                 clock: Callable[[], tuple[int, float]] | None = None):
        self.path = os.fspath(path) if path is not None else None
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
        with self._lock:
            if self._closed:
                raise RuntimeError("history is closed")
            mono, wall = self._clock()
            op = {"index": self._n, "process": op["process"], "type": op["type"],
                  "f": op["f"], "value": op.get("value"),
                  "time": op.get("time", mono), "wall": op.get("wall", wall)}
            self._n += 1
            if self._keep:
                self.ops.append(op)
            if self._file is not None:
                self._buf.append(json.dumps(op, separators=(",", ":"),
                                            default=_json_default))
                if (len(self._buf) >= self._flush_every
                        or op["f"] in FAULT_FS
                        or time.monotonic() - self._last_flush >= self._flush_interval):
                    self._flush_locked()
        return op

    def _record(self, type_: str, process: str, f: str, value: Any) -> dict:
        return self.append({"process": process, "type": type_, "f": f, "value": value})

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
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- reading -----------------------------------------------------------------
def load(path: str | os.PathLike) -> list[dict]:
    """Load a history.jsonl.  A truncated/corrupt *last* line (crash while
    writing) is dropped; a corrupt line elsewhere raises ``ValueError``."""
    with open(path, "r", encoding="utf-8") as fh:
        data = fh.read()
    lines = [ln for ln in data.split("\n") if ln.strip()]
    if not lines:
        return []
    try:  # fast path: one parser call for the whole file
        return loads("[" + ",".join(lines) + "]")
    except ValueError:
        pass
    ops = []
    last = len(lines) - 1
    for i, ln in enumerate(lines):
        try:
            ops.append(loads(ln))
        except ValueError as e:
            if i == last:
                break
            raise ValueError(f"{path}: corrupt history line {i + 1}: {e}") from None
    return ops


def iter_load(path: str | os.PathLike) -> Iterator[dict]:
    """Stream ops from a history.jsonl (same truncation rule as :func:`load`)."""
    with open(path, "r", encoding="utf-8") as fh:
        pending = None
        for ln in fh:
            if not ln.strip():
                continue
            if pending is not None:
                yield loads(pending)
            pending = ln
        if pending is not None:
            try:
                yield loads(pending)
            except ValueError:
                return


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

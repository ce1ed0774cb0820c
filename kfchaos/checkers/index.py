"""Single-pass streaming index over a history, shared by every checker.

Contract
--------
``HistoryIndex(ops)`` (or :meth:`HistoryIndex.from_path`, which streams a
history.jsonl in chunks) reads each op once, in history order, and keeps only
compact state -- never the high-volume op dicts (send, poll, final-read,
commit, assign, revoke, txn, checkpoint).  It is built from three passes
fed side by side:

* writes (:mod:`.writes`): every harness write as a :class:`~.records.Write`
  -- ``sends``/``txn_sends`` (writer-of, see :meth:`write`), per topic
  ``acked`` / ``unacked`` / ``aborted``, ack and invoke time series, and the
  producers' version-order checks (``reorders``, ``unsorted``);
* reads: ``final_read(topic)`` -- the authoritative final read, the last
  ``ok`` one with ``read_committed`` isolation, else the last of any
  (``final_reads`` holds every one, see :class:`~.digests.FinalRead`);
  ``polls(topic)`` -- every polled record as flat columns
  (:class:`~.digests.PollDigest`);
* consumers (:mod:`.consumers`): ``order_events`` (non-contiguous steps of
  a consumer's offsets between rebalances, :class:`~.records.OrderEvent`)
  and ``group`` / ``first_polls`` (the first offset polled after each
  assign and the group's commit state then, :class:`~.records.FirstPoll`);

and any other op (fault-*, deploy, savepoint, client-event, ...) as is:
:meth:`get`.  Checkers accept a list of ops or a HistoryIndex
(:func:`as_index`).  Derived queries shared by checkers are cached (see
:mod:`.queries`): the index must not change once finished.

The garbage collector is paused while feeding (the digest holds no
reference cycles).
"""
from __future__ import annotations

import gc
import os
from typing import Any, Iterable

from kfchaos.history import HistoryError, locate
from kfchaos.history_pages import READ_KINDS, PageAssembler

from .consumers import ConsumerDigest
from .digests import FinalRead, PollDigest
from .examples import ExampleMixin
from .queries import QueryMixin
from .records import Write
from .stream import feed_file
from .writes import WriteDigest

__all__ = ["HistoryIndex", "as_index"]

_GROUP = frozenset(("commit", "assign", "revoke"))


class HistoryIndex(QueryMixin, ExampleMixin):
    def __init__(self, ops: Iterable[dict] | None = None):
        self.n = 0
        self.start_time: int | None = None
        self.end_time = 0
        self.end_wall: float | None = None
        self.walls: list[tuple[int, float]] = []     # sampled (time, wall clock)
        self.small: dict[str, list[dict]] = {}       # f -> retained ops
        self.writes = WriteDigest()
        self.final_reads: list[FinalRead] = []
        self._final: dict[Any, FinalRead] = {}
        self._polls: dict[Any, PollDigest] = {}
        self.consumers = ConsumerDigest(self._polls, self.walls)
        self.group = self.consumers.group
        self.order_events = self.consumers.events
        self.checkpoint_times: list[int] = []
        self.counts: dict[str, int] = {}
        self._cache: dict[Any, Any] = {}
        self._pages = PageAssembler()
        self.finished = False
        if ops is not None:
            self.feed(ops)
            self.finish()

    # the write digest's tables, under their historical names
    sends = property(lambda self: self.writes.sends)
    txn_sends = property(lambda self: self.writes.txn_sends)
    acked = property(lambda self: self.writes.acked)
    unacked = property(lambda self: self.writes.unacked)
    aborted = property(lambda self: self.writes.aborted)
    ok_t = property(lambda self: self.writes.ok_t)
    ok_lat = property(lambda self: self.writes.ok_lat)
    inv_t = property(lambda self: self.writes.inv_t)
    reorders = property(lambda self: self.writes.reorders)
    unsorted = property(lambda self: self.writes.unsorted)

    @property
    def first_polls(self) -> list[dict]:
        return self.group.first_polls

    @classmethod
    def from_path(cls, path: str | os.PathLike, chunk_bytes: int = 4 << 20) -> "HistoryIndex":
        """Stream a history.kfh or history.jsonl (a cut-short last line or frame is tolerated); see
        :mod:`.stream`."""
        idx = cls()
        enabled = gc.isenabled()
        gc.disable()
        try:
            feed_file(idx, path, chunk_bytes)
        finally:
            if enabled:
                gc.enable()
        try:
            return idx.finish()
        except HistoryError as e:       # pages left without their final op
            raise locate(e, path) from None

    # -- the single pass -----------------------------------------------------
    def feed(self, ops: Iterable[dict]) -> None:
        """Digest ``ops`` (the next ops of the history, in order)."""
        if not isinstance(ops, list):
            ops = list(ops)
        if not ops:
            return
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._feed(ops)
        finally:
            if enabled:
                gc.enable()

    def _feed(self, ops: list[dict], sample_last: bool = True) -> None:
        """Digest a non-empty batch (``sample_last``: sample the wall clock
        of its last op, as a :meth:`feed` batch does)."""
        if self.start_time is None:
            self.start_time = ops[0]["time"]
            self.walls.append((ops[0]["time"], ops[0].get("wall")))
        send, poll, other = self.writes.send, self._poll, self._other
        for op in ops:
            f = op["f"]
            if f == "send":
                send(op)
            elif f == "poll":
                poll(op)
            elif f in READ_KINDS:
                self._read(op, ops)
            else:
                other(op, f)
        last = ops[-1]
        self.end_time = max(self.end_time, last["time"])
        self.end_wall = last.get("wall")
        if sample_last:
            self.walls.append((last["time"], last.get("wall")))
        self.n += len(ops)
        self.counts["send-invoke"] = len(self.writes.inv_t)
        self.counts["send-done"] = self.writes.n_done
        self.consumers.flush()

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def _poll(self, op: dict) -> None:
        if op["type"] != "ok":
            self._count("poll-" + op["type"])
            return
        topic = op["value"]["topic"]
        digest = self._polls.get(topic)
        if digest is None:
            digest = self._polls[topic] = PollDigest(topic)
        digest.n_polls += 1
        if op["value"]["records"]:
            self.consumers.poll(op)

    def _read(self, op: dict, ops: list[dict]) -> None:
        """A final read, an output read or one of their pages: assembled first
        (:mod:`kfchaos.history_pages`), so both see the whole read."""
        n0 = self.n
        whole = self._pages.take(op, lambda: n0 + next(k for k, o in enumerate(ops) if o is op))
        if whole is None:
            return
        if whole["f"] == "final-read":
            self._final_read(whole)
        else:
            self._other(whole, whole["f"])

    def _final_read(self, op: dict) -> None:
        if op["type"] != "ok" or not isinstance(op.get("value"), dict):
            self._count("final-read-" + op["type"])
            return
        self.walls.append((op["time"], op.get("wall")))
        fr = FinalRead(op)
        self.final_reads.append(fr)
        cur = self._final.get(fr.topic)
        if cur is None or fr.isolation == "read_committed" or cur.isolation != "read_committed":
            self._final[fr.topic] = fr

    def _other(self, op: dict, f: str) -> None:
        """Group, txn and checkpoint ops are digested; the rest is kept."""
        self.walls.append((op["time"], op.get("wall")))
        if f in _GROUP:
            self._count(f + "-" + op["type"])
            self.consumers.group_op(op)
        elif f == "txn":
            self._count("txn-" + op["type"])
            self.writes.txn(op)
        elif f == "checkpoint":
            self._count("checkpoint-" + op["type"])
            if op["type"] == "ok":
                self.checkpoint_times.append(op["time"])
        else:
            self.small.setdefault(f, []).append(op)

    def finish(self) -> "HistoryIndex":
        """Resolve in-flight sends and transactions (idempotent)."""
        if not self.finished:
            for op in self._pages.close():          # reads interrupted mid-way: info, no records
                self._final_read(op) if op["f"] == "final-read" else self._other(op, op["f"])
            self.finished = True
            for _ in range(self.writes.finish()):
                self._count("txn-pending")
        return self

    # -- basic queries -------------------------------------------------------
    def __len__(self) -> int:
        return self.n

    def get(self, f: str) -> list[dict]:
        """Retained ops of kind ``f`` (not the digested high-volume kinds)."""
        return self.small.get(f, [])

    def write(self, rid: Any) -> Write | None:
        """The write of id ``rid`` (writer-of), plain send or txn send."""
        w = self.sends.get(rid)
        return w if w is not None else self.txn_sends.get(rid)

    def final_read(self, topic: Any) -> FinalRead | None:
        return self._final.get(topic)

    def final_read_topics(self) -> list:
        return list(self._final)

    def polls(self, topic: Any) -> PollDigest | None:
        return self._polls.get(topic)

    def poll_topics(self) -> list:
        return list(self._polls)


def as_index(history: "HistoryIndex | Iterable[dict]") -> HistoryIndex:
    if isinstance(history, HistoryIndex):
        return history.finish()
    return HistoryIndex(history)

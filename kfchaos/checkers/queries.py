"""Derived queries over a finished :class:`~.index.HistoryIndex`.

Contract
--------
Queries several checkers ask (the joins and topic sets are cached, so they
are computed once per index; the index must not change once finished):

* :meth:`QueryMixin.absent` / :meth:`QueryMixin.lookup`: joins of two
  id-keyed dicts;
* :meth:`QueryMixin.is_transactional`: which topics may hold invisible
  offsets (transaction markers, aborted records);
* :meth:`QueryMixin.gap_explained`: whether a range of offsets holds
  nothing a consumer could read.
"""
from __future__ import annotations

from itertools import compress, repeat
from operator import is_
from typing import Any, Iterable

__all__ = ["QueryMixin"]


class QueryMixin:
    _cache: dict
    acked: dict
    unacked: dict
    aborted: dict
    sends: dict
    txn_sends: dict

    def _cached(self, key: Any, compute: Any) -> Any:
        r = self._cache.get(key, self)
        if r is self:
            r = self._cache[key] = compute()
        return r

    @property
    def txn_topics(self) -> set:
        return self._cached("txn_topics", lambda: {w.topic for w in self.txn_sends.values()})

    @property
    def send_topics(self) -> set:
        """Topics written by plain (non-transactional) sends."""
        return self._cached("send_topics", lambda: {w.topic for w in self.sends.values()})

    def write_topics(self) -> set:
        return set(self.acked) | set(self.unacked) | set(self.aborted)

    def lookup(self, a: dict, b: dict) -> list:
        """``b.get(k)`` for every key ``k`` of ``a``, in ``a``'s order (cached:
        checkers share these joins)."""
        key = ("lookup", id(a), id(b))
        r = self._cache.get(key)
        if r is None or r[0] is not a or r[1] is not b:
            r = self._cache[key] = (a, b, list(map(b.get, a)))
        return r[2]

    def absent(self, a: dict, b: dict) -> list:
        """Keys of ``a`` missing from ``b`` (whose values are never None),
        in ``a``'s order."""
        return list(compress(a, map(is_, self.lookup(a, b), repeat(None))))

    def is_transactional(self, topic: Any, declared: Iterable[str] | None = None) -> bool:
        """Transactional if txn ops write it, it is declared so, or -- when
        nothing is declared -- no plain harness ``send`` writes it."""
        if topic in self.txn_topics:
            return True
        if declared is not None:
            return topic in set(declared)
        return topic not in self.send_topics

    def gap_explained(self, topic: Any, p: int, lo: int, hi: int) -> bool | None:
        """True if offsets ``[lo, hi)`` hold nothing readable: none is in the
        final read, or (read_uncommitted final read) the ones present belong to
        aborted transactions.  None if the topic has no final read."""
        if hi <= lo:
            return True
        fr = self.final_read(topic)  # type: ignore[attr-defined]
        if fr is None:
            return None
        present = fr.offsets_in(p, lo, hi)
        if not present:
            return True
        aborted = self.aborted.get(topic)
        if not aborted:
            return False
        pm = fr.at[p]
        return all(pm[o] in aborted for o in present)

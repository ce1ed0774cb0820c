"""The compiled core's series and a light index: ``windows`` and ``recovery`` on the core.

Contract
--------
:class:`NativeSeries` answers what :class:`~.windows.Series` answers (``phase``, the
``first_*_after`` queries, ``polled_topics``, ``invoked_after``) from the scan's
``kfchaos._native.NativeSeries``, which returns raw integers (counts, and latencies in ns
at ranks computed here by :func:`~.windows.ranks`); the rounding is
:func:`~.windows.phase_stats`', so the dicts are the Python ones whenever the scan's series
equals the Python one: op times that never decrease (the writer's guarantee; the scan says
``monotone``), no transaction, every completed send invoked (both already handed to Python
by the scan).

:func:`light_index` builds a :class:`LightIndex`: a :class:`~.index.HistoryIndex` fed only
the ops the scan does not digest (faults, checkpoints, cluster-health, job-recovery, client
events, ...), with the full history's ``start_time``, ``end_time``, ``end_wall`` and ``n``
from the scan and the series above cached as ``series_of`` finds it.  Its sends, polls,
final reads and group state are empty, and its wall-clock samples are only the small ops'
(and the last op's): :meth:`LightIndex.wall_at` then answers approximately and records that
it was asked (``walls_read``), and a verdict that asked is not used (the Python path runs).
``consume_lag`` (isolation, ramp, elasticity) needs the polls: not on a light index.
"""
from __future__ import annotations

import json
import math
from typing import Any

from .index import HistoryIndex
from .windows import first_after, phase_stats, ranks

__all__ = ["NativeSeries", "LightIndex", "light_index"]

try:
    import orjson as _orjson
except ImportError:        # the standard library reads every line then
    _orjson = None

#: query times beyond the scan's (which are in [0, 2**63)) compare as these
_LOW, _HIGH = -1, 2 ** 63


def _left(t: Any) -> int:
    """``t`` as the integer with the same ``bisect_left`` over integer times."""
    return min(max(math.ceil(t), _LOW), _HIGH)


def _right(t: Any) -> int:
    """``t`` as the integer with the same ``bisect_right`` over integer times."""
    return min(max(math.floor(t), _LOW), _HIGH)


class NativeSeries:
    """:class:`~.windows.Series`' interface over the scan's series (``core``) and the
    checkpoint ok times of the light index."""

    def __init__(self, core: Any, checkpoint_times: list[int]):
        self._core = core
        self._checkpoints = sorted(checkpoint_times)

    def phase(self, t0: int, t1: int) -> dict:
        """Stats of the closed interval [t0, t1] (:meth:`~.windows.Series.phase`)."""
        a, b = _left(t0), _right(t1)
        send_ok, recs, n = self._core.phase(a, b)
        ranked = (n, *self._core.latencies(a, b, ranks(n))) if n else None
        return phase_stats(t0, t1, send_ok, recs, ranked)

    def first_send_after(self, t: int) -> int | None:
        return self._core.first_send_after(_right(t))

    def first_poll_after(self, t: int) -> int | None:
        return self._core.first_poll_after(_right(t))

    def first_checkpoint_after(self, t: int) -> int | None:
        return first_after(self._checkpoints, t)

    def polled_topics(self) -> set:
        return set(self._core.polled_topics())

    def first_topic_poll_after(self, topic: Any, t: int) -> int | None:
        if not isinstance(topic, str):       # every polled topic is a string
            return None
        return self._core.first_topic_poll_after(topic, _right(t))

    def invoked_after(self, t: int) -> bool:
        return self._core.invoked_after(_right(t))


class LightIndex(HistoryIndex):
    """A :class:`~.index.HistoryIndex` of the small ops only (see the contract)."""

    def __init__(self) -> None:
        super().__init__()
        self.walls_read = False

    def wall_at(self, t: int | None) -> float | None:
        """Approximate (the small ops' clocks only): a verdict that asks is Python's."""
        self.walls_read = True
        return super().wall_at(t)


_NO_WALL = object()


def _wall(text: bytes | None) -> Any:
    """The last op's ``wall`` as the Python reader has it (None when it has none), or
    ``_NO_WALL`` when the two JSON parsers it may use disagree on the text."""
    if text is None:
        return None
    got = json.loads(text)
    if _orjson is not None:
        other = _orjson.loads(text)
        if type(other) is not type(got) or other != got:
            return _NO_WALL
    return got


def light_index(r: dict, small: list[dict]) -> LightIndex | None:
    """The light index of a scan ``r`` (its ``small`` ops parsed and checked), or None when
    its series may differ from Python's: op times that decrease, or a last ``wall`` the
    parsers read differently."""
    if not r["monotone"]:
        return None
    end_wall = _wall(r["last_wall"])
    if end_wall is _NO_WALL:
        return None
    idx = LightIndex()
    if small:
        idx.feed(small)
    idx.finish()
    idx.n = r["n"]
    if r["first_time"] is None:                  # no op at all
        idx.start_time, idx.end_time, idx.end_wall = None, 0, None
        idx.walls.clear()
    else:
        idx.start_time, idx.end_time, idx.end_wall = r["first_time"], r["last_time"], end_wall
        idx.walls.append((r["last_time"], end_wall))
    idx._cache.clear()
    idx._cache["series"] = NativeSeries(r["series"], idx.checkpoint_times)
    return idx

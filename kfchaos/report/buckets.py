"""Per-second series bucketed for plotting, so a plot of a long run stays readable.

A soak of hours has tens of thousands of seconds; a plot 900 pixels wide cannot show a point a
second. :func:`bucket_size` says how many seconds one plotted point covers (1 up to
:data:`MAX_POINTS` seconds: short runs are plotted exactly as before), and :func:`bucketed`
folds a per-second list into buckets with an aggregation that keeps what the plot is read for:

* ``mean``: rates (sends/s, records/s): the bucket's average per second (its total / its seconds);
* ``median``: a typical value (p50 latency): the median of the bucket's seconds that have one;
* ``max``: the worst value (p99 latency): the highest of the bucket's seconds, so a latency spike
  during a fault is never averaged away.

A bucket where every second is ``None`` (no send completed) stays ``None`` (a gap in the line).
"""
from __future__ import annotations

import math
import statistics
from typing import Sequence

__all__ = ["MAX_POINTS", "bucket_size", "bucketed"]

#: the most points one line of a plot gets; longer series are bucketed
MAX_POINTS = 900


def bucket_size(seconds: int, max_points: int = MAX_POINTS) -> int:
    """Seconds per plotted point: 1 for a series of at most ``max_points`` seconds."""
    return max(1, math.ceil(seconds / max_points))


def bucketed(values: Sequence[float | None], size: int, how: str) -> list[float | None]:
    """``values`` (one a second) folded into buckets of ``size`` seconds with ``how``
    (``mean``, ``median`` or ``max``); the last bucket may be shorter."""
    if how not in ("mean", "median", "max"):
        raise ValueError(f"unknown aggregation {how!r}")
    if size <= 1:
        return list(values)
    out: list[float | None] = []
    for i in range(0, len(values), size):
        part = values[i:i + size]
        present = [v for v in part if v is not None]
        if not present:
            out.append(None)
        elif how == "mean":
            out.append(sum(present) / len(part))
        elif how == "median":
            out.append(statistics.median(present))
        else:
            out.append(max(present))
    return out

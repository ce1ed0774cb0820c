"""Soak runs: their settings, their periodic fault schedule and their progress line.

A soak (``kfchaos certify --soak 1h``) is the ``soak`` scenario (:mod:`kfchaos.scenarios.soak`)
run for a duration the user chooses. This module holds what is not a scenario step:

* :func:`parse_duration`: ``1h``, ``90m``, ``300s``, ``1h30m`` or plain seconds; anything else
  raises ``ValueError`` whose message is the one line the CLI prints (exit 2);
* :class:`SoakSettings`: duration, fault period and history rotation, passed from the CLI (or a
  test) to the scenario through ``CHAOS_SOAK*`` environment variables, like ``CHAOS_SCHEDULE``;
* :func:`periodic_schedule`: one fault from the menu in every period, drawn by
  :func:`kfchaos.faults.schedule.generate` from a seed derived from the run's seed and the
  period's number: it starts after a short lead, lasts a fraction of the period, and is healed
  well before the next period starts. The same seed and settings give the same schedule;
* :class:`Progress`: a thread that logs one line every ~10 s (elapsed/total, ops recorded,
  send failures, faults started and healed, all counted by the writer; the next fault and when).
"""
from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from kfchaos.faults import schedule as schedules
from kfchaos.faults.base import FaultSpec

__all__ = ["parse_duration", "fmt_duration", "SoakSettings", "periodic_schedule", "Progress", "ENV"]

log = logging.getLogger("chaos.soak")

#: the environment variables of a soak's settings
ENV = {"duration_s": "CHAOS_SOAK", "period_s": "CHAOS_SOAK_PERIOD", "chunk_s": "CHAOS_SOAK_CHUNK"}
MIN_SOAK_S, MAX_SOAK_S = 30.0, 7 * 86_400.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str, what: str = "--soak", minimum: float = 1.0, maximum: float = MAX_SOAK_S) -> float:
    """Seconds of ``text``: ``300s``, ``90m``, ``1h``, ``1h30m``, ``2d`` or a plain number of seconds."""
    t = str(text).strip().lower()
    try:
        value = float(t) if re.fullmatch(r"\d+(\.\d+)?", t) else None
    except ValueError:
        value = None
    if value is None and t and _PART.sub("", t) == "":
        units = [u for _, u in _PART.findall(t)]
        if len(set(units)) == len(units):
            value = sum(float(n) * _UNITS[u] for n, u in _PART.findall(t))
    if value is None:
        raise ValueError(f"{what} {text!r} is not a duration: give e.g. 300s, 90m, 1h or 1h30m")
    if not minimum <= value <= maximum:
        raise ValueError(f"{what} {text!r} is out of range: give between {fmt_duration(minimum)} and "
                         f"{fmt_duration(maximum)}")
    return value


def fmt_duration(seconds: float) -> str:
    """``3725`` -> ``1h02m05s``; ``90`` -> ``1m30s``; ``42`` -> ``42s``."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    return f"{m}m{sec:02d}s" if m else f"{sec}s"


@dataclass(frozen=True)
class SoakSettings:
    duration_s: float                 # the load runs this long (faults heal, then the final read)
    period_s: float | None = None     # one fault every period (None: derived from the duration)
    chunk_s: float = 600.0            # a new history chunk file every this many seconds...
    chunk_ops: int = 1_000_000        # ...or this many ops, whichever comes first

    @property
    def period(self) -> float:
        """The fault period: as given, else a quarter of the run within 20-60 s."""
        return self.period_s if self.period_s else min(60.0, max(20.0, self.duration_s / 4))

    @classmethod
    def from_env(cls, env: dict | None = None) -> "SoakSettings | None":
        """The settings named by ``CHAOS_SOAK*`` (None: no soak asked for); ValueError if bad."""
        env = os.environ if env is None else env
        if not env.get(ENV["duration_s"]):
            return None
        period = env.get(ENV["period_s"])
        chunk = env.get(ENV["chunk_s"])
        return cls(duration_s=parse_duration(env[ENV["duration_s"]], "--soak", MIN_SOAK_S),
                   period_s=parse_duration(period, "--soak-period", 10.0) if period else None,
                   chunk_s=parse_duration(chunk, "--soak-chunk", 1.0) if chunk else 600.0)

    def to_env(self) -> dict[str, str]:
        out = {ENV["duration_s"]: f"{self.duration_s:g}s", ENV["chunk_s"]: f"{self.chunk_s:g}s"}
        if self.period_s:
            out[ENV["period_s"]] = f"{self.period_s:g}s"
        return out

    def flags(self) -> str:
        """The CLI flags that give these settings (for the re-run command)."""
        return (f" --soak {fmt_duration(self.duration_s)}" + (f" --soak-period {self.period_s:g}s" if self.period_s
                                                                 else "") + f" --soak-chunk {self.chunk_s:g}s")


def period_seed(seed: int, k: int) -> int:
    """The seed of period ``k``'s draw: a function of the run's seed and ``k`` only."""
    return random.Random(f"soak:{seed}:{k}").randrange(1, 2**31)


def periodic_schedule(seed: int, faults: Sequence[str], duration_s: float, period_s: float, *,
                      zones: Sequence[str] = schedules.DEFAULT_ZONES,
                      applicable: Callable[[FaultSpec], bool] | None = None) -> list[FaultSpec]:
    """One fault per whole period within ``duration_s``: a lead of 10-25% of the period, a fault
    of 15-40% of it (at most 120 s), then heal and a gap of at least 35% of the period before the
    next one. Periods whose draw finds no applicable fault stay quiet."""
    if period_s <= 0:
        raise ValueError("the fault period must be above 0 s")
    lead = (round(0.10 * period_s, 1), round(0.25 * period_s, 1))
    length = (round(min(0.15 * period_s, 120.0), 1), round(min(0.40 * period_s, 120.0), 1))
    specs: list[FaultSpec] = []
    for k in range(int(duration_s // period_s)):
        drawn = schedules.generate(period_seed(seed, k), faults, zones=zones, total_s=lead[1] + length[1],
                                   fault_s=length, gap_s=lead, applicable=applicable)
        if drawn:
            f = drawn[0]
            specs.append(FaultSpec(f.fault, f.target, round(k * period_s + f.start, 1), f.duration, dict(f.params)))
    return specs


class Progress:
    """Logs the soak's progress every ``every`` s from a daemon thread until :meth:`stop`.

    ``counts()`` returns the writer's running counts (``ops``, ``send_failures``,
    ``faults_started``, ``faults_healed``), read without a lock: ints, at worst one flush old."""

    def __init__(self, total_s: float, specs: list[FaultSpec], counts: Callable[[], dict[str, int]],
                 every: float = 10.0, clock=time.monotonic):
        self.total_s, self.specs, self.every, self._clock = total_s, sorted(specs, key=lambda s: s.start), every, clock
        self._counts = counts
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.t0 = clock()

    def line(self, elapsed: float | None = None) -> str:
        """The progress line at ``elapsed`` s since the load started."""
        e = self._clock() - self.t0 if elapsed is None else elapsed
        c = self._counts()
        started, healed = c.get("faults_started", 0), c.get("faults_healed", 0)
        nxt = next((s for s in self.specs if s.start > e), None)
        text = (f"soak {fmt_duration(e)}/{fmt_duration(self.total_s)}: {c.get('ops', 0):,} ops, "
                f"{c.get('send_failures', 0):,} send failures, faults {started}/{len(self.specs)} started, "
                f"{healed} healed")
        if e >= self.total_s:
            waiting = f"{started - healed} fault(s) to heal, then " if started > healed else ""
            text += f"; load planned time over: {waiting}heal check, drain, final read"
        elif nxt is not None:
            text += f"; next {nxt.label()} at {fmt_duration(nxt.start)} (in {fmt_duration(nxt.start - e)})"
        else:
            text += "; no more faults planned"
        return text

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            log.info(self.line())

    def start(self) -> "Progress":
        self.t0 = self._clock()
        self._thread = threading.Thread(target=self._loop, name="soak-progress", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

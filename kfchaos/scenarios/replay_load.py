"""The replay load of backfill-isolation: its settings and the bound on the brokers' links.

A profile's ``replay:`` section (all optional):

- ``link_rate`` (tc rate, default ``40mbit``; ``none``: no bound): every broker's egress for
  the whole measured load (``broker-bandwidth``, kfchaos.faults.egress);
- ``preload_mb`` (default 96): history written before the load, which the replay re-reads;
- ``link_burst_mb`` (default 15; 0: 10 ms at the rate, a plain link): the bound's bucket. A
  quota is enforced in bursts: a throttled client still fetches 10 quota windows' worth at
  once (about 10.5 MB per broker at 1 MiB/s) and is then held back; a bucket that holds such
  a burst lets it through at full speed, as a cloud instance's burst credits do, while a
  replay without a quota empties it within seconds and then runs at the rate;
- ``record_bytes`` (default 4000): the preload's value size. Large enough that an unthrottled
  reader is bounded by the link, not by its own per-record cost.

``link_bound`` applies the bound through the run's nemesis (fault-start / fault-stop in the
history, healed with the rest on exit, error or signal), or notes why it could not.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from kfchaos.faults.base import FaultSpec
from kfchaos.faults.egress import parse_rate

LINK_RATE = "40mbit"
PRELOAD_MB = 96
LINK_BURST_MB = 15
RECORD_BYTES = 4000
NO_BOUND = ("none", "off", "")


@dataclass(frozen=True)
class ReplayLoad:
    link_rate: str | None = LINK_RATE      # None: the brokers' links are not bounded
    preload_mb: int = PRELOAD_MB
    record_bytes: int = RECORD_BYTES
    link_burst_mb: int = LINK_BURST_MB

    @property
    def preload_records(self) -> int:
        return max(1, self.preload_mb * 1_000_000 // self.record_bytes)

    @property
    def link_bytes_per_s(self) -> float | None:
        return parse_rate(self.link_rate) / 8 if self.link_rate else None


def replay_load(raw_profile: dict[str, Any] | None) -> ReplayLoad:
    """The settings of a profile's ``replay:`` section (already checked by the profile rules)."""
    section = (raw_profile or {}).get("replay") or {}
    rate = section.get("link_rate", LINK_RATE)
    return ReplayLoad(link_rate=None if str(rate).strip().lower() in NO_BOUND else str(rate),
                      preload_mb=int(section.get("preload_mb", PRELOAD_MB)),
                      record_bytes=int(section.get("record_bytes", RECORD_BYTES)),
                      link_burst_mb=int(section.get("link_burst_mb", LINK_BURST_MB)))


def section_problem(section: Any) -> str | None:
    """What is wrong with a ``replay:`` section (key and fix), or None."""
    if not isinstance(section, dict):
        return "`replay` must be a mapping; write `link_rate`, `preload_mb`, `record_bytes` lines under it"
    rate = section.get("link_rate", LINK_RATE)
    if str(rate).strip().lower() not in NO_BOUND:
        try:
            parse_rate(rate)
        except ValueError as exc:
            return f"`replay.link_rate` {exc}, or none for no bound"
    for key, low in (("preload_mb", 1), ("record_bytes", 64), ("link_burst_mb", 0)):
        v = section.get(key, low)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            return f"`replay.{key}` must be a whole number >= {low}, got {v!r}; write e.g. replay.{key}: {low * 100}"
    return None


def link_ceilings(platform, load: ReplayLoad, bound: str | None) -> dict[str, dict[str, float]]:
    """The bound as each broker's network ceiling for kfchaos.platform.resources (it counts
    received and sent bytes together; a broker's received bytes here are the small live
    produce and replication), so a filled link is named as what saturated first."""
    if not bound or not load.link_bytes_per_s:
        return {}
    return {node.name: {"network": load.link_bytes_per_s} for node in platform.brokers.values()}


@contextmanager
def link_bound(run, load: ReplayLoad, duration_s: float) -> Iterator[str | None]:
    """Bound every broker's egress while the block runs; yields the fault id (None: no bound)."""
    if not load.link_rate:
        yield None
        return
    params: dict[str, Any] = {"rate": load.link_rate}
    if load.link_burst_mb:
        params["burst_bytes"] = load.link_burst_mb * 1_000_000
    spec = FaultSpec("broker-bandwidth", "all", start=0, duration=duration_s, params=params)
    flavor = getattr(run.platform, "flavor", None)
    reason = flavor.fault_not_applicable(spec) if flavor is not None else None
    if reason or not hasattr(run.platform, "brokers"):
        run.note("replay-isolation", f"the brokers' links are not bounded ({reason or 'no broker containers'}); "
                                     "the platform's own network is the bound")
        yield None
        return
    with run.nemesis.fault(spec) as fault_id:
        yield fault_id


def settle_preload(run) -> float | None:
    """Flush what the preload left in the page cache (``sync`` in each broker container) before
    the baseline starts: measured here, 96 MB written three times over was still being written
    back during the first 15 s of live load, which made the baseline noisier than the replay
    window it is the measure of. Returns the seconds it took (None on an external target,
    whose brokers the harness does not reach)."""
    brokers = getattr(run.platform, "brokers", None)
    if not brokers:
        return None
    t0 = time.monotonic()
    for node in brokers.values():
        node.exec(["sync"])
    return round(time.monotonic() - t0, 3)

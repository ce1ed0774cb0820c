"""Every figure a scenario reports, named once: its key, label and unit.

A figure is either derived from checker verdicts (``source="verdict"``) or measured by
the harness during the run and recorded in the history as a ``measure`` operation
(``source="measure"``); either way ``kfchaos analyze`` recomputes it from the history.
Reports, the comparison table, JUnit and Allure read labels and units from here, so a
figure's name is never repeated as a string elsewhere.

Units: ``int`` (a count), ``s`` (seconds), ``ms`` (milliseconds), ``rate`` (per second),
``bytes``, ``bytes_map`` (name -> bytes), ``str`` (free text), ``list`` (a list of strings),
``json`` (anything else).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Figure", "FIGURES", "figure", "fmt", "UNITS", "UnknownFigure"]

UNITS = ("int", "s", "ms", "rate", "bytes", "bytes_map", "str", "list", "json")


class UnknownFigure(KeyError):
    """A measure names a figure that is not registered here."""


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    source: str = "measure"     # "verdict": derived from checker verdicts; "measure": recorded op
    doc: str = ""

    def fmt(self, value: Any) -> str:
        return fmt(self.unit, value)


def _figures(*figs: Figure) -> dict[str, Figure]:
    return {f.key: f for f in figs}


FIGURES: dict[str, Figure] = _figures(
    # from verdicts
    Figure("lost", "lost records", "int", "verdict", "acknowledged writes missing from the final read"),
    Figure("duplicates", "duplicates", "int", "verdict", "records written or output more than once"),
    Figure("missing_output", "missing output", "int", "verdict", "input records without output"),
    Figure("producer_epoch_bumps", "producer epoch bumps", "int", "verdict",
           "idempotent-producer epoch bumps and replaced producer ids"),
    Figure("recovery_s", "recovery", "s", "verdict",
           "slowest of: clients succeeding again, output resuming, cluster healthy, Flink job running"),
    Figure("live_p99_ms_during_fault", "live p99 during fault", "ms", "verdict"),
    Figure("baseline_p99_ms", "baseline p99", "ms", "verdict"),
    Figure("throughput_ok_per_s", "throughput (ok sends)", "rate", "verdict"),
    Figure("replay_records_per_s", "backfill read rate", "rate", "verdict", "records per second the replay read"),
    Figure("replay_bytes_per_s", "backfill read rate (bytes per second)", "bytes", "verdict",
           "bytes of record values per second the replay read"),
    Figure("baseline_lag_p99_ms", "live consume lag p99 (baseline)", "ms", "verdict",
           "send-to-poll latency of live records before the replay"),
    Figure("replay_lag_p99_ms", "live consume lag p99 (replay)", "ms", "verdict",
           "send-to-poll latency of live records during the replay"),
    Figure("replication_lag_max_records", "replication lag (max, records)", "int", "verdict",
           "largest sampled sum over partitions of source end offset minus mirrored end offset"),
    Figure("replication_catch_up_s", "mirror caught up after load", "s", "verdict",
           "from the producers' stop until the target had every source offset"),
    Figure("mirror_duplicates", "mirrored duplicates", "int", "verdict",
           "extra copies of source records on the target (MirrorMaker 2 delivers at least once)"),
    Figure("cutover_s", "cut-over time", "s", "verdict",
           "from the group's stop on the source to its first records read on the target"),
    Figure("cutover_redelivered", "redelivered after cut-over", "int", "verdict",
           "records the group read on the target that it had committed on the source"),
    Figure("cutover_skipped", "skipped after cut-over", "int", "verdict"),
    Figure("job_move_downtime_s", "Flink job move downtime", "s", "verdict",
           "from the stop-with-savepoint on the source to the first committed output on the target"),
    Figure("job_move_savepoint_bytes", "savepoint moved", "bytes", "verdict", "bytes copied between object stores"),
    Figure("job_move_output", "job output before + after the move", "str", "verdict", "committed records on each side"),
    Figure("cluster_healthy_after_heal_s", "cluster healthy after heal", "s", "verdict"),
    Figure("flink_time_to_running_s", "Flink job running again after", "s", "verdict"),
    # measured by the harness and recorded as `measure` operations
    Figure("records_replayed", "records replayed", "int", doc="output records in aborted transactions"),
    Figure("source_records_since_restart", "source records since restart", "int"),
    Figure("failed_checkpoints", "failed checkpoints", "int"),
    Figure("history_chunks", "history chunk files", "int",
           doc="a soak's history, rotated into this many chunk files (history.chunks/)"),
    Figure("checkpoints_completed", "completed checkpoints", "int"),
    Figure("restored", "checkpoint restores", "int"),
    Figure("output_drain_s", "output drained after", "s"),
    Figure("rollback_s", "rollback", "s"),
    Figure("flink_move_s", "job moved to the new Flink release in", "s"),
    Figure("bad_version_failed_after_s", "bad version failed after", "s"),
    Figure("bytes_on_broker_disks", "bytes on broker disks", "bytes"),
    Figure("bytes_in_object_storage", "bytes in object storage", "bytes"),
    Figure("saturated_first", "saturated first", "str"),
    Figure("replay_link_rate", "broker link rate (backfill)", "str",
           doc="every broker's egress bound during the backfill's load (broker-bandwidth), or none"),
    Figure("preload_settle_s", "preload flushed to disk in", "s",
           doc="backfill-isolation: sync in every broker before the baseline starts"),
    Figure("ramp_steps", "load ramp steps", "json",
           doc="per step: rate, consumers, ok sends/s, produce p99, consume lag p99, saturated first"),
    Figure("ramp_limit", "load ramp limit", "str",
           doc="the last step within the p99 and lag budgets, or the step where they broke"),
    # scale-out / scale-in (kfchaos.elasticity, from `reassign` and `scale` ops)
    Figure("scale_moves", "partition moves", "json",
           doc="per move: time to balance, bytes and replicas moved, throttle, produce p99, consume lag p99"),
    Figure("time_to_balance_s", "time until balanced (scale-out)", "s",
           doc="reassignment --execute until --verify found every partition complete"),
    Figure("bytes_moved", "bytes moved (scale-out)", "bytes",
           doc="sizes of the new replicas on their new brokers when the move completed"),
    Figure("live_p99_ms_during_move", "live produce p99 during the move", "ms"),
    Figure("consumer_lag_p99_ms_during_move", "consumer lag p99 during the move", "ms",
           doc="send-to-poll latency of live records polled during the scale-out move"),
    Figure("bytes_moved_scale_in", "bytes moved (scale-in)", "bytes"),
    Figure("decommission_s", "decommission (drain + stop + unregister)", "s"),
    Figure("throttle_left", "replication throttles left", "json"),
    Figure("broker_added", "broker added", "json", doc="node id, zone, seconds until listed"),
    Figure("broker_removed", "broker removed", "json", doc="node id, seconds, unregister outcome"),
    Figure("quotas", "client quotas applied", "list"),
    Figure("mirror_config", "MirrorMaker 2 configuration", "str", doc="the mm2.properties of a migration rehearsal"),
    Figure("backfill_fault", "backfill fault id", "str"),
    Figure("workload_errors", "workload errors", "list"),
    Figure("client_config", "effective client configuration", "json",
           doc="the producer and consumer settings the workload's clients ran with"),
    Figure("not_applicable", "not applicable", "str"),
    # between zones, from the zone proxies' byte counters (kfchaos.traffic, `traffic` ops)
    Figure("cross_zone_bytes", "cross-zone bytes", "bytes",
           doc="replication and controller bytes between zones (every ordered pair); "
               "'not applicable' where the platform has no zone proxies"),
    Figure("cross_zone_bytes_per_mb_produced", "cross-zone bytes per MB produced", "bytes",
           doc="cross-zone bytes per 10**6 bytes (keys and values) the workload's producers had acknowledged"),
    Figure("cross_zone_bytes_per_mb_consumed", "cross-zone bytes per MB consumed", "bytes",
           doc="cross-zone bytes per 10**6 bytes (keys and values) the workload's consumers polled"),
    Figure("cross_zone_pairs", "cross-zone bytes by pair", "bytes_map", doc='"src->dst": bytes'),
    Figure("object_storage_traffic_bytes", "zone <-> object storage bytes", "bytes"),
    Figure("client_proxy_traffic_bytes", "host clients <-> zone bytes (proxied)", "bytes",
           doc="host clients on the proxied path only; direct host clients pass no proxy"),
    Figure("traffic_paths", "object storage and client bytes by path", "bytes_map"),
    Figure("traffic_cost", "traffic cost (profile prices)", "json",
           doc="bytes / 10**9 times the profile's platform.cost prices per GB"),
    Figure("traffic_counter_resets", "traffic counters reset", "int",
           doc="counters that restarted during the scenario: their figures are lower bounds"),
)


def figure(key: str) -> Figure:
    try:
        return FIGURES[key]
    except KeyError:
        raise UnknownFigure(f"unknown figure {key!r}; registered: {', '.join(sorted(FIGURES))}") from None


def fmt(unit: str, value: Any) -> str:
    """A figure value for people, by unit: '—' when missing.

    ``int``: ``1,234`` (thousands separators); ``s``: ``6.5 s``; ``ms``: ``2,900 ms``,
    or two decimals under 10 ms (``8.00 ms``); ``rate``: ``1,250/s``; ``bytes``: binary
    units (``117.7 MiB``); ``bytes_map``: ``a->b 1.2 MiB; b->a 3 B``; ``list``: items
    joined with ``; ``; anything else, or a value the unit cannot format (a string where a
    number belongs): ``str(value)``. Missing
    means None, an empty string or list, or a non-finite number.
    """
    if value is None or value == "" or value == [] or (
            isinstance(value, float) and not math.isfinite(value)):
        return "—"
    try:
        if unit == "int":
            return f"{int(value):,}"
        if unit == "s":
            return f"{float(value):.1f} s"
        if unit == "ms":
            v = float(value)
            return f"{v:,.0f} ms" if v >= 10 else f"{v:.2f} ms"
        if unit == "rate":
            return f"{float(value):,.0f}/s"
        if unit == "bytes":
            return _bytes(float(value))
    except (TypeError, ValueError, OverflowError):
        return str(value)
    if unit == "bytes_map" and isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
        return "; ".join(f"{k} {_bytes(float(v))}" for k, v in value.items()) or "—"
    if unit == "list" and isinstance(value, (list, tuple)):
        return "; ".join(map(str, value))
    return str(value)


def _bytes(n: float) -> str:
    """Binary units: ``512 B``, ``2.0 KiB``, ``117.7 MiB`` ... ``TiB``."""
    if not math.isfinite(n):
        return str(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)

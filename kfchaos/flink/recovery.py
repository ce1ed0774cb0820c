"""Recovery measurement of a Flink job after a failure: what is and isn't measurable from
the REST API (split out of :mod:`kfchaos.flink.lifecycle`, which re-exports these names).

Measurable (see :func:`recovery_metrics`):

* failure time: timestamp of the newest entry in ``/jobs/:id/exceptions`` (JobManager clock);
* time to RUNNING: when every subtask was RUNNING again minus the failure time. "Running
  again" is the newest ``RUNNING`` time over all subtasks' current attempts
  (``/jobs/:id/vertices/:vid/subtasktimes``) when all subtasks run; without it, the job's
  ``timestamps.RUNNING`` (last time the *job* entered RUNNING; a failover restarting only a
  region never leaves RUNNING, and after a restart the job is RUNNING before its tasks are);
* what was restored: ``latest.restored`` of ``/jobs/:id/checkpoints`` (id, restore time,
  savepoint or not, path) and, while still in the history, that checkpoint's trigger time:
  ``failure - restored trigger`` is the replay window (input processed again);
* number of failures: entries of the exception history (one per failover, plus the final one
  of a FAILED job; capped by ``web.exception-history-size``), and the job metric
  ``numRestarts`` (cached by the JobManager's metric fetcher, so it can lag or stay stale
  once the job has ended);
* records read by the source since the last (re)start: sum of the source vertex's
  ``numRecordsOut`` (task metrics restart from 0 with every task attempt);
* per-partition Kafka offsets of the source: ``...KafkaSourceReader.topic.T.partition.P.
  currentOffset`` / ``committedOffset`` gauges (last emitted offset / offset committed on the
  last completed checkpoint).

Not measurable exactly here: the number of records replayed. Flink does not expose the offsets
stored in a checkpoint over REST. :func:`estimate_replayed` approximates it from an offsets
sample taken before the failure (``current + 1 - committed`` per partition), but metrics are
cached by the JobManager (``metrics.fetcher.update-interval``, 10 s by default), so the sample
can be that stale. The exact count comes from the data: output records carry ``in_partition``
/``in_offset``, so a read_uncommitted consumer of the output topic sees every replayed input
twice (once in an aborted transaction).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping

from .rest import FlinkRest, FlinkRestError

__all__ = ["RecoveryMetrics", "recovery_metrics", "estimate_replayed"]


@dataclass
class RecoveryMetrics:
    job_id: str
    state: str
    all_tasks_running: bool
    failure_time_ms: int | None           # newest exception (or the caller's failure time)
    failure: str | None                   # its root cause ("Caused by" innermost)
    failures_recorded: int                # entries in the exception history (capped by
                                          # web.exception-history-size, default 16)
    running_since_ms: int | None          # last transition of the job to RUNNING
    time_to_running_ms: int | None        # (tasks_)running_since - failure (None: not yet)
    restarts: int | None                  # job metric numRestarts (cached: may lag)
    restored_checkpoint_id: int | None
    restored_from_savepoint: bool | None
    restore_time_ms: int | None
    restored_path: str | None
    restored_checkpoint_trigger_ms: int | None
    replay_window_ms: int | None          # failure - restored checkpoint's trigger time
    source_records_since_restart: int | None
    source_offsets: dict[str, dict[str, int]] = field(default_factory=dict)
    replayed_estimate: int | None = None  # from an offsets sample taken before the failure
    tasks_running_since_ms: int | None = None  # newest RUNNING of the subtasks' attempts
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_replayed(offsets_before: Mapping[tuple[str, int], Mapping[str, int]]) -> int | None:
    """Approximate input records that will be processed again after a failure: per partition
    ``current + 1 - committed`` from a :meth:`FlinkRest.source_offsets` sample taken before the
    failure (committed = position of the last completed checkpoint, which is what a failover
    restores). None if no partition had both offsets."""
    total, seen = 0, False
    for o in offsets_before.values():
        cur, com = o.get("current", -1), o.get("committed", -1)
        if cur is None or com is None or cur < 0 or com < 0:
            continue
        seen = True
        total += max(0, cur + 1 - com)
    return total if seen else None


def recovery_metrics(rest: FlinkRest, job_id: str, *, failure_time_ms: int | None = None,
                     offsets_before: Mapping[tuple[str, int], Mapping[str, int]] | None = None,
                     source_name: str = "kafka-source") -> RecoveryMetrics:
    """Recovery facts for a job after a failure; see the module docstring for their meaning
    and limits. ``failure_time_ms`` (epoch ms) overrides the failure time taken from the
    exception history (e.g. the moment the harness injected a fault)."""
    notes: list[str] = []
    job = rest.job(job_id)
    ckpts = rest.checkpoints(job_id)
    try:
        excs = rest.exceptions(job_id, max_exceptions=100)
    except FlinkRestError as e:
        excs = []
        notes.append(f"exceptions unavailable: {e}")
    failure = excs[0].root_cause if excs else None
    fail_ts = failure_time_ms if failure_time_ms is not None else (
        excs[0].timestamp if excs else None)
    running_ts = job.timestamps.get("RUNNING")
    tasks_ts = _tasks_running_since(rest, job, notes)
    ref = tasks_ts or running_ts
    ttr = None
    if fail_ts and ref and job.state == "RUNNING":
        if ref >= fail_ts:
            ttr = ref - fail_ts
        else:
            notes.append("job has not re-entered RUNNING since the failure time")
    elif fail_ts is None:
        notes.append("no failure recorded for this job")

    restarts = None
    try:
        m = rest.get(f"/jobs/{job_id}/metrics", get="numRestarts")
        vals = {x.get("id"): x.get("value") for x in m or ()}
        if vals.get("numRestarts") is not None:
            restarts = int(float(vals["numRestarts"]))
    except (FlinkRestError, ValueError):
        pass

    r = ckpts.latest_restored
    trig = None
    if r:
        for c in ckpts.history:
            if c.id == r.id:
                trig = c.trigger_timestamp
        if trig is None and ckpts.latest_completed and ckpts.latest_completed.id == r.id:
            trig = ckpts.latest_completed.trigger_timestamp
        if trig is None:
            notes.append(f"restored checkpoint {r.id} is no longer in the checkpoint history "
                         "(or came from a savepoint of another job): no trigger time")
    else:
        notes.append("the job has not restored from any checkpoint/savepoint")
    window = (fail_ts - trig) if (fail_ts and trig and fail_ts >= trig) else None

    src_records = None
    offsets: dict[str, dict[str, int]] = {}
    v = job.vertex(source_name)
    if v is not None and job.state == "RUNNING":
        try:
            val = rest.vertex_metrics(job_id, v.id, ["numRecordsOut"], agg="sum").get(
                "numRecordsOut")
            if isinstance(val, dict):
                val = val.get("sum")
            if isinstance(val, (int, float)):
                src_records = int(val)
            offsets = {f"{t}-{p}": o for (t, p), o in
                       sorted(rest.source_offsets(job_id, source_name).items())}
        except FlinkRestError as e:
            notes.append(f"source metrics unavailable: {e}")
    if src_records is None:
        notes.append("source metrics not available (job not RUNNING, or the JobManager's "
                     "metric fetcher has not caught up: metrics.fetcher.update-interval)")

    return RecoveryMetrics(
        job_id=job_id, state=job.state, all_tasks_running=job.all_tasks_running,
        failure_time_ms=fail_ts, failure=failure, failures_recorded=len(excs),
        running_since_ms=running_ts,
        time_to_running_ms=ttr, restarts=restarts,
        restored_checkpoint_id=r.id if r else None,
        restored_from_savepoint=r.is_savepoint if r else None,
        restore_time_ms=r.restore_timestamp if r else None,
        restored_path=r.external_path if r else None,
        restored_checkpoint_trigger_ms=trig, replay_window_ms=window,
        source_records_since_restart=src_records, source_offsets=offsets,
        replayed_estimate=estimate_replayed(offsets_before) if offsets_before else None,
        tasks_running_since_ms=tasks_ts, notes=notes)


def _tasks_running_since(rest: FlinkRest, job, notes: list[str]) -> int | None:
    """Newest RUNNING time over every subtask's current attempt, if all of them run."""
    if not job.all_tasks_running:
        return None
    newest = 0
    try:
        for v in job.vertices:
            for sub, ts in rest.subtask_times(job.id, v.id).items():
                if ts.get("RUNNING") is None:
                    notes.append(f"subtask {sub} of {v.name} has no RUNNING time")
                    return None
                newest = max(newest, ts["RUNNING"])
    except FlinkRestError as e:
        notes.append(f"subtask times unavailable: {e}")
        return None
    return newest or None

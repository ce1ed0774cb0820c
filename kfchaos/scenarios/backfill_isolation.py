"""Backfill isolation: a consumer re-reads the whole topic at full speed while live traffic runs.

Contracts: replay isolation (live produce p99 latency during the backfill at most
`budgets.backfill_p99_ratio` x the p99 of the baseline window before it, default 2x),
durability and ordering of the live writes.
Load: the topic is preloaded with history (`replay.preload_mb`, default 96 MB, in values of
`replay.record_bytes`, default 4,000 bytes) and the live consumer group's offsets are
committed at the log end (recorded as a commit), so live consumers read only live records
and the baseline is quiet (the preload is flushed to the brokers' disks first, `sync`, so
its write-back does not land in the baseline); live producers run at 200/s; after a 15 s baseline a backfill
reader re-reads the topic from offset 0 at full speed, pass after pass, for 20 s
(client.id `backfill`; the profile's `quotas` apply, as a production platform would cap
replay clients). The link: for the whole measured load, baseline and backfill alike, every
broker's egress is bounded to `replay.link_rate` (default 40mbit; `none` for no bound) by
the `broker-bandwidth` fault (tc tbf with a `replay.link_burst_mb` bucket, default 15 MB;
recorded with its proof and its removal), as a production broker's NIC bounds what a
replay can take. Without that bound the brokers' network here is a local bridge and the
preload is served from the page cache: a replay without a quota is limited by the reader's
CPU, not by the link, and live traffic does not slow measurably. The 1 MiB/s quota of the
safe profile is a fifth of 40mbit per broker, and the bucket holds the 10 MB bursts in which
Kafka enforces it; an unthrottled replay empties the bucket and fills the link, queueing
ahead of live produce and replication (the brokers keep the OS's send buffers, see
kfchaos.platform.config, so it can). On an external target the bound is not applied (its
own network is the bound; a note says so).
The replay window is the backfill fault's window in the history and the baseline the 11 s
before it, after a 3 s warm-up (see kfchaos.checkers.isolation). Reported: the link rate,
live p99 and end-to-end lag for baseline and backfill, the backfill's read rate (records
and MB/s), and which resource saturated first during this load step (Docker stats of every
container, see kfchaos.platform.resources; samples and peaks in resources.json).
"""
import json

from kfchaos.clients import RecordingConsumer, RecordingProducer
from kfchaos.faults.base import FaultSpec
from kfchaos.platform.quotas import apply_quotas
from kfchaos.platform.resources import ResourceSampler, to_jsonable
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec, high_watermarks

from .replay_load import ReplayLoad, link_bound, link_ceilings, replay_load, settle_preload

LOAD_S = 45


def preload(run: ScenarioRun, topic: str, load: ReplayLoad) -> None:
    with RecordingProducer(run.platform.bootstrap_servers, topic, run.history, "preload",
                           config={"linger.ms": 20, "batch.num.messages": 5000},
                           record_bytes=load.record_bytes) as p:
        for i in range(load.preload_records):
            p.send(f"k{i % 64}")
            if i % 500 == 0:
                p.poll(0)


def start_live_group_at_end(run: ScenarioRun, topic: str) -> None:
    """Commit the live group's offsets at the log end, so live consumers skip the preload."""
    ends = high_watermarks(run.platform.bootstrap_servers, topic)
    c = RecordingConsumer(run.platform.bootstrap_servers, topic, run.group, run.history, "preload-commit")
    try:
        c.commit(ends)
    finally:
        c.close()


def steps(run: ScenarioRun) -> None:
    load = replay_load(run.profile.raw)
    if run.profile.quotas:
        run.measure("quotas", apply_quotas(run.platform, run.profile.quotas))
    topic = run.topic()
    preload(run, topic, load)
    start_live_group_at_end(run, topic)
    settled = settle_preload(run)
    if settled is not None:
        run.measure("preload_settle_s", settled)
    with link_bound(run, load, LOAD_S) as bound, \
            ResourceSampler(run.platform, link_ceilings(run.platform, load, bound)) as sampler:
        run.measure("replay_link_rate", load.link_rate if bound else "none")
        run.workload(topic, WorkloadSpec(duration_s=LOAD_S, rate=200),
                     faults=[FaultSpec("backfill", topic, start=15, duration=20)])
    window = run.fault_window_wall("backfill")
    load_step = sampler.summary(window_wall=window)      # the backfill window only
    (run.dir / "resources.json").write_text(json.dumps(
        {**load_step, "samples": to_jsonable(sampler.samples())}, indent=1))
    run.measure("saturated_first", load_step["saturated_first"])


SCENARIO = Scenario("backfill-isolation", __doc__, ("replay-isolation", "durability", "ordering"), steps,
                    tags=("fault",))

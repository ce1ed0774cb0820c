"""Migration rehearsal: mirror a workload's topic from platform A to platform B with
MirrorMaker 2 under recorded load and a fault, then move a consumer group and the Flink
reference job to B.

Contracts: mirroring (every record acknowledged on A is on B exactly once, in the same
partition and in per-partition order), group-cutover (the group resumes on B with no skipped
record and at most ``budgets.max_redelivery`` records delivered again), job-move (the job's
committed output on A and on B together holds every input once), and on A durability,
ordering and offset continuity of the workload itself.
Steps: the topic on A (A's profile) and its mirror ``source.<topic>`` on B (B's profile:
tiered storage, say); MirrorMaker 2 A->B with checkpoints and group offset sync every
second (``delivery``: at least once, or exactly once in transactions on B); the reference
job on A's Flink reading the topic; `LOAD_S` s of recorded load on A (two idempotent producers) while a consumer group
reads it on A; `FAULT_AT_S` s in, the broker of zone b of one side is killed (or paused) for
`FAULT_S` s (:data:`FAULTS`: ``kill:target`` by default); `MOVE_AT_S` s in, the group stops on A, waits for its translated offsets on B and reads on there, live.
After the load: heal, A's final read, B healthy, MirrorMaker caught up, the job moved to B
from a savepoint (:mod:`.jobmove`) and `AFTER_MOVE_S` s more input on A that only the moved
job reads, the group reads B to its end, B's final read.
Figures (recomputed from the history): replication lag (largest sampled, records), catch-up
after the last acknowledged write, mirrored duplicates, cut-over time (the group's stop on A
to its first records on B), the records redelivered after the cut-over, and the job move's
downtime and savepoint size.
"""
from __future__ import annotations

import logging
import threading
import time

from kfchaos import observe
from kfchaos.faults.base import FaultSpec
from kfchaos.faults.nemesis import Nemesis
from kfchaos.platform import topics
from kfchaos.platform.health import wait_healthy
from kfchaos.workload import Workload, WorkloadSpec, high_watermarks

from kfchaos.flink.pipeline import FlinkPipeline

from .cutover import GroupMove
from .jobmove import JobMove, wait_last_mirrored
from .mirror import DELIVERY, MirrorMaker, mirrored

log = logging.getLogger("chaos.migrate")
LOAD_S, RATE = 40.0, 200.0
FAULT_AT_S, FAULT_S = 8.0, 10.0
MOVE_AT_S = 14.0
CATCH_UP_TIMEOUT_S = 120.0
CONTRACTS = ("mirroring", "group-cutover", "job-move", "durability", "ordering", "offset-continuity")
AFTER_MOVE_S, AFTER_MOVE_RATE = 10.0, 100.0
#: the fault of a rehearsal, "<fault>:<side>": SIGKILL (then restart) or SIGSTOP (then SIGCONT)
#: of one side's broker of zone b
FAULTS = tuple(f"{f}:{side}" for f in ("kill", "pause") for side in ("target", "source"))
DEFAULT_FAULT = "kill:target"


class LagSampler:
    """``mirror-lag`` ops once a second: the end offsets of the topic on A and of its mirror on B."""

    def __init__(self, source, target, history, topic: str):
        self.source, self.target, self.history, self.topic = source, target, history, topic
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mirror-lag", daemon=True)
        self.last_lag: int | None = None

    def __enter__(self) -> "LagSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def sample(self) -> int | None:
        """One sample; the target is asked first, so the lag is an upper bound."""
        try:
            dst = high_watermarks(self.target.bootstrap_servers, mirrored(self.topic))
            src = high_watermarks(self.source.bootstrap_servers, self.topic)
        except Exception as exc:     # a broker down (the fault): no sample this time
            log.debug("lag sample skipped: %s", exc)
            return None
        self.history.ok(observe.PROCESS, "mirror-lag", {
            "topic": self.topic, "source_end": {str(p): o for p, o in src.items()},
            "target_end": {str(p): o for p, o in dst.items()}})
        self.last_lag = sum(max(0, o - dst.get(p, 0)) for p, o in src.items())
        return self.last_lag

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def wait_caught_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sample() == 0:
                return True
            time.sleep(0.5)
        return False


def migration_steps(target, target_profile, mirror_image: str, fault: str = DEFAULT_FAULT,
                    cutover: str = "translated", delivery: str = DELIVERY[0], job_start: str = "positions"):
    """The scenario steps, bound to the target platform (the scenario's platform is A)."""
    def steps(run) -> None:
        source = run.platform
        flink = FlinkPipeline(run)           # the reference job reads the workload's topic on A
        topic = flink.input_topic
        topics.create_topic(target, mirrored(topic), target_profile.partitions, target_profile.replication_factor,
                            target_profile.topic_config)
        run.check_options(mirror_topics={topic: mirrored(topic)})
        mm = MirrorMaker(source, target, [topic], [run.group, flink.lifecycle.job_args["group"]], mirror_image,
                         delivery)
        name, side = fault.split(":")
        nemesis = Nemesis(target if side == "target" else source, run.history, seed=run.seed)
        job = None
        try:
            flink.deploy("good")
            job = JobMove(run, flink, target, target_profile, start=job_start)
            waited = mm.start()
            log.info("MirrorMaker 2 mirrors %s to the target as %s (ready in %.1fs)", topic, mirrored(topic), waited)
            run.measure("mirror_config", mm.config)
            _rehearse(run, source, target, topic, nemesis, FaultSpec(name, target="zone:b", start=FAULT_AT_S,
                                                                    duration=FAULT_S, params={}), cutover, job,
                      mm.exactly_once)
        finally:
            if job is not None:
                job.close()
            flink.close()
            nemesis.close()
            mm.save_logs(run.dir.parent / "logs", run.platform.redact)
            mm.stop()
    return steps


def _rehearse(run, source, target, topic: str, nemesis: Nemesis, fault: FaultSpec,
              cutover: str = "translated", job: JobMove | None = None, exactly_once: bool = False) -> None:
    schedule = run.set_schedule([fault])
    move = GroupMove(source, target, run.history, run.group, topic, mirrored(topic), MOVE_AT_S,
                     run.profile.consumer, mode=cutover)
    spec = WorkloadSpec(duration_s=LOAD_S, rate=RATE, consumers=0, quiet_s=1.0)
    with LagSampler(source, target, run.history, topic) as lag:
        move.start()
        log.info("load on the source for %.0fs; %s of the %s's broker of zone b at +%.0fs; the group moves at "
                 "+%.0fs", LOAD_S, fault.fault, "target" if nemesis.platform is target else "source", FAULT_AT_S,
                 MOVE_AT_S)
        Workload(source, run.profile, run.history, topic, spec, group=run.group).run(nemesis, schedule)
        _target_health(run, target)
        caught = lag.wait_caught_up(CATCH_UP_TIMEOUT_S)
        log.info("MirrorMaker %s", "caught up" if caught else f"still {lag.last_lag} records behind")
        if exactly_once:        # commit markers make end offsets on B run ahead: wait for the last records
            wait_last_mirrored(source, target, topic, CATCH_UP_TIMEOUT_S)
        if job is not None:
            _move_job(run, source, topic, job, lag, exactly_once)
        move.finish()
    move.record()
    from kfchaos.clients import final_read, records_read
    read = final_read(target.bootstrap_servers, mirrored(topic), run.history,
                      isolation="read_committed" if exactly_once else "read_uncommitted", timeout=120)
    log.info("final read of the target: %d records", records_read(read))


def _move_job(run, source, topic: str, job: JobMove, lag: LagSampler, exactly_once: bool = False) -> None:
    """The drained cut-over of the Flink job, then more input on A that only the moved job reads."""
    try:
        job.move()
    except Exception as exc:        # recorded: the checker decides from both outputs
        log.warning("the job move failed: %s", exc)
        observe.harness_error(run.history, f"job move: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    spec = WorkloadSpec(duration_s=AFTER_MOVE_S, rate=AFTER_MOVE_RATE, consumers=0, quiet_s=1.0)
    Workload(source, run.profile, run.history, topic, spec, group=run.group, prefix="w2-").run()
    lag.wait_caught_up(CATCH_UP_TIMEOUT_S)
    if exactly_once:
        wait_last_mirrored(source, job.target, topic, CATCH_UP_TIMEOUT_S)
    job.finish()


def _target_health(run, target) -> None:
    """The target fully replicated again after the fault, as a ``cluster-health`` op."""
    run.history.invoke(observe.PROCESS, "cluster-health", {"platform": "target"})
    t0 = time.monotonic()
    try:
        wait_healthy(target, timeout=180)
    except Exception as exc:
        run.history.fail(observe.PROCESS, "cluster-health", {"platform": "target", "waited_s": round(
            time.monotonic() - t0, 2), "error": f"{type(exc).__name__}: {exc}"})
        observe.harness_error(run.history, f"target not healthy after heal: {exc}")
        return
    run.history.ok(observe.PROCESS, "cluster-health", {"platform": "target",
                                                       "waited_s": round(time.monotonic() - t0, 2)})

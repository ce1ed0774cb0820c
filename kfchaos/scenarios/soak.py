"""Soak: a long recorded workload under a periodic seeded fault schedule (kfchaos certify --soak 1h).

Contracts: durability, ordering, offset continuity, recovery.
Faults: one fault every period (default a quarter of the run, 20-60 s; --soak-period), drawn
from the random-faults menu (broker kill, SIGSTOP pause, clean restart, zone isolation,
inter-zone latency; only those that apply to the platform kind) with a seed derived from
the run's seed and the period's number (:func:`kfchaos.soak.periodic_schedule`): a short lead,
the fault, its heal and a gap before the next. The schedule is written to
<run>/soak/schedule.json before the load starts; the same seed and duration replay it, and
CHAOS_SCHEDULE=<that file> replays it exactly.
The history is rotated (<run>/soak/history.chunks/, a new chunk file every --soak-chunk,
default 10 minutes, or every million ops) so memory stays flat; `kfchaos analyze <run>` reads
the chunks in order and recomputes every verdict. A progress line is logged every 10 s.
Left out of a full certification; it runs when asked for with --soak DURATION.
Expected: every fault heals; nothing acknowledged is lost; the group never skips.
"""
import os

from kfchaos.faults import schedule
from kfchaos.history import History, live_history_name
from kfchaos.history_rotation import CHUNK_DIR, RotatingChunkWriter
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.scenarios.random_faults import MENU
from kfchaos.soak import Progress, SoakSettings, periodic_schedule
from kfchaos.workload import WorkloadSpec


def settings() -> SoakSettings:
    found = SoakSettings.from_env()
    if found is None:
        raise ValueError("no soak duration: run it with kfchaos certify --soak DURATION (e.g. --soak 1h)")
    return found


def history(directory) -> History:
    """The scenario's live history: rotated chunk files under ``history.chunks/`` (without a soak
    duration, the usual single file: the scenario then ends not applicable)."""
    s = SoakSettings.from_env()
    if s is None:
        return History(directory / live_history_name())
    return History(directory / CHUNK_DIR, writer=RotatingChunkWriter(directory / CHUNK_DIR, rotate_s=s.chunk_s,
                                                                      rotate_ops=s.chunk_ops))


def plan(run: ScenarioRun, s: SoakSettings) -> list:
    """The stored schedule named by CHAOS_SCHEDULE, or the periodic one drawn from the seed."""
    platform = run.platform
    if os.environ.get("CHAOS_SCHEDULE"):
        return schedule.load(os.environ["CHAOS_SCHEDULE"], zones=tuple(platform.zones))
    return periodic_schedule(run.seed, MENU, s.duration_s, s.period, zones=tuple(platform.zones),
                             applicable=lambda f: platform.flavor.fault_not_applicable(f) is None)


def steps(run: ScenarioRun) -> None:
    s = settings()
    run.check_options(soak_s=s.duration_s, soak_period_s=s.period, soak_chunk_s=s.chunk_s)
    topic = run.topic()
    specs = plan(run, s)
    writer = run.history.writer
    progress = Progress(s.duration_s, specs, counts=lambda: {
        "ops": len(run.history), **{k: getattr(writer, k, 0) for k in ("send_failures", "faults_started",
                                                                         "faults_healed")}}).start()
    try:
        run.workload(topic, WorkloadSpec(duration_s=s.duration_s), faults=specs)
    finally:
        progress.stop()
    run.measure("history_chunks", len(getattr(writer, "files", [])))


SCENARIO = Scenario("soak", __doc__, ("durability", "ordering", "offset-continuity", "recovery"), steps,
                    only_with=("soak",), tags=("fault",), history=history)

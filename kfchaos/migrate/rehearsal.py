"""``rehearse(profile_a, profile_b)``: a migration rehearsal from one platform to another.

Both platforms run at once on this machine, each sized down (:func:`sized`: smaller broker
heaps, one JobManager and one TaskManager) so two fit in 2 cores and 24 GiB next to other work;
they are started one after the other, each on its own Docker network and run id, and removed at the
end, after an exception, Ctrl-C or SIGTERM (MirrorMaker's container too). The rehearsal is
one scenario, ``migration`` (:mod:`kfchaos.migrate.steps`), whose history holds both
platforms' operations, so ``kfchaos analyze`` recomputes its verdicts and figures from the
run directory alone. Bad input (the same profile twice, an unknown profile, a platform kind
other than Apache Kafka) raises :class:`MigrationInputError` before anything starts.
"""
from __future__ import annotations

import copy
import logging
import random
from pathlib import Path

from kfchaos.platform import cleanup
from kfchaos.results import RunResult
from kfchaos.scenario import Scenario, run_scenario

from . import steps

log = logging.getLogger("chaos.migrate")
NAME = "migration"
KINDS = ("kafka", "kafka-tiered")        # MirrorMaker 2 and group offset sync need Apache Kafka on both sides
BROKER_HEAP = "-Xms128m -Xmx512m"


class MigrationInputError(ValueError):
    """Bad input: one line saying what is wrong and how to fix it."""


def check_pair(a, b, fault: str = steps.DEFAULT_FAULT) -> None:
    """Refuse a pair of profiles (or a fault) the rehearsal cannot run."""
    if fault not in steps.FAULTS:
        raise MigrationInputError(f"--fault {fault} is not a rehearsal fault; choose one of {', '.join(steps.FAULTS)}")
    if a.name == b.name:
        raise MigrationInputError(f"--from and --to are both {a.name}: a migration needs two different profiles, "
                                  "e.g. --from kafka-3az --to kafka-3az-tiered")
    for side, p in (("--from", a), ("--to", b)):
        if p.kind not in KINDS:
            raise MigrationInputError(f"{side} {p.name} is a {p.kind} platform: MirrorMaker 2 and group offset "
                                      f"sync need Apache Kafka ({', '.join(KINDS)}); choose such a profile")
        if p.platform.security is not None:
            raise MigrationInputError(f"{side} {p.name} uses SASL_SSL: the rehearsal's MirrorMaker has no "
                                      "credentials yet; choose a profile without platform.security")


def sized(profile):
    """A copy of ``profile`` whose platform fits twice on a 2-core, 24 GiB machine: broker heaps
    of 512 MiB and the smallest Flink cluster the moved job needs, one JobManager and one
    TaskManager with one slot, without HA (the job moves by savepoint)."""
    p = copy.deepcopy(profile)
    p.platform.kafka_heap = BROKER_HEAP
    p.platform.flink.ha = "none"
    p.platform.flink.taskmanagers = 1
    p.platform.flink.slots = 1
    return p


def scenario(target, target_profile, mirror_image: str, fault: str = steps.DEFAULT_FAULT,
             cutover: str = "translated", mirror: str = "at-least-once", job_start: str = "positions") -> Scenario:
    return Scenario(NAME, steps.__doc__, steps.CONTRACTS,
                    steps.migration_steps(target, target_profile, mirror_image, fault, cutover, mirror, job_start),
                    tags=("migration",))


def rehearse(profile_a, profile_b, seed: int | None = None, *, fault: str = steps.DEFAULT_FAULT,
             reports: Path = Path("reports"), run_dir: Path | None = None, cutover: str = "translated",
             mirror: str = "at-least-once", job_start: str = "positions") -> RunResult:
    """Start both platforms, run the migration scenario, remove everything; the RunResult
    (also in ``<run_dir>/results.json`` with report.html)."""
    from kfchaos.certify import Certification
    from kfchaos.platform.images import resolve_images
    from kfchaos.platform.platform import Platform
    from kfchaos.rundir import new_run_dir
    check_pair(profile_a, profile_b, fault)
    a, b = sized(profile_a), sized(profile_b)
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    image = resolve_images({}, ("mirror",), a.platform.versions)["mirror"]
    run_dir = Path(run_dir) if run_dir else new_run_dir(f"migrate-{a.name}-to-{b.name}", Path(reports))
    log.info("run directory %s", run_dir)
    source = Platform(a.platform, log_dir=run_dir / "logs")
    target = Platform(b.platform, log_dir=run_dir / "logs" / "target")
    command = f"kfchaos migrate --from {a.name} --to {b.name} --fault {fault} --seed {seed}" + (
        f" --cutover {cutover}" if cutover != "translated" else "") + (
        f" --mirror {mirror}" if mirror != "at-least-once" else "") + (
        f" --job-start {job_start}" if job_start != "positions" else "")
    unregister = cleanup.register(lambda: _stop_both(source, target))   # from the main thread: signals too
    try:
        _start_both(source, target)
        session = Certification(a, source, run_dir, seed, [NAME], command=command)
        session.result.platform["target"] = {"profile": b.name, "kind": b.kind, "run_id": target.run_id,
                                             "images": target.images, "mirror_image": image, "mirror": mirror}
        result = run_scenario(scenario(target, b, image, fault, cutover, mirror, job_start), source, a, run_dir,
                              seed)
        session.result.scenarios = [result]
    except KeyboardInterrupt as exc:
        if "session" not in locals():
            raise
        session.interrupted(str(exc) or "interrupted")
    finally:
        try:
            source.save_logs(run_dir / "logs")
            target.save_logs(run_dir / "logs" / "target")
        finally:
            unregister()
            _stop_both(source, target)
    return session.finish()


def _start_both(source, target) -> None:
    """One after the other: six brokers starting at once on 2 shared cores timed out here
    (controller events of 9 s, 244 s without a quorum)."""
    for what, p in (("source", source), ("target", target)):
        log.info("starting the %s platform (%s)", what, p.cfg.name)
        p.start()


def _stop_both(source, target) -> None:
    try:
        source.stop()
    finally:
        target.stop()

"""Certify a platform profile: a plain function, and the session object behind it.

``certify(profile, scenarios, seed)`` chooses the scenarios (by name, or every one that
applies to the platform kind), starts the platform, runs each scenario and returns the
``RunResult``. ``kfchaos certify`` calls it; the pytest adapter (``scenarios/test_scenarios.py``)
drives the same ``Certification`` one scenario per test, so pytest users keep fixtures,
markers and ``-k``. After every scenario ``results.json`` is rewritten, so a run stopped
half-way still says which scenarios it finished (and is ``unknown``, never ``held``). At
the end the run directory gets report.html, junit.xml and Allure results, all rendered
from the typed results.
"""
from __future__ import annotations

import logging
import random
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from kfchaos import scenarios as registry
from kfchaos.results import RunResult, ScenarioResult
from kfchaos.scenario import run_scenario

log = logging.getLogger("chaos.certify")


class Certification:
    """One certification session: a profile on a started platform, its run directory and results."""

    def __init__(self, profile, platform, run_dir: Path, seed: int, chosen: Iterable[str],
                 left_out: dict[str, str] | None = None, command: str | None = None):
        self.profile, self.platform, self.run_dir, self.seed = profile, platform, Path(run_dir), seed
        self.result = RunResult(
            profile=profile.name, chosen=list(chosen), left_out=dict(left_out or {}),
            run_id=getattr(platform, "run_id", None), kind=getattr(getattr(platform, "cfg", None), "kind", profile.kind),
            profile_description=profile.description, seed=seed, started=time.time(),
            command=command or rerun_command(profile.name, seed, None),
            platform={"images": getattr(platform, "images", {}), "bringup_seconds": getattr(platform, "timings", {}),
                      "versions": platform_versions_of(platform)})

    def run(self, name: str) -> ScenarioResult:
        scenario = registry.get(name)
        if name not in self.result.chosen:
            self.result.chosen.append(name)
        result = run_scenario(scenario, self.platform, self.profile, self.run_dir, self.seed)
        self.result.scenarios = [s for s in self.result.scenarios if s.name != name] + [result]
        self.result.write(self.run_dir)
        return result

    def interrupted(self, why: str) -> None:
        self.result.interrupted = why

    def finish(self) -> RunResult:
        """results.json, report.html, summary.md, junit.xml and allure-results/ from the typed results."""
        self.result.finished = time.time()
        self.result.write(self.run_dir)
        render_all(self.run_dir, self.result)
        return self.result


def render_all(run_dir: Path, result: RunResult) -> None:
    """Every rendering of a run, from redacted results (no secret reaches a report, JUnit or
    Allure); one that fails is logged, the raw results stay."""
    from kfchaos.redact import redact_data
    from kfchaos.report import render
    result = RunResult.from_dict(redact_data(result.to_dict()))
    from kfchaos.report.allure import write_allure
    from kfchaos.report.junit import write_junit
    from kfchaos.report.summary import write_summary
    steps = [("report.html", lambda: render.render_report(run_dir)),
             ("junit.xml", lambda: write_junit(result, run_dir / "junit.xml")),
             ("allure-results", lambda: write_allure(result, run_dir / "allure-results", run_dir=run_dir)),
             ("summary.md", lambda: write_summary(result, run_dir / "summary.md"))]
    for what, step in steps:
        try:
            step()
        except Exception as exc:
            log.warning("could not render %s: %s: %s (`kfchaos report %s` can render later)",
                        what, type(exc).__name__, exc, run_dir)


def choose(profile, names: list[str] | None, pool: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The scenarios to run and those left out with the reason; unknown names raise UnknownScenario.
    ``pool``: the scenarios a full certification chooses from (default: the shipped ones)."""
    from kfchaos.platform.flavors import flavor_for
    if names:
        for n in names:
            registry.get(n)
        return list(dict.fromkeys(names)), {}
    return registry.for_kind(flavor_for(profile.kind), profile.platform, names=pool)


def platform_versions_of(platform) -> dict[str, str]:
    """The Kafka and Flink releases a built-in platform runs (external targets: what they declare)."""
    from kfchaos.images.versions import platform_versions
    declared = getattr(platform, "versions", None)
    if isinstance(declared, dict):
        return dict(declared)
    from kfchaos.platform.platform import Platform
    if not isinstance(platform, Platform):
        return {}
    v = platform_versions(platform.cfg.versions)
    return {"kafka": v["kafka"], "flink": v["flink"]}


def platform_facts(platform) -> dict:
    """What a scenario's first op records about the platform: its kind and releases (the
    checkers name known upstream defects from it, :mod:`kfchaos.checkers.known_causes`)."""
    cfg = getattr(platform, "cfg", None)
    kind = getattr(cfg, "kind", None) or getattr(platform, "kind", None) or "external"
    versions = platform_versions_of(platform)
    if kind == "tansu":
        from kfchaos.images.versions import TANSU_VERSION
        versions = {**versions, "tansu": TANSU_VERSION}
    return {"kind": str(kind), "versions": versions}


def rerun_command(profile: str, seed: int, scenarios: list[str] | None, dirs: list[str] | None = None) -> str:
    return (f"kfchaos certify --profile {profile} --seed {seed}" + "".join(f" --scenarios {d}" for d in dirs or [])
            + "".join(f" --scenario {s}" for s in scenarios or []))


@contextmanager
def scenario_deadline(seconds: float | None) -> Iterator[None]:
    """SIGALRM after ``seconds`` (none: no deadline): the harness's signal handler turns it
    into the same interruption as Ctrl-C, so the scenario heals and the run ends unknown."""
    if not seconds:
        yield
        return
    from kfchaos.platform import cleanup
    cleanup.install_signal(signal.SIGALRM)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def certify(profile, scenarios: list[str] | None = None, seed: int | None = None, *,
            reports: Path = Path("reports"), run_dir: Path | None = None, command: str | None = None,
            pool: list[str] | None = None, platform_factory=None, timeout: float | None = None) -> RunResult:
    """Certify ``profile`` (a loaded Profile): start its platform, run the scenarios, stop it.

    Returns the RunResult (also in ``<run_dir>/results.json``). Raises on errors that are not
    verdicts (bad input, an image that cannot be built, a platform that cannot start); an
    interruption (Ctrl-C, SIGTERM) ends the run with the scenarios finished so far, the
    platform removed and every fault healed, and the result marked interrupted. A scenario
    that runs longer than ``timeout`` seconds ends the run the same way (SIGALRM), naming it."""
    from kfchaos.platform.images import resolve_images
    from kfchaos.platform.platform import Platform
    from kfchaos.rundir import new_run_dir
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    if platform_factory is None:
        chosen, left_out = choose(profile, scenarios, pool)
        resolve_images(profile.platform.images, versions=profile.platform.versions)
    run_dir = Path(run_dir) if run_dir else new_run_dir(profile.name, Path(reports))
    log.info("run directory %s", run_dir)
    if platform_factory is None:
        platform = Platform(profile.platform, log_dir=run_dir / "logs")
    else:
        platform = platform_factory(run_dir)
        chosen, left_out = (choose(profile, scenarios, pool) if scenarios else
                            registry.for_kind(platform.flavor, platform.cfg, names=pool))
    for name, reason in left_out.items():
        log.info("%s left out: %s", name, reason)
    log.info("profile %s (%s), seed %s, %d scenarios", profile.name, getattr(platform.cfg, "kind", profile.kind),
             seed, len(chosen))
    session = None
    try:
        platform.start()
        session = Certification(profile, platform, run_dir, seed, chosen, left_out,
                                command or rerun_command(profile.name, seed, scenarios))
        from kfchaos.report.summary import eta_text
        t_first = time.monotonic()
        for i, name in enumerate(chosen, 1):
            eta = eta_text(i - 1, len(chosen), time.monotonic() - t_first)
            log.info("scenario %d/%d: %s%s", i, len(chosen), name, f" ({eta})" if eta else "")
            with scenario_deadline(timeout):
                session.run(name)
    except KeyboardInterrupt as exc:
        if session is None:
            raise
        why = (f"scenario {name} ran past --timeout {timeout:g} s" if getattr(exc, "signum", None) == signal.SIGALRM
               else str(exc) or "interrupted")
        session.interrupted(why)
        log.warning("interrupted: %s; healing and cleaning up", why)
    finally:
        try:
            platform.save_logs(run_dir / "logs")
        finally:
            platform.stop()
    return session.finish()

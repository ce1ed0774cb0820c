"""What a scenario's result means to a CI dashboard (JUnit, Allure).

:func:`outcomes` maps a :class:`kfchaos.results.RunResult` to one :class:`Outcome` per
chosen scenario, in the run's order, then the chosen scenarios without a result:

=====================================  ============  ==========
scenario                               ``kind``      Allure
=====================================  ============  ==========
a contract violated                    ``failure``   ``failed``
figure ``not_applicable`` set          ``skipped``   ``skipped``
status ``error``                       ``error``     ``broken``
status ``unknown`` (or anything else)  ``error``     ``broken``
no result (the run ended before it)    ``error``     ``broken``
every contract held                    ``passed``    ``passed``
=====================================  ============  ==========

Unknown is reported as an error, never as a pass or a skip, so that a dashboard does
not count an undecided scenario as green.  ``message`` is one line; ``detail`` is the
scenario's contract summary (:meth:`ScenarioResult.summary`).
"""
from __future__ import annotations

from dataclasses import dataclass

from kfchaos.results import RunResult, ScenarioResult

from .source import one_line

__all__ = ["Outcome", "outcomes", "outcome"]

ALLURE = {"passed": "passed", "failure": "failed", "error": "broken", "skipped": "skipped"}


@dataclass(frozen=True)
class Outcome:
    name: str
    kind: str                    # passed | failure | error | skipped
    message: str = ""
    detail: str = ""
    scenario: ScenarioResult | None = None

    @property
    def allure_status(self) -> str:
        return ALLURE[self.kind]


def _not_held(sc: ScenarioResult, verdict: str) -> list[str]:
    return [c.contract for c in sc.contracts if c.verdict == verdict]


def _summary(sc: ScenarioResult) -> str:
    try:
        return sc.summary()
    except (TypeError, AttributeError, ValueError):     # odd anomaly values: plainer text
        return "\n".join([f"{sc.name}: {sc.status}"] + [f"  {c.contract}: {c.verdict} - {c.reason}"
                                                       for c in sc.contracts if c.verdict != "held"])


def outcome(sc: ScenarioResult) -> Outcome:
    """The outcome of one scenario that has a result."""
    detail = _summary(sc)
    if sc.status == "violated" or _not_held(sc, "violated"):
        return Outcome(sc.name, "failure", one_line("violated: " + ", ".join(_not_held(sc, "violated"))),
                       detail, sc)
    na = sc.figures.get("not_applicable")
    if na:
        return Outcome(sc.name, "skipped", one_line(f"not applicable: {na}"), detail, sc)
    if sc.status == "error":
        return Outcome(sc.name, "error", one_line(f"error: {sc.error or '?'}"), detail, sc)
    if sc.status != "held":
        unknown = ", ".join(_not_held(sc, "unknown")) or "no verdict"
        return Outcome(sc.name, "error", one_line(f"{sc.status}: {unknown}"), detail, sc)
    return Outcome(sc.name, "passed", "", detail, sc)


def outcomes(run: RunResult) -> list[Outcome]:
    """One outcome per scenario of ``run``, then one per chosen scenario without a result."""
    out = [outcome(sc) for sc in run.scenarios]
    why = f"interrupted: {run.interrupted}" if run.interrupted else "the run ended before it finished"
    out += [Outcome(name, "error", one_line(f"no result: {why}")) for name in run.missing]
    return out

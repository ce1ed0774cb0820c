"""The pytest adapter of the scenario registry: one test per scenario, named as the scenario.

``pytest scenarios -k kill-leader --chaos-profile kafka-3az --chaos-seed 7`` runs what
``chaos certify --profile kafka-3az --seed 7 --scenario kill-leader`` runs, through the same
``Certification``; the session writes the same run directory. A scenario that does not
apply to the platform kind is skipped with the reason (its result says unknown); one that
does not hold fails with its contracts' reasons and examples.
"""
import pytest

from kfchaos.scenarios import REGISTRY


def _param(name: str, scenario) -> pytest.param:
    marks = [pytest.mark.scenario, pytest.mark.platform] + [getattr(pytest.mark, t) for t in scenario.tags]
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [_param(n, s) for n, s in REGISTRY.items()])
def test_scenario(name, certification):
    result = certification.run(name)
    if result.figures.get("not_applicable"):
        pytest.skip(f"not applicable: {result.figures['not_applicable']}")
    if result.status != "held":
        pytest.fail(result.summary(), pytrace=False)

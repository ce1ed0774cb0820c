"""The load ramp on the real platform: steps of rate and consumer fan-out, per-step
figures from the history, the resource that saturated first, and the budget's limit."""
import pytest

from kfchaos.analyze import analyze_scenario
from kfchaos.ramp import limit_of

pytestmark = pytest.mark.platform


def test_load_ramp_reports_every_step_it_ran_and_where_the_budget_broke(certification, run_dir):
    result = certification.run("load-ramp")
    assert result.status == "held", result.summary()
    steps = result.figures["ramp_steps"]
    assert 1 <= len(steps) <= 3
    assert [(s["rate"], s["consumers"]) for s in steps] == [(100, 1), (300, 2), (600, 3)][:len(steps)]
    for s in steps:
        assert s["ok_per_s"] > 0 and s["p99_ms"] is not None and s["lag_p99_ms"] is not None, s
        assert s["saturated_first"].startswith(("cpu of", "memory of", "none (highest")), s
    # the ramp stops at the first step over budget; the limit names it, or the last step
    over = [s for s in steps if not s["within_budget"]]
    assert over == steps[-1:] if over else len(steps) == 3
    assert result.figures["ramp_limit"] == limit_of(steps)
    # recomputed from the stored history alone: the same figures
    again, _ = analyze_scenario(run_dir / "load-ramp")
    assert again.figures["ramp_steps"] == steps

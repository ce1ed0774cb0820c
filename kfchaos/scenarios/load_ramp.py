"""Load ramp: producer rate and consumer fan-out raised in steps until a budget breaks.

Contracts: durability, ordering and offset continuity of every step's writes.
Load: steps of (sends per second, consumers of one group), each `STEP_S` seconds of
recorded load on the same topic after a `WARMUP_S` warm-up (producer ids, the group
joining) that the figures leave out; the default steps are 100/s with 1 consumer, 300/s with
2, 600/s with 3, and the profile's `budgets.ramp_p99_ms` (produce latency p99, default
500 ms) and `budgets.ramp_lag_p99_ms` (send-to-poll lag p99, default 2000 ms) decide
which step is the last within budget. The ramp stops after the first step over budget.
Reported (kfchaos.ramp, recomputed from the history): per step the acknowledged
sends/s, produce p99, consume-lag p99 and which resource saturated first (Docker stats of
every container and of the host, kfchaos.platform.resources), and the budget's limit.
"""
import time

from kfchaos import observe
from kfchaos.checkers import HistoryIndex
from kfchaos.history import history_file
from kfchaos.platform.resources import ResourceSampler
from kfchaos.ramp import RAMP_STEP_F, step_figures
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec

STEPS = ((100, 1), (300, 2), (600, 3))
STEP_S = 15.0
WARMUP_S = 5.0      # producers fetch their ids and the group forms before the measured window


def steps(run: ScenarioRun) -> None:
    budgets = run.profile.budgets
    p99, lag = budgets.get("ramp_p99_ms", 500.0), budgets.get("ramp_lag_p99_ms", 2000.0)
    run.check_options(ramp_p99_ms=p99, ramp_lag_p99_ms=lag)
    topic = run.topic()
    for k, (rate, consumers) in enumerate(STEPS, 1):
        with ResourceSampler(run.platform) as sampler:
            t0, wall0 = time.monotonic_ns() + int(WARMUP_S * 1e9), time.time() + WARMUP_S
            run.workload(topic, WorkloadSpec(duration_s=WARMUP_S + STEP_S, rate=rate, consumers=consumers,
                                             quiet_s=1.0))
        saturated = sampler.summary(window_wall=(wall0, wall0 + STEP_S))["saturated_first"]
        op = run.history.ok(observe.PROCESS, RAMP_STEP_F, {
            "step": k, "rate": rate, "consumers": consumers, "start": t0, "end": t0 + int(STEP_S * 1e9),
            "saturated_first": saturated})
        run.history.flush()
        if not step_figures(HistoryIndex.from_path(history_file(run.dir)), op, p99, lag)["within_budget"]:
            break


SCENARIO = Scenario("load-ramp", __doc__, ("durability", "ordering", "offset-continuity"), steps,
                    tags=("load",))

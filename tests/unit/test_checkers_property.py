"""Property-based tests: valid generated histories raise no anomaly, and each
injected anomaly is found by the right checker with the right type."""
import copy

from hypothesis import HealthCheck, event, given, settings, strategies as st

from kfchaos.checkers import check_all
from kfchaos.checkers import inject
from kfchaos.checkers.synth import generate

from .synth_params import synth_params

params = synth_params()
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def gen(p):
    p = dict(p)
    return generate(p.pop("seed"), p.pop("n_ops"), **p)


@SETTINGS
@given(params)
def test_valid_histories_have_no_anomalies(p):
    sim = gen(p)
    verdicts = check_all(sim.ops)
    for name, v in verdicts.items():
        assert v.valid == "valid", (name, v.counts(), v.reason)
        assert not v.counts(), (name, v.counts())
    assert ("exactly-once" in verdicts) == p["flink"]


@SETTINGS
@given(params)
def test_checkers_agree_on_stats(p):
    sim = gen(p)
    v = check_all(sim.ops)
    acked = v["lost"].stats["acked"]
    assert acked == v["ordering"].stats["acked-writes-checked"]
    fr = [o for o in sim.ops if o["f"] == "final-read" and o["value"]["topic"] == "t"][-1]
    assert v["lost"].stats["final-read-records"] == len(fr["value"]["records"])


CASES = [
    ("lost", lambda ops, r: inject.inject_lost(ops, rng=r), "lost", "lost"),
    ("duplicate", lambda ops, r: inject.inject_duplicate(ops, rng=r), "duplicate", "duplicate"),
    ("swap", lambda ops, r: inject.inject_swap(ops, rng=r), "ordering", "reordered"),
    ("skip", lambda ops, r: inject.inject_skip(ops, rng=r), "group", "skipped-range"),
    ("flink-dup", lambda ops, r: inject.inject_output_duplicate(ops, rng=r),
     "exactly-once", "duplicate-output"),
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params, st.sampled_from(CASES), st.integers(0, 1000))
def test_injected_anomaly_is_found(p, case, r):
    _, fn, checker, kind = case
    if checker == "exactly-once":
        p = dict(p, flink=True)
    if checker == "group":
        p = dict(p, consumers=max(2, p["consumers"]), n_ops=max(600, p["n_ops"]))
    sim = gen(p)
    ops = copy.deepcopy(sim.ops)
    what = fn(ops, r)
    event(f"{case[0]}: {'injected' if what is not None else 'no spot'}")
    if what is None:       # no suitable spot in this (small) history
        return
    v = check_all(ops)[checker]
    assert v.valid == "invalid", (what, v.counts())
    assert v.counts().get(kind, 0) >= 1, (what, v.counts())
    # no other checker invents an anomaly type unrelated to the injection
    allowed = {"lost": {"offset-gap", "unseen"}, "duplicate": {"duplicate"},
               "reordered": set(), "skipped-range": {"unseen"},
               "duplicate-output": {"duplicate", "count-repeat"}}[kind] | {kind}
    others = {k for vv in check_all(ops).values() for k in vv.counts()}
    assert others <= allowed, (others, allowed)


def test_larger_generated_histories_are_valid():
    for seed in range(6):
        sim = generate(seed, 6000, producers=3, keys=12, partitions=4, consumers=3,
                       txn=seed % 2 == 0, faults=3, flink=seed % 3 == 0, poll_size=30)
        for name, v in check_all(sim.ops).items():
            assert v.valid == "valid" and not v.counts(), (seed, name, v.counts())

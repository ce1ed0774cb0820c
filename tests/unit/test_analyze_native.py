"""``analyze_scenario`` on the compiled core: one scan, the scenario's facts from the light
index of its small ops, the verdicts decided there; the result is the Python path's to the
last figure, and whatever the core cannot decide is analysed in Python."""
import json

import pytest

from kfchaos import analyze, observe
from kfchaos.checkers import HistoryIndex, native
from kfchaos.checkers.inject import inject_lost
from kfchaos.checkers.synth import generate
from kfchaos.history_chunks import pack_jsonl
from kfchaos.history import History

CONTRACTS = ("durability", "ordering", "offset-continuity", "recovery")


class Clock:
    """A run's monotonic clock around the simulated ops: the harness's own ops before and
    after them, so op times never decrease, as a real run writes them."""

    def __init__(self, t: int):
        self.t = t

    def __call__(self):
        self.t += 1000
        return self.t, 1_795_000_000 + self.t / 1e9


def write_scenario(run, name, ops, contracts=CONTRACTS, extra=()):
    d = run / name
    d.mkdir(parents=True)
    clock = Clock(ops[0]["time"] - 10_000_000 if ops else 0)
    h = History(d / "history.jsonl", clock=clock)
    observe.scenario_started(h, name=name, title=f"{name} title", description="doc", contracts=contracts, seed=7)
    observe.check_options(h, recovery_budget_s=60, max_redelivery=None)
    for op in ops:
        h.append({k: v for k, v in op.items() if k != "index"})
    clock.t = max([clock.t] + [op["time"] for op in ops])
    for f in extra:
        f(h)
    observe.scenario_ended(h)
    h.close()
    return d


def test_the_core_is_built():
    assert native.available(), "kfchaos._native is not built: run scripts/setup.sh"


def notes(h):
    observe.note(h, "recovery", "a note the report shows")
    observe.measure(h, "records_replayed", 3)


def result_of(d, monkeypatch, switch):
    monkeypatch.setenv("KFCHAOS_NATIVE", switch)
    result, verdicts = analyze.analyze_scenario(d)
    return json.loads(json.dumps(result.to_dict(), default=str)), {k: v.to_dict() for k, v in verdicts.items()}


def python_forbidden(monkeypatch):
    """Fail if the Python index is built: the core must decide."""
    def refuse(*a, **k):
        raise AssertionError("the Python index was built")
    monkeypatch.setattr(HistoryIndex, "from_path", classmethod(refuse))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("fmt", ["jsonl", "kfh"])
def test_the_core_decides_clean_histories_and_gives_the_python_result(seed, fmt, tmp_path, monkeypatch):
    sim = generate(seed, 800, txn=False, faults=seed % 4)
    d = write_scenario(tmp_path, f"s{seed}", sim.ops, extra=[notes])
    if fmt == "kfh":
        pack_jsonl(d / "history.jsonl", d / "history.kfh")
        (d / "history.jsonl").unlink()
    want = result_of(d, monkeypatch, "0")
    with monkeypatch.context() as m:
        python_forbidden(m)
        got = result_of(d, m, "1")
    assert got == want
    assert want[0]["contracts"] and want[1]["windows"] and want[1]["recovery"]


@pytest.mark.parametrize("seed", range(4))
def test_what_the_core_hands_over_is_analysed_in_python_alike(seed, tmp_path, monkeypatch):
    """A lost write (examples), transactions, and a Flink job's exactly-once all go to the
    Python index; the result is the same either way."""
    lossy = generate(seed, 600, txn=False, faults=1)
    inject_lost(lossy.ops, rng=seed)
    cases = {"lost": (lossy.ops, ("durability", "ordering", "offset-continuity", "recovery")),
             "txn": (generate(seed, 600, txn=True, faults=1).ops, ("durability", "recovery")),
             "flink": (generate(seed, 600, txn=False, flink=True).ops, ("exactly-once", "recovery"))}
    for name, (ops, contracts) in cases.items():
        d = write_scenario(tmp_path / str(seed), name, ops, contracts=contracts)
        assert result_of(d, monkeypatch, "1") == result_of(d, monkeypatch, "0"), name
        if native.available():
            prepared = native.prepare(d / "history.jsonl")
            facts, names = analyze.facts_and_checkers(prepared.index, name, {}, d) if prepared else (None, None)
            assert prepared is None or native.decide_prepared(prepared, names, facts.options) is None, name


def test_a_scenario_that_raised_is_analysed_on_the_core(tmp_path, monkeypatch):
    d = write_scenario(tmp_path, "err", generate(9, 300, txn=False).ops,
                       extra=[lambda h: observe.scenario_error(h, "RuntimeError: boom")])
    want = result_of(d, monkeypatch, "0")
    with monkeypatch.context() as m:
        python_forbidden(m)
        assert result_of(d, m, "1") == want
    assert want[0]["status"] == "error"


def test_a_core_that_raises_leaves_the_result_to_python(tmp_path, monkeypatch):
    d = write_scenario(tmp_path, "s", generate(4, 400, txn=False, faults=1).ops)
    want = result_of(d, monkeypatch, "0")

    def broken(*a, **k):
        raise RuntimeError("a core bug")
    for step in ("prepare", "decide_prepared"):
        with monkeypatch.context() as m:
            m.setattr(native, step, broken)
            assert result_of(d, m, "1") == want, step

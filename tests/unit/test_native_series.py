"""`windows` and `recovery` on the compiled core (kfchaos.checkers.native_series): the same
verdicts as the Python checkers on the equivalence corpus, on hypothesis-generated
histories and on hand-written ones (fault windows open and closed, checkpoints,
cluster-health and job-recovery ops, several topics, acks out of invoke order, latencies
beyond 2^32 ns, an output topic polled without records); the core decides the clean cases
and hands over the ones it cannot tell exactly (op times that decrease, examples that need
the full index's wall clock).  The core's series answers every interval as windows.Series."""
import copy
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kfchaos.checkers import check_all, check_path, native
from kfchaos.checkers.index import HistoryIndex
from kfchaos.checkers.native_series import LightIndex
from kfchaos.checkers.synth import Builder, generate
from kfchaos.checkers.windows import Series, series_of

from .synth_params import synth_params
from .test_checkers_fastpaths import damaged
from .test_native import has_txn, write
from .test_checkers_windows import slow_sends_in_a_fault

NAMES = (["windows"], ["recovery"], ["windows", "recovery"],
         ["lost", "duplicate", "ordering", "offsets", "group", "windows", "recovery"])
OPTS = ({}, {"recovery_budget_s": 0.001}, {"recovery_budget_s": 30.0, "baseline_s": 0.05},
        {"output_topic": "t"}, {"output_topic": "out", "recovery_budget_s": 5.0},
        {"output_topic": "nope"}, {"latency_ratio_budget": 1000.0, "baseline_s": 1.0},
        {"latency_ratio_budget": 1.01})


@pytest.fixture(autouse=True)
def _native_on(monkeypatch):
    monkeypatch.delenv("KFCHAOS_NATIVE", raising=False)


def compare(path, names, opts):
    """True if the core decided (its verdicts equal to Python's); check_path's are Python's
    either way, and equal to what KFCHAOS_NATIVE=0 gives."""
    ref = {n: v.to_dict() for n, v in
           check_all(HistoryIndex.from_path(path), checkers=names, **opts).items()}
    got = native.check_path(path, names, opts)
    if got is not None:
        assert {n: v.to_dict() for n, v in got.items()} == ref
    assert {n: v.to_dict() for n, v in check_path(path, checkers=names, **opts).items()} == ref
    return got is not None


def _needs_walls(path, names, opts):
    """The Python verdicts hold an example whose wall clock the light index lacks."""
    vs = check_all(HistoryIndex.from_path(path), checkers=names, **opts)
    return any(k == "latency-budget-exceeded" for v in vs.values() for k in v.anomalies)


@pytest.mark.parametrize("seed", range(0, 24, 2))
def test_equivalence_corpus(seed, tmp_path):
    ops = damaged(seed)
    for fmt in ("jsonl", "kfh", "dir"):
        path = write(tmp_path, f"h{seed}", ops, fmt)
        for names in NAMES:
            for opts in OPTS:
                decided = compare(path, names, opts)
                if seed % 4 == 0 and not has_txn(ops) and names[0] != "lost":
                    assert decided or _needs_walls(path, names, opts), (fmt, names, opts)


def test_clean_histories_are_decided_natively(tmp_path):
    for seed in range(6):
        sim = generate(seed, 700, producers=1 + seed % 3, partitions=1 + seed % 4,
                       consumers=seed % 3, txn=False, flink=seed % 2 == 1, faults=1 + seed % 3,
                       unknown_rate=0.1)
        for fmt in ("jsonl", "kfh"):
            path = write(tmp_path, f"c{seed}", sim.ops, fmt)
            for opts in OPTS[:6]:
                assert compare(path, ["windows", "recovery"], opts), (seed, fmt, opts)


params = synth_params(n_ops=(100, 900), flink=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(p=params, fmt=st.sampled_from(["jsonl", "kfh", "dir"]), names=st.sampled_from(NAMES),
       opts=st.sampled_from(OPTS))
def test_generated_histories(tmp_path, p, fmt, names, opts):
    p = dict(p)
    ops = copy.deepcopy(generate(p.pop("seed"), p.pop("n_ops"), **p).ops)
    path = write(Path(tempfile.mkdtemp(dir=tmp_path)), "g", ops, fmt)
    decided = compare(path, names, opts)
    if not p["txn"] and names[0] != "lost":
        assert decided or _needs_walls(path, names, opts)


def _ops(b, *ops):
    for op in ops:
        b.op(*op)


def faulted(stop=True, stop_wall=True, recover_ms=40):
    """Two topics, acks out of invoke order, a latency beyond 2^32 ns, checkpoints, a
    cluster-health and two job-recovery ops, fault f1 closed (without a wall on its stop
    when not ``stop_wall``), f2 open unless ``stop``, the output topic polled empty before
    it returns records."""
    b = Builder(step_ms=1)
    for i in range(30):
        b.send(f"a{i}", seq=i, o=i, topic="t" if i % 3 else "u")
    b.poll([(0, 1, "a1"), (0, 2, "a2")], topic="t").poll([(0, 0, "a0")], topic="u")
    _ops(b, ("flink", "invoke", "checkpoint", {"id": 1}), ("flink", "ok", "checkpoint", {"id": 1}))
    for i in range(4):                           # invoked in order, acked in reverse
        b.op("producer-1", "invoke", "send", {"topic": "t", "key": "k", "id": f"r{i}", "seq": i})
    for i in reversed(range(4)):
        b.sleep(3 * i)
        b.op("producer-1", "ok", "send", {"topic": "t", "key": "k", "id": f"r{i}", "seq": i,
                                           "partition": 1, "offset": i})
    b.fault("f1", "kill")
    b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": "slow", "seq": 99})
    b.op("producer-0", "invoke", "send", {"topic": "t", "key": "k", "id": "never", "seq": 100})
    b.sleep(5000)                                # 5 s: beyond a u32 of ns
    b.fault("f1", "kill", stop=True)
    if not stop_wall:
        b.ops[-1]["wall"] = None
    b.sleep(recover_ms)
    b.op("producer-0", "ok", "send", {"topic": "t", "key": "k", "id": "slow", "seq": 99,
                                       "partition": 0, "offset": 50})
    b.poll([], topic="out").sleep(10).poll([(0, 0, {"key": "x", "count": 1})], topic="out")
    _ops(b, ("flink", "invoke", "checkpoint", {"id": 2}), ("flink", "ok", "checkpoint", {"id": 2}),
         ("harness", "invoke", "cluster-health", {}), ("harness", "ok", "cluster-health", {"waited_s": 2.5}),
         ("harness", "ok", "job-recovery", {"job_id": "j", "state": "RUNNING", "time_to_running_s": 4.0}),
         ("harness", "ok", "job-recovery", {"job_id": "k", "state": "FAILED", "time_to_running_s": None}))
    b.fault("f2", "pause")
    for i in range(10):
        b.send(f"c{i}", seq=i, o=40 + i, topic="t", process="producer-2")
    if stop:
        b.fault("f2", "pause", stop=True)
    b.send("last", seq=11, o=60, process="producer-2")
    return b


@pytest.mark.parametrize("stop", [True, False])
@pytest.mark.parametrize("opts", OPTS[:6] + ({"recovery_budget_s": 0.01, "output_topic": "out"},))
def test_hand_written_faults_checkpoints_and_health(tmp_path, stop, opts):
    path = write(tmp_path, "f", faulted(stop=stop).ops, "kfh", frame=7)
    assert compare(path, ["windows", "recovery"], opts)
    v = native.check_path(path, ["windows", "recovery"], opts)
    w = v["windows"].stats["windows"][0]
    assert w["checkpoint_resume_s"] is not None and w["after"]["latency_ms"]["max"] > 5000
    assert v["recovery"].stats["cluster_healthy_after_heal_s"] == 2.5
    assert "job-not-running" in v["recovery"].anomalies
    if opts.get("output_topic") == "out":
        assert w["output_resume_s"] is not None


def test_hand_overs(tmp_path):
    # a slow recovery of a fault whose stop has no wall: its example's wall is the index's
    path = write(tmp_path, "nowall", faulted(stop_wall=False, recover_ms=2000).ops, "jsonl")
    assert not compare(path, ["recovery"], {"recovery_budget_s": 1.0})
    assert compare(path, ["recovery"], {})              # no example: decided
    with_wall = write(tmp_path, "wall", faulted(recover_ms=2000).ops, "jsonl")
    assert compare(with_wall, ["recovery"], {"recovery_budget_s": 1.0})
    # latency-budget-exceeded: its example's wall is the index's
    b = slow_sends_in_a_fault(Builder(step_ms=1), "delay", range(20, 30), "a", 50)
    path = write(tmp_path, "slow", b.ops, "jsonl")
    assert compare(path, ["windows"], {"latency_ratio_budget": 100.0})
    assert not compare(path, ["windows"], {"latency_ratio_budget": 2.0})
    assert check_path(path, checkers=["windows"], latency_ratio_budget=2.0)["windows"].anomalies
    # an op time that decreases
    ops = faulted().ops
    ops[40]["time"] = ops[39]["time"] - 1
    path = write(tmp_path, "back", ops, "jsonl")
    assert native.scan(path)["monotone"] is False
    assert not compare(path, ["windows", "recovery"], {})
    assert compare(path, ["lost", "duplicate"], {})     # the other checkers do not mind


def test_the_light_index(tmp_path):
    ops = faulted().ops
    path = write(tmp_path, "f", ops, "jsonl")
    verdicts, idx = native.check_with_index(path, ["lost", "windows"], {})
    full = HistoryIndex.from_path(path)
    assert isinstance(idx, LightIndex) and set(verdicts) == {"lost", "windows"}
    assert (idx.start_time, idx.end_time, idx.end_wall, len(idx)) == \
        (full.start_time, full.end_time, full.end_wall, len(full))
    assert [w.to_dict() for w in idx.fault_windows] == [w.to_dict() for w in full.fault_windows]
    assert idx.get("job-recovery") == full.get("job-recovery")
    assert idx.checkpoint_times == full.checkpoint_times
    assert native.check_with_index(path, ["lost", "exactly-once"], {}) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 50), bounds=st.lists(st.one_of(
    st.integers(-5, 10**13), st.integers(999_990_000_000, 1_000_900_000_000),
    st.floats(999_990_000_000, 1_000_900_000_000), st.just(2 ** 70)), min_size=2, max_size=2))
def test_the_core_series_answers_every_interval_as_python(tmp_path, seed, bounds):
    sim = generate(seed, 500, producers=2, partitions=2, consumers=2, txn=False, flink=seed % 2 == 0,
                   faults=1)
    path = write(Path(tempfile.mkdtemp(dir=tmp_path)), "s", sim.ops, "kfh")
    _, idx = native.check_with_index(path, [], {})
    got, want = series_of(idx), Series(HistoryIndex.from_path(path))
    t0, t1 = bounds
    assert got.phase(t0, t1) == want.phase(t0, t1)
    for t in bounds:
        assert got.first_send_after(t) == want.first_send_after(t)
        assert got.first_poll_after(t) == want.first_poll_after(t)
        assert got.first_checkpoint_after(t) == want.first_checkpoint_after(t)
        assert got.invoked_after(t) == want.invoked_after(t)
        for topic in ("t", "out", "nope", 3):
            assert got.first_topic_poll_after(topic, t) == want.first_topic_poll_after(topic, t)
    assert got.polled_topics() == want.polled_topics()
    rng = random.Random(seed)
    for _ in range(5):
        a = rng.randrange(idx.start_time - 10, idx.end_time + 10)
        b = rng.randrange(a - 5, idx.end_time + 10)
        assert got.phase(a, b) == want.phase(a, b)

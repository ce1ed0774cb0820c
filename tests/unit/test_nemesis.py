"""The nemesis's scheduling and healing logic, with a real in-memory History and a tiny
fault that only records what the nemesis asks of it (no platform is touched)."""
from __future__ import annotations

import threading
import time

import pytest

from kfchaos.faults import registry
from kfchaos.faults.base import Fault, FaultError, FaultSpec
from kfchaos.faults.nemesis import Nemesis, NemesisClosed
from kfchaos.faults.package import FaultPackage
from kfchaos.history import History


class Probe(Fault):
    """Records start/stop/teardown with the time; params: start_s, stop_s (seconds taken),
    fail_start (raise after taking effect)."""
    name = "probe"
    default_target = "x"
    calls: list[tuple[str, str, float]] = []
    lock = threading.Lock()

    def _note(self, verb: str) -> None:
        with self.lock:
            self.calls.append((verb, self.spec.target, time.monotonic()))

    def start(self):
        time.sleep(self.params.get("start_s", 0))
        self._note("start")
        if self.params.get("fail_start"):
            raise FaultError("boom")
        return {"target": self.spec.target, "detail": "probing", "proof": {}}

    def stop(self):
        time.sleep(self.params.get("stop_s", 0))
        self._note("stop")
        return {"detail": "healed", "proof": {}}

    def teardown(self):
        self._note("teardown")
        super().teardown()


@pytest.fixture
def probe(monkeypatch):
    Probe.calls = []
    monkeypatch.setitem(registry.PACKAGES, "probe", FaultPackage(Probe, ("{topic}",)))
    return Probe


@pytest.fixture
def history():
    h = History()
    yield h
    h.close()


@pytest.fixture
def nemesis(history):
    n = Nemesis(None, history, seed=1)
    yield n
    n.close()


def times(verb: str, target: str) -> list[float]:
    return [t for v, tg, t in Probe.calls if v == verb and tg == target]


def spec(target: str, start: float, duration: float, **params) -> FaultSpec:
    return FaultSpec("probe", target, start, duration, params)


def test_overlapping_faults_are_active_together(probe, nemesis, history):
    schedule = [spec("a", 0.05, 1.0), spec("b", 0.3, 1.0), spec("c", 1.5, 0.1)]
    t0 = time.monotonic()
    assert nemesis.run_schedule(schedule, t0, threading.Event()) == []
    (a_start,), (a_stop,) = times("start", "a"), times("stop", "a")
    (b_start,), (b_stop,) = times("start", "b"), times("stop", "b")
    assert a_start < b_start < a_stop < b_stop, "b must start while a is still active"
    assert b_start - t0 == pytest.approx(0.3, abs=0.25), "b starts on its own timer, not after a"
    assert times("start", "c")[0] - t0 == pytest.approx(1.5, abs=0.25)
    ops = [(op["f"], op["type"], op["value"]["fault_id"]) for op in history.ops]
    assert len(ops) == 12 and {fid for _, _, fid in ops} == {"probe-1", "probe-2", "probe-3"}
    assert nemesis.active == {}


def test_a_slow_fault_does_not_delay_one_that_overlaps_it(probe, nemesis):
    schedule = [spec("slow", 0.0, 0.3, start_s=0.6), spec("next", 0.1, 0.1)]
    t0 = time.monotonic()
    assert nemesis.run_schedule(schedule, t0, threading.Event()) == []
    assert times("start", "next")[0] < times("start", "slow")[0]


def test_stop_event_skips_pending_faults_and_heals_active_ones(probe, nemesis):
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    errors = nemesis.run_schedule([spec("early", 0.0, 30.0), spec("late", 5.0, 1.0)], t0, stop)
    assert errors == [] and time.monotonic() - t0 < 3
    assert times("stop", "early") and not times("start", "late")


def test_errors_are_returned_in_schedule_order_and_failed_starts_healed_by_heal_all(probe, nemesis, history):
    schedule = [spec("ok", 0.0, 0.2), spec("bad", 0.05, 0.1, fail_start=True)]
    errors = nemesis.run_schedule(schedule, time.monotonic(), threading.Event())
    assert errors == ["fault probe(bad): boom"]
    assert "probe-2" in nemesis.active                # it may have partly taken effect
    nemesis.heal_all()
    assert times("stop", "bad") and nemesis.active == {}
    kinds = [(op["f"], op["type"]) for op in history.ops if op["value"]["fault_id"] == "probe-2"]
    assert kinds == [("fault-start", "invoke"), ("fault-start", "info"), ("fault-stop", "invoke"),
                     ("fault-stop", "ok")]


def test_no_fault_starts_after_heal_all(probe, nemesis, history):
    nemesis.heal_all()
    with pytest.raises(NemesisClosed, match="closed"):
        nemesis.start(spec("x", 0, 1))
    errors = nemesis.run_schedule([spec("y", 0.0, 0.1)], time.monotonic(), threading.Event())
    assert len(errors) == 1 and "not started" in errors[0]
    assert Probe.calls == [] and history.ops == []
    nemesis.reopen()
    with nemesis.fault(spec("z", 0, 1)):
        pass
    assert [v for v, _, _ in Probe.calls] == ["start", "stop"]


def test_heal_all_during_a_start_waits_for_it_then_heals(probe, nemesis):
    worker = threading.Thread(target=lambda: nemesis.start(spec("s", 0, 1, start_s=0.4)))
    worker.start()
    time.sleep(0.1)
    nemesis.heal_all()                                   # as on SIGTERM
    worker.join()
    assert [v for v, _, _ in Probe.calls] == ["start", "stop"]
    assert nemesis.active == {}


def _break(history, monkeypatch) -> None:
    """Every later write raises, as on a full disk (a closed history no longer raises)."""
    def full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(history, "_add", full)


def test_a_fault_is_healed_even_when_its_stop_cannot_be_recorded(probe, nemesis, history, monkeypatch):
    fault_id = nemesis.start(spec("d", 0, 1))
    _break(history, monkeypatch)
    with pytest.raises(FaultError, match="healed, but its fault-stop could not be recorded"):
        nemesis.stop(fault_id)
    assert times("stop", "d") and nemesis.active == {}


def test_heal_all_heals_everything_when_the_history_is_broken(probe, nemesis, history, monkeypatch):
    for t in ("a", "b", "c"):
        nemesis.start(spec(t, 0, 1))
    _break(history, monkeypatch)
    nemesis.heal_all()
    assert {tg for v, tg, _ in Probe.calls if v == "stop"} == {"a", "b", "c"}
    assert nemesis.active == {}


def test_a_stop_that_raises_is_recorded_and_torn_down(probe, nemesis, history, monkeypatch):
    fault_id = nemesis.start(spec("t", 0, 1))
    fault = nemesis.active[fault_id]
    monkeypatch.setattr(fault, "stop", lambda: (_ for _ in ()).throw(FaultError("stuck")))
    with pytest.raises(FaultError, match="stuck"):
        nemesis.stop(fault_id)
    assert times("teardown", "t") and history.ops[-1]["type"] == "info"


def test_concurrent_starts_get_distinct_ids(probe, nemesis):
    ids: list[str] = []
    threads = [threading.Thread(target=lambda i=i: ids.append(nemesis.start(spec(f"t{i}", 0, 1))))
               for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 20 and set(nemesis.active) == set(ids)
    with pytest.raises(FaultError, match="no active fault"):
        nemesis.stop("probe-999")


class OkFails(History):
    """A history whose fault-start completions cannot be written (as on a full disk)."""

    def ok(self, process, f, value=None):
        if f == "fault-start":
            raise OSError(28, "No space left on device")
        return super().ok(process, f, value)


def test_a_fault_whose_start_cannot_be_recorded_is_healed_at_once(probe):
    history = OkFails()
    with Nemesis(None, history) as nemesis:
        with pytest.raises(FaultError, match="could not be recorded .*healed at once"):
            nemesis.start(spec("u", 0, 1))
        assert nemesis.active == {} and [v for v, _, _ in Probe.calls] == ["start", "stop"]
    history.close()


def test_a_later_fault_waits_for_an_earlier_heal_that_outlasts_its_window():
    """Windows [0, 0.1] and [0.15, 0.25] do not overlap in the schedule; the first fault's heal
    takes 0.3 s, so the second starts only after it (not at 0.15 s)."""
    import threading
    import time as _time
    from kfchaos.faults.base import Fault, FaultSpec
    from kfchaos.faults.nemesis import Nemesis
    from kfchaos.history import History

    events = []

    class SlowHeal(Fault):
        name = "slow-heal"

        def start(self):
            events.append(("start", self.spec.target, _time.monotonic()))
            return {}

        def stop(self):
            if self.spec.target == "first":
                _time.sleep(0.3)
            events.append(("stop", self.spec.target, _time.monotonic()))
            return {}

    class Reg:
        @staticmethod
        def create(platform, spec, rng):
            return SlowHeal(platform, spec, rng)

    h = History()
    n = Nemesis(None, h)
    n.registry = Reg
    t0 = _time.monotonic()
    errors = n.run_schedule([FaultSpec("slow-heal", "first", 0.0, 0.1), FaultSpec("slow-heal", "second", 0.15, 0.1)],
                            t0, threading.Event())
    assert errors == []
    first_stop = next(t for e, who, t in events if e == "stop" and who == "first")
    second_start = next(t for e, who, t in events if e == "start" and who == "second")
    assert second_start >= first_stop
    n.close()


def test_heal_all_waits_for_a_heal_under_way_so_its_stop_is_recorded(probe, nemesis, history):
    stop = threading.Event()
    worker = threading.Thread(target=nemesis.run_schedule, args=([spec("w", 0, 0.05, stop_s=0.6)],
                                                                   time.monotonic(), stop))
    worker.start()
    time.sleep(0.3)                                      # its window is over, its stop is under way
    assert nemesis.active == {}
    nemesis.heal_all()                                   # as on SIGTERM: returns only once it has healed
    assert [v for v, _, _ in Probe.calls] == ["start", "stop"]
    assert [(op["f"], op["type"]) for op in history.ops if op["f"] == "fault-stop"] == [
        ("fault-stop", "invoke"), ("fault-stop", "ok")]
    worker.join()

"""The nemesis: starts and stops faults as operations in the run's history, and heals
every fault still active on exit, after an exception, on SIGTERM or Ctrl-C.

fault-start invoke value: {"fault", "fault_id", "spec"}; its completion adds what the
fault did ("target", "detail") and "proof" that it took effect. fault-stop likewise
with proof that it healed. A fault whose start raised is recorded as ``info`` (it may
have partly taken effect) and is still torn down.

Thread safe: ``run_schedule`` runs each scheduled fault on its own timer and thread, so
faults whose windows overlap are active together. A fault is healed even when its stop
cannot be recorded (history write failed), and healed at once when its start cannot be
recorded. Once ``heal_all`` has run (end of a workload, close, SIGINT/SIGTERM) no
fault may start until ``reopen()``.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from kfchaos.platform import cleanup

from .base import Fault, FaultError, FaultSpec

PROCESS = "nemesis"
log = logging.getLogger("chaos.nemesis")


@dataclass(eq=False)
class _Active:
    fault: Fault
    lock: threading.RLock = field(default_factory=threading.RLock)   # held while starting or stopping
    healed: threading.Event = field(default_factory=threading.Event)  # set when its stop has ended


#: how long heal_all waits for a heal another thread has under way (a broker restarting)
HEAL_WAIT_S = 300.0


class NemesisClosed(FaultError):
    """A fault was asked to start after heal_all or close."""


class Nemesis:
    def __init__(self, platform, history, seed: int = 0):
        from . import registry
        self.platform = platform
        self.history = history
        self.rng = random.Random(seed)
        self.registry = registry
        self._lock = threading.RLock()
        self._active: dict[str, _Active] = {}
        self._stopping: dict[str, _Active] = {}    # taken for healing by another thread, not healed yet
        self._counter = 0
        self.started_walls: dict[str, float] = {}    # fault_id -> wall clock when it took effect
        self._closed = False
        self._unregister = cleanup.register(self.heal_all)

    def __enter__(self) -> "Nemesis":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def active(self) -> dict[str, Fault]:
        """fault_id -> fault, a snapshot of the faults started and not yet stopped."""
        with self._lock:
            return {fid: a.fault for fid, a in self._active.items()}

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        try:
            self.heal_all()
        finally:
            if self._unregister:
                self._unregister()
                self._unregister = None

    def last_start_wall(self, fault: str) -> float | None:
        """Wall clock (epoch s) at which the last fault named ``fault`` took effect, if any."""
        walls = [w for fid, w in self.started_walls.items() if fid.rsplit("-", 1)[0] == fault]
        return walls[-1] if walls else None

    def reopen(self) -> None:
        """Allow faults again after heal_all (a later workload of the same scenario)."""
        with self._lock:
            self._closed = False

    # ---- start / stop ------------------------------------------------------------------
    def _register(self, spec: FaultSpec) -> tuple[str, _Active]:
        with self._lock:
            if self._closed:
                raise NemesisClosed(f"fault {spec.label()} not started: the nemesis has healed everything and is "
                                    "closed (end of the workload, or the run is stopping)")
            fault = self.registry.create(self.platform, spec, self.rng)
            self._counter += 1
            fault_id = f"{spec.fault}-{self._counter}"
            entry = _Active(fault)
            entry.lock.acquire()          # released once start returns or raises
            self._active[fault_id] = entry
            return fault_id, entry

    def start(self, spec: FaultSpec) -> str:
        """Inject a fault; returns its fault_id."""
        fault_id, entry = self._register(spec)
        try:
            self._start(fault_id, spec, entry.fault)
        finally:
            entry.lock.release()
        return fault_id

    def _start(self, fault_id: str, spec: FaultSpec, fault: Fault) -> None:
        base = {"fault": spec.fault, "fault_id": fault_id, "spec": spec.to_json()}
        try:
            self.history.invoke(PROCESS, "fault-start", base)
        except BaseException:
            self._take(fault_id)          # nothing was done: forget it
            raise
        log.info(f"start {spec.label()} ...")
        try:
            fault.setup()
            fault.active = True
            result = fault.start()
        except Exception as exc:
            self._record(self.history.info, "fault-start", {**base, "error": f"{type(exc).__name__}: {exc}"})
            log.warning(f"start {spec.label()} failed: {exc}")
            raise
        self.started_walls[fault_id] = time.time()
        record_error = self._record(self.history.ok, "fault-start", {**base, **result})
        if record_error is not None:      # an unrecorded fault must not stay in place
            try:
                self.stop(fault_id)
            except Exception as exc:
                log.error(f"heal of unrecorded {fault_id} failed: {exc}")
            raise FaultError(f"{fault_id} started but could not be recorded in the history "
                             f"({type(record_error).__name__}: {record_error}); healed at once") from record_error
        log.info(f"started {spec.label()}: {result.get('detail', '')}")

    def _take(self, fault_id: str) -> _Active | None:
        with self._lock:
            entry = self._active.pop(fault_id, None)
            if entry is not None:
                self._stopping[fault_id] = entry
            return entry

    def _heal_taken(self, fault_id: str, entry: _Active) -> dict:
        try:
            with entry.lock:              # waits for a start still in progress
                return self._stop(fault_id, entry.fault)
        finally:
            with self._lock:
                self._stopping.pop(fault_id, None)
            entry.healed.set()

    def stop(self, fault_id: str) -> dict:
        """Heal a fault and record it; the fault is healed even if recording fails."""
        entry = self._take(fault_id)
        if entry is None:
            raise FaultError(f"no active fault {fault_id!r} (already stopped or never started)")
        return self._heal_taken(fault_id, entry)

    def _stop(self, fault_id: str, fault: Fault) -> dict:
        base = {"fault": fault.spec.fault, "fault_id": fault_id}
        record_error = self._record(self.history.invoke, "fault-stop", base)
        try:
            result = fault.stop()
            fault.active = False
        except BaseException as exc:
            self._record(self.history.info, "fault-stop", {**base, "error": f"{type(exc).__name__}: {exc}"})
            self._teardown(fault)
            raise
        record_error = self._record(self.history.ok, "fault-stop", {**base, **result}) or record_error
        log.info(f"healed {fault.spec.label()}: {result.get('detail', '')}")
        if record_error is not None:
            raise FaultError(f"{fault_id} healed, but its fault-stop could not be recorded in the history: "
                             f"{type(record_error).__name__}: {record_error}") from record_error
        return result

    def _record(self, write, f: str, value: dict) -> Exception | None:
        """Write one op; a failure is returned (and logged), never raised, so healing goes on."""
        try:
            write(PROCESS, f, value)
        except Exception as exc:
            log.error(f"could not record {f} of {value.get('fault_id')}: {exc}")
            return exc
        return None

    @contextmanager
    def fault(self, spec: FaultSpec) -> Iterator[str]:
        fault_id = self.start(spec)
        try:
            yield fault_id
        finally:
            entry = self._take(fault_id)  # None: heal_all has stopped it already
            if entry is not None:
                self._heal_taken(fault_id, entry)

    def run_spec(self, spec: FaultSpec) -> None:
        """Start, hold for spec.duration, stop."""
        with self.fault(spec):
            time.sleep(spec.duration)

    # ---- schedules -----------------------------------------------------------------------
    def run_schedule(self, schedule: list[FaultSpec], t0: float, stop: threading.Event) -> list[str]:
        """Run every fault of a schedule on its own timer (start at t0 + spec.start on the
        monotonic clock, hold spec.duration, heal), so faults whose windows overlap in the
        schedule run at the same time (Jepsen's combined nemeses). A fault whose window comes
        after another's also waits until that one has healed: a heal (a broker restarted and
        caught up) can outlast its planned window, and a schedule that does not overlap two
        faults must not have them overlap in fact. Faults not yet started when ``stop`` is set
        never start; active ones are healed at once. Returns one error string per fault that
        failed, in schedule order."""
        errors: list[list[str]] = [[] for _ in schedule]
        healed = [threading.Event() for _ in schedule]
        threads = []
        for i, spec in enumerate(schedule):
            before = [healed[j] for j, other in enumerate(schedule)
                      if j != i and other.start + other.duration <= spec.start]
            threads.append(threading.Thread(target=self._run_scheduled, daemon=True, name=f"nemesis-{i}-{spec.fault}",
                                            args=(spec, t0, stop, errors[i], before, healed[i])))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [e for per_fault in errors for e in per_fault]

    def _run_scheduled(self, spec: FaultSpec, t0: float, stop: threading.Event, errors: list[str],
                       before: list[threading.Event], healed: threading.Event) -> None:
        try:
            wait = t0 + spec.start - time.monotonic()
            if (wait > 0 and stop.wait(wait)) or stop.is_set():
                return
            for event in before:                 # earlier faults have healed
                while not event.wait(0.2):
                    if stop.is_set():
                        return
            try:
                with self.fault(spec):
                    stop.wait(spec.duration)
            except Exception as exc:
                errors.append(f"fault {spec.label()}: {exc}")
        finally:
            healed.set()

    # ---- heal ----------------------------------------------------------------------------
    def heal_all(self) -> None:
        """Refuse new faults, stop every active fault (recorded), and tear each down
        whatever happens; a heal another thread has under way (its window ended just before)
        is waited for, so it is recorded before the history closes."""
        with self._lock:
            self._closed = True
            fault_ids = list(self._active)
        for fault_id in fault_ids:
            try:
                self.stop(fault_id)
            except Exception as exc:
                log.error(f"heal of {fault_id} failed: {exc}")
        with self._lock:
            under_way = list(self._stopping.items())
        for fault_id, entry in under_way:     # healed by another thread: wait, so its fault-stop is recorded
            if not entry.healed.wait(HEAL_WAIT_S):
                log.error(f"heal of {fault_id} still under way after {HEAL_WAIT_S:g} s")

    @staticmethod
    def _teardown(fault: Fault) -> None:
        try:
            fault.teardown()
        except Exception as exc:
            log.error(f"teardown of {fault.spec.label()} failed: {exc}")

"""The nemesis: starts and stops faults as operations in the run's history, and heals
every fault still active on exit, after an exception, on SIGTERM or Ctrl-C.

fault-start invoke value: {"fault", "fault_id", "spec"}; its completion adds what the
fault did ("target", "detail") and "proof" that it took effect. fault-stop likewise
with proof that it healed. A fault whose start raised is recorded as ``info`` (it may
have partly taken effect) and is still torn down.
"""
from __future__ import annotations

import random
import sys
import time
from contextlib import contextmanager
from typing import Iterator

from harness.platform import cleanup

from .base import Fault, FaultSpec

PROCESS = "nemesis"


def _say(msg: str) -> None:
    print(f"[nemesis] {msg}", file=sys.stderr, flush=True)


class Nemesis:
    def __init__(self, platform, history, seed: int = 0):
        from . import registry
        self.platform = platform
        self.history = history
        self.rng = random.Random(seed)
        self.registry = registry
        self.active: dict[str, Fault] = {}
        self._counter = 0
        self._unregister = cleanup.register(self.heal_all)

    def __enter__(self) -> "Nemesis":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.heal_all()
        finally:
            if self._unregister:
                self._unregister()
                self._unregister = None

    def start(self, spec: FaultSpec) -> str:
        """Inject a fault; returns its fault_id."""
        self._counter += 1
        fault_id = f"{spec.fault}-{self._counter}"
        fault = self.registry.create(self.platform, spec, self.rng)
        base = {"fault": spec.fault, "fault_id": fault_id, "spec": spec.to_json()}
        self.history.invoke(PROCESS, "fault-start", base)
        _say(f"start {spec.label()} ...")
        self.active[fault_id] = fault
        try:
            fault.setup()
            fault.active = True
            result = fault.start()
        except Exception as exc:
            self.history.info(PROCESS, "fault-start", {**base, "error": f"{type(exc).__name__}: {exc}"})
            _say(f"start {spec.label()} failed: {exc}")
            raise
        self.history.ok(PROCESS, "fault-start", {**base, **result})
        _say(f"started {spec.label()}: {result.get('detail', '')}")
        return fault_id

    def stop(self, fault_id: str) -> dict:
        fault = self.active.pop(fault_id)
        base = {"fault": fault.spec.fault, "fault_id": fault_id}
        self.history.invoke(PROCESS, "fault-stop", base)
        try:
            result = fault.stop()
            fault.active = False
        except Exception as exc:
            self.history.info(PROCESS, "fault-stop", {**base, "error": f"{type(exc).__name__}: {exc}"})
            self._teardown(fault)
            raise
        self.history.ok(PROCESS, "fault-stop", {**base, **result})
        _say(f"healed {fault.spec.label()}: {result.get('detail', '')}")
        return result

    @contextmanager
    def fault(self, spec: FaultSpec) -> Iterator[str]:
        fault_id = self.start(spec)
        try:
            yield fault_id
        finally:
            if fault_id in self.active:
                self.stop(fault_id)

    def run_spec(self, spec: FaultSpec) -> None:
        """Start, hold for spec.duration, stop."""
        with self.fault(spec):
            time.sleep(spec.duration)

    def heal_all(self) -> None:
        """Stop every active fault (recorded), then tear each down, whatever happens."""
        for fault_id in list(self.active):
            try:
                self.stop(fault_id)
            except Exception as exc:
                _say(f"heal of {fault_id} failed: {exc}")
        for fault in list(self.active.values()):
            self._teardown(fault)
        self.active.clear()

    @staticmethod
    def _teardown(fault: Fault) -> None:
        try:
            fault.teardown()
        except Exception as exc:
            _say(f"teardown of {fault.spec.label()} failed: {exc}")

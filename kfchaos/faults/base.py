"""The fault interface shared by every fault, and the serialisable fault spec.

A fault has four verbs: ``setup`` (prepare, no effect yet), ``start`` (inject, return
what was done and proof that it took effect), ``stop`` (heal, return proof that it
healed) and ``teardown`` (heal whatever is still in place; idempotent, safe after an
exception). ``start``/``stop`` results go into the history as the value of the
fault-start/fault-stop operations (see ``kfchaos.faults.nemesis``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


class FaultError(RuntimeError):
    pass


@dataclass(frozen=True)
class FaultSpec:
    """One fault of a schedule: which fault, which target role, when and for how long."""
    fault: str
    target: str = ""            # "leader:<topic>:<partition>", "controller", "random", "zone:<z>", ...
    start: float = 0.0          # seconds after the workload starts
    duration: float = 10.0      # seconds between start and stop
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "FaultSpec":
        return cls(d["fault"], d.get("target", ""), float(d.get("start", 0.0)), float(d.get("duration", 10.0)),
                   dict(d.get("params") or {}))

    def label(self) -> str:
        return f"{self.fault}({self.target})" if self.target else self.fault


class Fault:
    """Base class. Subclasses set ``name`` and implement start/stop; teardown defaults to stop."""
    name: ClassVar[str] = ""
    default_target: ClassVar[str] = ""

    def __init__(self, platform, spec: FaultSpec, rng=None):
        import random
        self.platform = platform
        self.spec = spec
        self.params = spec.params
        self.rng = rng or random.Random(0)
        self.active = False

    def setup(self) -> None:
        pass

    def start(self) -> dict[str, Any]:
        raise NotImplementedError

    def stop(self) -> dict[str, Any]:
        raise NotImplementedError

    def teardown(self) -> None:
        if self.active:
            self.stop()
            self.active = False


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)

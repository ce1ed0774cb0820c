"""Verdict and Anomaly records returned by every checker.

Contract
--------
``Verdict.valid`` is one of the strings ``"valid"``, ``"invalid"``,
``"unknown"`` (the :class:`Validity` str-enum members compare equal to these
strings and serialise as them).

* ``invalid``: at least one non-informational anomaly was found.
* ``unknown``: no anomaly, but the history cannot prove validity (e.g. no
  final read of a topic).
* ``valid``: everything the checker looks at was verified.

Composition (:func:`compose`): invalid beats unknown beats valid; an empty
set of verdicts is ``unknown``.

``anomalies`` maps an anomaly type (e.g. ``"lost"``) to :class:`Anomaly`
(``count`` plus at most ``MAX_EXAMPLES`` example dicts).  Examples carry, where
meaningful, ``topic``, ``partition``, ``offset``, ``id``/``value``, ``time``
(monotonic ns), ``wall`` (epoch s) and ``fault_windows`` (faults whose window
overlaps the example).  Anomaly types listed in ``Verdict.informational`` are
reported but never make a verdict invalid.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable

__all__ = ["Validity", "VALID", "INVALID", "UNKNOWN", "MAX_EXAMPLES",
           "Anomaly", "Verdict", "compose"]

MAX_EXAMPLES = 10


class Validity(str, Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


VALID, INVALID, UNKNOWN = Validity.VALID, Validity.INVALID, Validity.UNKNOWN
_RANK = {VALID: 0, UNKNOWN: 1, INVALID: 2}


@dataclass
class Anomaly:
    count: int = 0
    examples: list[dict] = field(default_factory=list)

    def add(self, example: dict | None = None, n: int = 1) -> None:
        self.count += n
        if example is not None and len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def to_dict(self) -> dict:
        return {"count": self.count, "examples": list(self.examples)}

    @classmethod
    def from_dict(cls, d: dict) -> "Anomaly":
        return cls(int(d.get("count", 0)), list(d.get("examples") or []))


@dataclass
class Verdict:
    checker: str
    valid: Validity = VALID
    anomalies: dict[str, Anomaly] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    informational: tuple[str, ...] = ()

    def add(self, kind: str, example: dict | None = None, n: int = 1) -> None:
        """Count one (or ``n``) anomalies of ``kind``, keeping the example."""
        a = self.anomalies.get(kind)
        if a is None:
            a = self.anomalies[kind] = Anomaly()
        a.add(example, n)

    def wants_example(self, kind: str) -> bool:
        """False once ``kind`` already holds MAX_EXAMPLES examples."""
        a = self.anomalies.get(kind)
        return a is None or len(a.examples) < MAX_EXAMPLES

    def counts(self) -> dict[str, int]:
        return {k: a.count for k, a in self.anomalies.items()}

    def finish(self, unknown_reason: str | None = None) -> "Verdict":
        """Set ``valid`` from the anomalies: invalid if any non-informational
        anomaly, else unknown if ``unknown_reason`` is given, else valid."""
        bad = sorted(k for k, a in self.anomalies.items()
                     if a.count and k not in self.informational)
        if bad:
            self.valid = INVALID
            if not self.reason:
                self.reason = "; ".join(f"{self.anomalies[k].count} {k}" for k in bad)
        elif unknown_reason:
            self.valid = UNKNOWN
            self.reason = self.reason or unknown_reason
        else:
            self.valid = VALID
        return self

    def to_dict(self) -> dict:
        return {"checker": self.checker, "valid": Validity(self.valid).value,
                "anomalies": {k: a.to_dict() for k, a in self.anomalies.items()},
                "stats": dict(self.stats), "reason": self.reason,
                "informational": list(self.informational)}

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        return cls(checker=d["checker"], valid=Validity(d.get("valid", "unknown")),
                   anomalies={k: Anomaly.from_dict(a)
                              for k, a in (d.get("anomalies") or {}).items()},
                   stats=dict(d.get("stats") or {}), reason=d.get("reason", ""),
                   informational=tuple(d.get("informational") or ()))


def compose(verdicts: Iterable[Verdict | str] | dict) -> Validity:
    """Combine validities: invalid beats unknown beats valid (empty: unknown)."""
    if isinstance(verdicts, dict):
        verdicts = verdicts.values()
    best = None
    for v in verdicts:
        val = Validity(v.valid if isinstance(v, Verdict) else v)
        if best is None or _RANK[val] > _RANK[best]:
            best = val
    return UNKNOWN if best is None else best

"""Upstream defects known to produce an anomaly on a given platform.

Contract
--------
:func:`likely_cause` returns the text that explains ``anomaly`` on the platform the
history's ``scenario`` op names (``value.platform``: ``{"kind", "versions"}``), or
``None``.  A known cause never changes a verdict: the anomaly still counts; the example
only says where it comes from, so that a reader (and a test of the harness itself) can
tell an upstream defect that can fire from a new finding.  Each entry names the released
code it was read in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KnownCause", "KNOWN_CAUSES", "likely_cause", "platform_of"]


@dataclass(frozen=True)
class KnownCause:
    anomaly: str
    kind: str                    # platform kind (profiles' platform.kind)
    version_prefix: str          # the release it was read in, e.g. "0.6"
    text: str


KNOWN_CAUSES: tuple[KnownCause, ...] = (
    KnownCause(
        "end-offset-understated", "tansu", "0.6",
        "Tansu 0.6 answers ListOffsets(latest) with one past the *base* offset of the batch "
        "object that S3 lists as modified last (tansu-storage dynostore list_offsets), not "
        "with the partition's high watermark: batches stored concurrently or in the same "
        "millisecond, or a last batch of several records, leave acknowledged records above "
        "the listed end, although Fetch serves them"),
)


def platform_of(idx: Any) -> dict:
    """The ``platform`` the history's first ``scenario`` op recorded ({} if none)."""
    for op in idx.get("scenario"):
        p = (op.get("value") or {}).get("platform")
        if isinstance(p, dict):
            return p
    return {}


def likely_cause(idx: Any, anomaly: str) -> str | None:
    platform = platform_of(idx)
    kind = platform.get("kind")
    version = str((platform.get("versions") or {}).get(kind, ""))
    for c in KNOWN_CAUSES:
        if c.anomaly == anomaly and c.kind == kind and version.startswith(c.version_prefix):
            return c.text
    return None

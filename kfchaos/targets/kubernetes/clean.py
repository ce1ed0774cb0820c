"""``kfchaos clean --target FILE`` for a Kubernetes target: delete the Chaos Mesh resources the
harness labelled (a run's, with ``--run``), report those stuck on a finalizer with the
``kubectl patch`` that removes it."""
from __future__ import annotations

from ..actuators import ActuatorError
from .chaos import sweep
from .client import api_client


def clean(target, run_id: str | None = None) -> list[str]:
    try:
        api = api_client(target.kubernetes, fresh=True)
    except ActuatorError as exc:
        return [f"kubernetes: not reachable, not cleaned ({exc})"]
    try:
        return sweep(api, target.kubernetes, run_id)
    except Exception as exc:
        return [f"kubernetes: cleaning failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"]

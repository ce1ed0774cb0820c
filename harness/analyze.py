"""Analyze a run directory: load its history, run every checker, report.

Contract
--------
``analyze(run_dir, **opts)`` streams ``run_dir/history.jsonl`` (a truncated
last line is tolerated), runs :func:`harness.checkers.check_all` with
``opts``, prints :func:`render_text` (unless ``quiet``) and returns::

    {"valid": "valid"|"invalid"|"unknown", "ops": int, "history": path,
     "verdicts": {checker name: Verdict.to_dict()}}

It writes nothing; callers persist the dict.  ``python -m harness.analyze
RUN_DIR`` prints the report (``--json`` prints the dict) and exits 0 when
valid, 1 when invalid, 2 when unknown, 3 on usage/IO errors.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from harness.checkers import Verdict, check_all, compose
from harness.checkers.index import HistoryIndex

__all__ = ["analyze", "render_text", "main", "EXIT_CODES"]

EXIT_CODES = {"valid": 0, "invalid": 1, "unknown": 2}
EXIT_USAGE = 3


def analyze(run_dir: str | os.PathLike, *, quiet: bool = False, **opts: Any) -> dict:
    path = os.path.join(os.fspath(run_dir), "history.jsonl")
    idx = HistoryIndex.from_path(path)
    verdicts = check_all(idx, **opts)
    result = {"valid": compose(verdicts).value, "ops": len(idx), "history": path,
              "verdicts": {k: v.to_dict() for k, v in verdicts.items()}}
    if not quiet:
        print(render_text(verdicts))
    return result


def _fmt(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"), default=str, sort_keys=True)


def render_text(verdicts: dict[str, Verdict] | dict[str, dict],
                max_examples: int = 3) -> str:
    """One line per checker (name, validity, anomaly counts), then examples."""
    vs = {k: (v if isinstance(v, Verdict) else Verdict.from_dict(v))
          for k, v in verdicts.items()}
    width = max([len(k) for k in vs] + [8])
    lines = [f"{'overall':<{width}}  {compose(vs).value.upper()}"]
    for name, v in vs.items():
        counts = ", ".join(f"{k}={n}" for k, n in sorted(v.counts().items())) or "-"
        reason = f"  ({v.reason})" if v.reason and str(v.valid) != "invalid" else ""
        lines.append(f"{name:<{width}}  {str(v.valid):<8} {counts}{reason}")
    for name, v in vs.items():
        for kind, a in sorted(v.anomalies.items()):
            if not a.examples:
                continue
            tag = " (informational)" if kind in v.informational else ""
            lines.append(f"\n{name} / {kind}: {a.count}{tag}")
            for ex in a.examples[:max_examples]:
                ex = dict(ex)
                faults = ex.pop("fault_windows", None) or []
                where = " ".join(f"{k}={ex.pop(k)}" for k in ("topic", "partition", "offset",
                                                               "id") if k in ex)
                fw = ", ".join(f"{w.get('fault')}/{w.get('fault_id')}" for w in faults)
                lines.append(f"  - {where} faults=[{fw}] {_fmt(ex)}")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors must not look "unknown"
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(prog="python -m harness.analyze",
                 description="Check a run directory's history.jsonl.")
    ap.add_argument("run_dir")
    ap.add_argument("--json", action="store_true", help="print the result dict as JSON")
    ap.add_argument("--input-topic")
    ap.add_argument("--output-topic")
    ap.add_argument("--transactional-topic", action="append", dest="transactional_topics")
    ap.add_argument("--max-redelivery", type=int)
    ap.add_argument("--recovery-budget", type=float, dest="recovery_budget_s")
    ap.add_argument("--latency-ratio-budget", type=float)
    ap.add_argument("--auto-offset-reset", choices=["earliest", "latest"], default="earliest")
    a = ap.parse_args(argv)
    opts = {k: v for k, v in vars(a).items()
            if k not in ("run_dir", "json") and v is not None}
    try:
        res = analyze(a.run_dir, quiet=a.json, **opts)
    except (OSError, ValueError) as e:
        print(f"analyze: {e}", file=sys.stderr)
        return EXIT_USAGE
    if a.json:
        print(json.dumps(res, default=str, indent=1))
    return EXIT_CODES[res["valid"]]


if __name__ == "__main__":
    sys.exit(main())

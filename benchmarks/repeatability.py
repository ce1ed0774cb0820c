"""Repeatability: certify one profile N times with one seed and compare the verdicts.

    python benchmarks/repeatability.py [--profile kafka-3az] [--runs 5] [--seed 20261126] [--scenario S ...]
    python benchmarks/repeatability.py --analyze RUN_DIR [RUN_DIR ...]

With ``--analyze`` nothing is certified: the verdicts of stored runs are recomputed from
their histories with the checkers of this checkout (as ``kfchaos analyze`` does) and
compared the same way, e.g. after a checker changed.

Prints, per (scenario, contract), the verdict of every run and whether all runs agree, then
"K of M verdicts identical in all N runs". A difference is a bug to fix unless it has a
documented upstream cause; the one known here is librdkafka's epoch bump after an
OUT_OF_ORDER_SEQUENCE_NUMBER (librdkafka #4953), which can write a retried record twice:
a differing ordering verdict whose duplicate examples carry ``likely_cause`` is labelled so.
Long: one certification per run (a full one is about 15 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kfchaos import profiles                       # noqa: E402
from kfchaos.analyze import analyze_run            # noqa: E402
from kfchaos.certify import certify                # noqa: E402
from kfchaos.cli import setup_logging              # noqa: E402
from kfchaos.results import RunResult              # noqa: E402


def verdicts(run: RunResult) -> dict[tuple[str, str], str]:
    return {(s.name, c.contract): c.verdict for s in run.scenarios for c in s.contracts}


def known_cause(run: RunResult, scenario: str, contract: str) -> str | None:
    """The documented upstream cause of a violation, when its examples name one."""
    for s in run.scenarios:
        for c in s.contracts:
            if s.name == scenario and c.contract == contract:
                for a in c.anomalies.values():
                    for ex in a.get("examples") or []:
                        if isinstance(ex, dict) and ex.get("likely_cause"):
                            return str(ex["likely_cause"])
    return None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="kafka-3az")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--reports", default=str(ROOT / "reports" / "repeatability"))
    ap.add_argument("--analyze", nargs="+", metavar="RUN_DIR", help="recompute and compare stored runs instead")
    a = ap.parse_args(argv)
    setup_logging()
    runs = [analyze_run(Path(d)) for d in a.analyze] if a.analyze else []
    for i in range(0 if a.analyze else a.runs):
        try:
            run = certify(profiles.load(a.profile), a.scenario, a.seed, reports=Path(a.reports))
        except KeyboardInterrupt:    # a signal during bring-up, before the run has a result
            run = None
        if run is None or run.interrupted:   # Ctrl-C or SIGTERM ends the benchmark, not just this run
            why = run.interrupted if run is not None else "a signal during bring-up"
            print(f"run {i + 1} of {a.runs} interrupted ({why}): no comparison; "
                  f"compare the finished runs with --analyze {a.reports}/<run>", file=sys.stderr)
            return 2
        runs.append(run)
    return compare(runs)


def compare(runs: list[RunResult]) -> int:
    """Print the verdicts of every run side by side; 0 when all agree."""
    tables = [verdicts(r) for r in runs]
    keys = sorted({k for t in tables for k in t})
    same = 0
    print(f"\n{'scenario':26s} {'contract':18s} verdicts")
    for key in keys:
        row = [t.get(key, "-") for t in tables]
        agree = len(set(row)) == 1
        same += agree
        causes = {c for r in runs if (c := known_cause(r, *key))}
        note = "" if agree else ("  known upstream cause: " + "; ".join(sorted(causes)) if causes else "  DIFFERS")
        print(f"{key[0]:26s} {key[1]:18s} {' '.join(row)}{note}")
    print(f"\n{same} of {len(keys)} verdicts identical in all {len(runs)} runs")
    return 0 if same == len(keys) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

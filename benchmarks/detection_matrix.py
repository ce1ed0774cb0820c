"""Run the detection matrix (kfchaos/detection.py) against the real platform and print
"N of M caught, K false alarms".

    python benchmarks/detection_matrix.py [--seed 11] [--only NAME-SUBSTRING] [--no-twins]

Each weakened profile is certified with the scenario that must catch it; the safe twins
run first, every scenario of the matrix in one certification per safe profile. Long: one
platform bring-up per certification (about 2-5 minutes each on 2 cores). The run directories stay under reports/detection/ for `chaos
analyze` and `chaos compare`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kfchaos import profiles                       # noqa: E402
from kfchaos.certify import certify                # noqa: E402
from kfchaos.cli import setup_logging              # noqa: E402
from kfchaos.detection import MATRIX               # noqa: E402
from kfchaos.migrate.rehearsal import rehearse     # noqa: E402

#: the rehearsal's fault for the matrix: a source broker paused, so MirrorMaker's producer on the
#: target is never disturbed and its at-least-once duplicates do not blur the twins
MIGRATION_FAULT = "pause:source"


def migrate(e, target: str, cutover: str, seed: int, reports: Path, job_start: str = "positions"):
    return rehearse(profiles.load(e.source), profiles.load(target), seed, fault=MIGRATION_FAULT,
                    reports=reports, cutover=cutover, job_start=job_start)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--only", help="run only entries whose name contains this")
    ap.add_argument("--no-twins", action="store_true", help="skip the safe twins")
    ap.add_argument("--reports", default=str(ROOT / "reports" / "detection"))
    a = ap.parse_args(argv)
    setup_logging()
    entries = [e for e in MATRIX if not a.only or a.only in e.name]
    rows, alarms, twins = [], 0, {}
    if not a.no_twins:
        for safe in dict.fromkeys(e.safe for e in entries if not e.is_migration):
            picks = list(dict.fromkeys(e.scenario for e in entries if e.safe == safe and not e.is_migration))
            twins[safe] = certify(profiles.load(safe), picks, a.seed, reports=Path(a.reports))
        for e in entries:
            if e.is_migration and ("migration", e.source, e.safe) not in twins:
                twins[("migration", e.source, e.safe)] = migrate(e, e.safe, "translated", a.seed, Path(a.reports))
    for e in entries:
        t0 = time.monotonic()
        if e.is_migration:
            weak = migrate(e, e.weak, e.cutover, a.seed, Path(a.reports), e.job_start)
        else:
            weak = certify(profiles.load(e.weak), [e.scenario], a.seed, reports=Path(a.reports))
        caught = e.fires(weak)
        twin = None
        if not a.no_twins:
            twin = e.fires(twins[("migration", e.source, e.safe) if e.is_migration else e.safe])
            alarms += bool(twin)
        rows.append((e, caught, twin, round(time.monotonic() - t0)))
        print(f"{'CAUGHT' if caught else 'MISSED'} {e.contract:18s} {e.scenario:24s} {e.weak}", flush=True)
    print(f"\n{'entry':48s} {'contract':18s} {'scenario':24s} caught  twin   s")
    for e, caught, twin, secs in rows:
        tw = "-" if twin is None else ("ALARM" if twin else "quiet")
        print(f"{e.name[:48]:48s} {e.contract:18s} {e.scenario:24s} {'yes' if caught else 'NO':6s} {tw:6s} {secs}")
    caught_n = sum(1 for _, c, _, _ in rows if c)
    print(f"\n{caught_n} of {len(rows)} caught, {alarms} false alarms")
    return 0 if caught_n == len(rows) and not alarms else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

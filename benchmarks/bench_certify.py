"""Wall time of the full default certification (`chaos certify --profile kafka-3az`) with
warm images. Prints the total and the time per scenario; no assertions.

    python benchmarks/bench_certify.py [--profile kafka-3az] [--seed N]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="kafka-3az")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    reports = Path(tempfile.mkdtemp(prefix="bench-certify-"))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kfchaos.cli", "certify", "--profile", args.profile,
                           "--seed", str(args.seed), "--reports", str(reports)], capture_output=True, text=True)
    wall = time.monotonic() - t0
    run = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    if not (run / "results.json").exists():
        raise SystemExit(f"no results after {wall:.0f}s (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
    results = json.loads((run / "results.json").read_text())
    print(f"certify --profile {args.profile}: {wall / 60:.1f} min wall, exit {proc.returncode}, "
          f"overall {results['overall']}")
    for s in results["scenarios"]:
        print(f"  {s['name']:26s} {s['duration_s']:7.1f}s  {s['status']}")
    print(f"  platform bring-up {results['platform']['bringup_seconds'].get('total', 0):.1f}s; run dir {run}")


if __name__ == "__main__":
    main()

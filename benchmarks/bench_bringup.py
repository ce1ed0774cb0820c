"""Bring-up benchmark: time to a ready platform, warm (images cached) and optionally cold.

    python benchmarks/bench_bringup.py            # warm, 3 rounds
    python benchmarks/bench_bringup.py --cold     # remove chaos-harness images first, then warm
Prints per-component and total seconds. No assertions: figures go in the README.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import time

from kfchaos.platform.platform import Platform


def remove_images() -> None:
    ids = subprocess.run(["docker", "images", "-q", "--filter", "reference=chaos-harness/*"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rmi", "-f", *ids], stdout=subprocess.DEVNULL)


def one_round() -> dict[str, float]:
    t0 = time.monotonic()
    p = Platform()
    try:
        p.start()
        return dict(p.timings, wall=time.monotonic() - t0)
    finally:
        p.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", action="store_true", help="remove the harness images first (artifact caches stay)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.cold:
        remove_images()
        r = one_round()
        print(f"cold bring-up (images rebuilt from cached artifacts): total {r['total']:.1f}s, "
              f"images {r['images']:.1f}s")
    totals = []
    for i in range(args.rounds):
        r = one_round()
        totals.append(r["total"])
        print(f"warm round {i + 1}: total {r['total']:.1f}s  " +
              " ".join(f"{k}={v:.1f}" for k, v in r.items() if k not in ("total", "wall")))
    print(f"warm bring-up: median {statistics.median(totals):.1f}s, max {max(totals):.1f}s over {len(totals)} rounds")


if __name__ == "__main__":
    main()

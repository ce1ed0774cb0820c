"""Bring-up benchmark: time to a ready platform, warm (images cached) and optionally cold.

    python benchmarks/bench_bringup.py            # warm, 3 rounds
    python benchmarks/bench_bringup.py --cold     # remove chaos-harness images first, then warm
    python benchmarks/bench_bringup.py --version-cold 1.20.3 --rounds 0
        # one additional Flink release: its image and reference-job jar built cold, first with
        # no artifact cached (a fresh CHAOS_CACHE_DIR: wheels from PyPI, jars copied from
        # Maven's local repository ~/.m2, job jar compiled), then with its artifacts cached
        # (only `docker build`); the image is removed before each build, and only when no
        # container uses it
Prints per-component and total seconds, and the host's load average. No assertions: figures
go in the README.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
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


def _remove_unused_image(tag: str) -> None:
    users = subprocess.run(["docker", "ps", "-aq", "--filter", f"ancestor={tag}"],
                           capture_output=True, text=True).stdout.split()
    if users:
        raise SystemExit(f"error: {len(users)} container(s) use {tag}; run the cold build when none does")
    subprocess.run(["docker", "rmi", "-f", tag], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _build_flink_release(version: str) -> tuple[str, float, float]:
    """(image tag, image seconds, job-jar seconds) for one Flink release."""
    from kfchaos.flink.jobjar import build_job_jar
    from kfchaos.images.base import build_base
    from kfchaos.images.build import build_flink
    t0 = time.monotonic()
    tag = build_flink(build_base(), version)
    t1 = time.monotonic()
    build_job_jar(flink_version=version, quiet=True)
    return tag, t1 - t0, time.monotonic() - t1


def cold_version(version: str) -> None:
    """The cold build of one additional Flink release, its artifacts not cached, then cached."""
    from kfchaos.images.base import build_base
    from kfchaos.images.build import flink_image_tag
    saved = os.environ.get("CHAOS_CACHE_DIR")
    scratch = tempfile.mkdtemp(prefix="bench-version-cache-")
    try:
        os.environ["CHAOS_CACHE_DIR"] = scratch
        _remove_unused_image(flink_image_tag(build_base(), version))
        for label in ("nothing cached", "artifacts cached"):
            load = os.getloadavg()[0]
            tag, image_s, jar_s = _build_flink_release(version)
            print(f"flink {version} cold build, {label}: image {image_s:.1f}s, job jar {jar_s:.1f}s, "
                  f"total {image_s + jar_s:.1f}s (load average {load:.1f} at start)")
            if label == "nothing cached":
                _remove_unused_image(tag)
    finally:
        if saved is None:
            os.environ.pop("CHAOS_CACHE_DIR", None)
        else:
            os.environ["CHAOS_CACHE_DIR"] = saved
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", action="store_true", help="remove the harness images first (artifact caches stay)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--version-cold", metavar="FLINK", help="cold image + job-jar build of this additional "
                                                             "Flink release, its artifacts not cached, then cached")
    args = ap.parse_args()
    if args.version_cold:
        cold_version(args.version_cold)
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
    if totals:
        print(f"warm bring-up: median {statistics.median(totals):.1f}s, max {max(totals):.1f}s over {len(totals)} rounds")


if __name__ == "__main__":
    main()

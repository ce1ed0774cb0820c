"""A version matrix: the same certification once per Kafka / Flink release, then one comparison.

``kfchaos certify --profile P --kafka 3.9.1,4.1.1 [--flink 2.2.0]`` checks every release
first (one line and exit 2 for a release the harness cannot run, before any container
starts), then certifies the profile on each combination (the profile's own
``platform.versions`` for an axis not given), each run in its own run directory, and
writes ``compare.html`` / ``compare.md`` across them in ``<reports>/matrix-<time>/``.
The exit code is the worst of the runs (2 > 1 > 0).
"""
from __future__ import annotations

import copy
import itertools
import logging
import time
from pathlib import Path

from kfchaos.images.versions import platform_versions

log = logging.getLogger("chaos.matrix")


def combinations(profile, kafka: str | None, flink: str | None) -> list[dict[str, str]]:
    """Every {kafka, flink} pair to certify; raises VersionError on a release it cannot run."""
    base = dict(profile.platform.versions)
    axis = {"kafka": _list(kafka) or [base.get("kafka")], "flink": _list(flink) or [base.get("flink")]}
    out = []
    for k, f in itertools.product(axis["kafka"], axis["flink"]):
        wanted = {key: val for key, val in (("kafka", k), ("flink", f)) if val}
        v = platform_versions(wanted)
        out.append({"kafka": v["kafka"], "flink": v["flink"]})
    return out


def _list(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def run_matrix(profile, args, seed: int, pool) -> int:
    from kfchaos.certify import certify, rerun_command
    from kfchaos.report.compare import compare
    combos = combinations(profile, args.kafka, args.flink)       # VersionError: one line, exit 2
    reports = Path(args.reports)
    runs, codes = [], []
    for i, versions in enumerate(combos, 1):
        log.info("matrix %d/%d: kafka %s, flink %s", i, len(combos), versions["kafka"], versions["flink"])
        prof = copy.deepcopy(profile)
        prof.platform.versions = dict(versions)
        command = (rerun_command(args.profile, seed, args.scenario, args.scenarios)
                   + f" --kafka {versions['kafka']} --flink {versions['flink']}")
        result = certify(prof, args.scenario, seed, reports=reports, pool=pool, command=command)
        print(f"kafka {versions['kafka']}, flink {versions['flink']}:\n{result.summary_table()}")
        runs.append(reports / "latest")
        runs[-1] = runs[-1].resolve()
        codes.append(result.exit_code)
    out = reports / f"matrix-{time.strftime('%Y%m%d-%H%M%S')}"
    html, md = compare(runs, out)
    print(f"comparison: {html}\n{md}")
    return 2 if 2 in codes else max(codes)

"""The cost of the external path: the same scenarios on the built-in path and through a
target file, side by side in one run.

    python benchmarks/bench_external.py [--scenario smoke --scenario kill-leader] [--seed 9]

Prints, per path, the wall time of the certification and the sum of the scenarios' own
durations (which leaves out the built-in path's bring-up and the external path's discovery
and health gate), and the ratio external / built-in of the latter; then every contract's
verdict on both paths and "K of M verdicts the same". The suite's external-path test runs
three scenarios; the wider comparison is this script:

    python benchmarks/bench_external.py --scenario smoke --scenario kill-leader \
        --scenario zone-isolation --scenario flink-taskmanager-kill --scenario object-storage-outage
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kfchaos.results import RunResult              # noqa: E402


def certify(args: list[str], reports: Path, env: dict | None = None) -> tuple[float, RunResult]:
    import json
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "kfchaos.cli", "certify", *args, "--reports", str(reports)], cwd=ROOT,
                   check=False, env={**os.environ, **(env or {})})
    wall = time.monotonic() - t0
    run = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    return wall, RunResult.from_dict(json.loads((run / "results.json").read_text()))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--seed", default="9")
    a = ap.parse_args(argv)
    names = a.scenario or ["smoke", "kill-leader"]
    sargs = [x for n in names for x in ("--scenario", n)] + ["--seed", a.seed]
    from kfchaos.targets.builtin import load_env_file
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        builtin = certify(sargs, tmp / "builtin")
        subprocess.run([sys.executable, "-m", "kfchaos.cli", "platform", "up", "--dir", str(tmp / "p")], cwd=ROOT,
                       check=True)
        try:
            env = load_env_file(tmp / "p" / "credentials.env")
            external = certify(["--target", str(tmp / "p" / "target.yaml"), *sargs], tmp / "external", env)
        finally:
            subprocess.run([sys.executable, "-m", "kfchaos.cli", "platform", "down", str(tmp / "p")], cwd=ROOT)
    rows = [("built-in", *builtin), ("external", *external)]
    print(f"\n{'path':10s} {'wall s':>8s} {'scenarios s':>12s}  verdict")
    sums = []
    for name, wall, run in rows:
        s = sum(x.duration_s or 0 for x in run.scenarios)
        sums.append(s)
        print(f"{name:10s} {wall:8.1f} {s:12.1f}  {run.overall}")
    print(f"\nexternal / built-in, scenario time: {sums[1] / sums[0]:.2f}" if sums[0] else "")
    return print_verdicts(builtin[1], external[1])


def print_verdicts(builtin: RunResult, external: RunResult) -> int:
    """Every (scenario, contract) verdict on both paths; 0 when all are the same."""
    def table(run: RunResult) -> dict[tuple[str, str], str]:
        return {(s.name, c.contract): c.verdict for s in run.scenarios for c in s.contracts}
    b, e = table(builtin), table(external)
    keys = sorted(set(b) | set(e))
    print(f"\n{'scenario':26s} {'contract':20s} {'built-in':10s} external")
    for k in keys:
        mark = "" if b.get(k) == e.get(k) else "  DIFFERS"
        print(f"{k[0]:26s} {k[1]:20s} {b.get(k, '-'):10s} {e.get(k, '-')}{mark}")
    same = sum(b.get(k) == e.get(k) for k in keys)
    print(f"\n{same} of {len(keys)} verdicts the same on both paths")
    return 0 if same == len(keys) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The cost of the external path: the same scenarios on the built-in path and through a
target file, side by side in one run.

    python benchmarks/bench_external.py [--scenario smoke --scenario kill-leader] [--seed 9]

Prints, per path, the wall time of the certification and the sum of the scenarios' own
durations (which leaves out the built-in path's bring-up and the external path's discovery
and health gate), and the ratio external / built-in of the latter.
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

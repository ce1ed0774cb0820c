"""How long an interrupted certification takes to exit: SIGTERM in the middle of a broker kill,
then the heal, the platform's removal and exit 2.

    python benchmarks/bench_interrupt.py [--runs 3] [--profile kafka-3az]

Each run starts `kfchaos certify --scenario kill-leader --scenario smoke`, sends SIGTERM when
the kill has started, and prints the seconds from the signal to the process's exit and its exit
code (2 expected), then the median. The time includes the heal of the killed broker (restart
and registration), so it grows with the machine's load. No assertion: figures only
(tests/system/test_interruptions.py checks what the interruption must do).
"""
from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(profile: str, reports: Path) -> tuple[float, int]:
    proc = subprocess.Popen([sys.executable, "-m", "kfchaos.cli", "certify", "--profile", profile,
                             "--scenario", "kill-leader", "--scenario", "smoke", "--seed", "5",
                             "--reports", str(reports)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "[nemesis] started kill" in line:
                break
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=600)
        return time.monotonic() - t0, proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", default="kafka-3az")
    a = ap.parse_args(argv)
    took = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.runs):
            s, code = one(a.profile, Path(tmp) / str(i))
            took.append(s)
            print(f"run {i + 1}: exit {code} {s:.1f} s after SIGTERM", flush=True)
    print(f"\nmedian {statistics.median(took):.1f} s, max {max(took):.1f} s over {len(took)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

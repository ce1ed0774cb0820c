"""How a soak's history writer behaves over hours of ops: memory flat, chunks rotated.

Writes ``--ops`` operations shaped like a soak's (send invoke/ok pairs, polls, a fault every
``--fault-every`` ops) through :class:`kfchaos.history.History` into a rotated history
(:class:`kfchaos.history_rotation.RotatingChunkWriter`, a new file every ``--rotate-ops``),
and prints, at each quarter of the run, the ops written, the process's peak RSS and the bytes
on disk; then the time to read every chunk back (``iter_load``). At the soak's default rate
(200 sends/s, about 600 ops/s with completions and polls) one hour is about 2.2M ops.

    python benchmarks/bench_soak_writer.py --ops 2000000 --rotate-ops 250000
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kfchaos.history import History, iter_load  # noqa: E402
from kfchaos.history_rotation import RotatingChunkWriter, chunk_files  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write(directory: Path, n_ops: int, rotate_ops: int, fault_every: int) -> None:
    writer = RotatingChunkWriter(directory, rotate_s=1e9, rotate_ops=rotate_ops)
    h = History(directory, writer=writer)
    i, t0, mark = 0, time.perf_counter(), n_ops // 4
    while len(h) < n_ops:
        p = f"producer-{i % 2}"
        v = {"id": f"{p}-{i}", "seq": i, "key": f"k{i % 24}", "topic": "soak-in-0a1b2c"}
        h.invoke(p, "send", v)
        h.ok(p, "send", {**v, "partition": i % 6, "offset": i // 6})
        if i % 10 == 0:
            recs = [{"partition": i % 6, "offset": max(0, i // 6 - k), "key": f"k{k}", "value": {"id": f"{p}-{i - k}"}}
                    for k in range(10)]
            h.ok("consumer-0", "poll", {"topic": "soak-in-0a1b2c", "group": "soak-group", "records": recs})
        if fault_every and i % fault_every == 0:
            h.invoke("nemesis", "fault-start", {"fault": "kill", "fault_id": f"f{i}"})
            h.ok("nemesis", "fault-start", {"fault": "kill", "fault_id": f"f{i}"})
        i += 1
        if len(h) >= mark:
            size = sum(f.stat().st_size for f in chunk_files(directory))
            print(f"{len(h):>12,} ops  peak RSS {peak_rss_mib():7.1f} MiB  {size / 2**20:8.1f} MiB on disk  "
                  f"{len(writer.files)} chunk files  {time.perf_counter() - t0:6.1f} s")
            mark += n_ops // 4
    h.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=2_000_000)
    ap.add_argument("--rotate-ops", type=int, default=250_000)
    ap.add_argument("--fault-every", type=int, default=20_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        directory = Path(d) / "history.chunks"
        write(directory, args.ops, args.rotate_ops, args.fault_every)
        t0 = time.perf_counter()
        n = sum(1 for _ in iter_load(directory))
        print(f"read back {n:,} ops from {len(chunk_files(directory))} chunk files in "
              f"{time.perf_counter() - t0:.1f} s; peak RSS {peak_rss_mib():.1f} MiB")


if __name__ == "__main__":
    main()

"""Checker-suite benchmark over a synthetic 1,000,000-op history.

Generates a valid history (idempotent sends with in-flight completions, a
few transactions, a consumer group with rebalances and commits, a Flink-like
counting job, faults, final reads) with :mod:`kfchaos.checkers.synth`, writes
it as history.jsonl, then -- in a fresh subprocess so memory figures are not
inflated by the generator -- checks it and prints, in CPU seconds of that
process (``time.process_time``; wall clock is also shown):

* the analyze path: streaming parse + single-pass digest
  (``HistoryIndex.from_path``), then each checker over the shared digest,
  and the total file -> verdicts;
* JSON parsing alone, for reference: as the streaming index parses (orjson
  when installed) and with the standard library's json.loads per line;
* the in-memory path (ops already loaded, as for a live History):
  digest + checkers;
* peak RSS (VmHWM) of the analyze path, optionally (``--tracemalloc``)
  the Python heap peak.

With ``--profile N`` the analyze path runs under cProfile and the N most
expensive functions (cumulative time) are printed after the figures.

Usage: ``python benchmarks/bench_checkers.py [--ops N] [--keep DIR] [--profile N]``.
No assertions on speed; figures only.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _rss_mib() -> float:
    """Peak RSS of this process (VmHWM; ru_maxrss would include the RSS the
    parent had when it forked us)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def generate(path: str, n_ops: int, seed: int) -> dict:
    from kfchaos.checkers.synth import generate as gen
    t = time.perf_counter()
    sim = gen(seed, n_ops, producers=4, keys=64, partitions=6, consumers=2,
              txn=True, faults=4, flink=True, poll_size=60, unknown_rate=0.01)
    t_gen = time.perf_counter() - t
    ops = sim.ops
    with open(path, "w", encoding="utf-8") as fh:
        for op in ops:
            fh.write(json.dumps(op, separators=(",", ":")))
            fh.write("\n")
    counts: dict[str, int] = {}
    recs = 0
    for op in ops:
        counts[op["f"]] = counts.get(op["f"], 0) + 1
        if op["f"] in ("poll", "final-read") and op["type"] == "ok":
            recs += len(op["value"]["records"])
    return {"ops": len(ops), "gen_s": t_gen, "by_f": counts, "records_in_reads": recs,
            "bytes": os.path.getsize(path)}


def profile_checks(path: str, top: int) -> str:
    """cProfile of file -> verdicts: the top ``top`` functions by cumulative time."""
    import cProfile
    import io
    import pstats
    from kfchaos.checkers import check_all
    from kfchaos.checkers.index import HistoryIndex
    prof = cProfile.Profile()
    prof.enable()
    check_all(HistoryIndex.from_path(path))
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def run_checks(path: str, use_tracemalloc: bool) -> dict:
    from kfchaos.checkers import CHECKERS, check_all, compose
    from kfchaos.checkers.index import HistoryIndex
    out: dict = {}
    if use_tracemalloc:
        import tracemalloc
        tracemalloc.start()
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    idx = HistoryIndex.from_path(path)      # streaming parse + single-pass digest
    out["index_s"] = time.process_time() - c0
    out["index_wall_s"] = time.perf_counter() - t0
    out["ops"] = len(idx)
    out["rss_after_index_mib"] = _rss_mib()
    gc.disable()   # the digest is immutable; avoid GC passes over 10^6 objects
    per = {}
    c1 = time.process_time()
    for name in CHECKERS:
        c = time.process_time()
        verdict = check_all(idx, checkers=[name])[name]
        per[name] = {"s": time.process_time() - c, "valid": str(verdict.valid),
                     "anomalies": verdict.counts()}
    out["checks_s"] = time.process_time() - c1
    out["total_s"] = time.process_time() - c0
    out["total_wall_s"] = time.perf_counter() - t0
    if use_tracemalloc:
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    out["suite"] = {"per": per, "valid": str(compose([v["valid"] for v in per.values()]))}
    out["rss_after_checks_mib"] = _rss_mib()
    from kfchaos import history_codec as history
    out["parser"] = (f"orjson {history._orjson.__version__} (standard library for what it "
                     "would read differently, and for huge lines)"
                     if history._orjson is not None else "json (standard library)")
    gc.enable()
    # the parse alone, for reference, nothing kept: json.loads of every line,
    # and the project's parser the way the streaming index calls it
    t = time.process_time()
    gc.disable()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            json.loads(line)
    gc.enable()
    out["parse_only_s"] = time.process_time() - t
    out["parse_project_s"] = _parse_like_stream(path)
    # digest alone from in-memory ops (as when checking a live History)
    from kfchaos.history import load
    ops = load(path)
    gc.disable()
    t = time.process_time()
    idx2 = HistoryIndex(ops)
    out["digest_in_memory_s"] = time.process_time() - t
    t = time.process_time()
    check_all(idx2)
    out["checks_in_memory_s"] = time.process_time() - t
    from kfchaos.report.series import compute_series
    t = time.process_time()
    compute_series(iter(ops))
    out["report_series_s"] = time.process_time() - t
    gc.enable()
    return out


def _parse_like_stream(path: str) -> float:
    """CPU seconds to parse the file as HistoryIndex.from_path does."""
    from kfchaos.checkers.stream import _parse, _sub_batches
    from kfchaos.history import line_chunks
    t = time.process_time()
    gc.disable()
    with open(path, encoding="utf-8") as fh:
        for lines, at_end in line_chunks(fh, 4 << 20):
            for i, j in (_sub_batches(lines) if lines else ()):
                _parse(lines, i, j, 0, at_end)
    gc.enable()
    return time.process_time() - t


def report(gen: dict, res: dict) -> str:
    n = res["ops"]
    tot = res["total_s"]
    lines = [f"history: {n:,} ops ({gen['bytes'] / 2**20:.0f} MiB jsonl), "
             f"{gen['records_in_reads']:,} records inside polls/final reads; "
             f"generated in {gen['gen_s']:.1f}s",
             "  ops by f: " + ", ".join(f"{k}={v:,}" for k, v in sorted(gen["by_f"].items())),
             "CPU seconds of this process (time.process_time; the host is shared, wall "
             "clock is noisier):",
             "from the file (what analyze does):",
             f"  stream parse + single-pass digest  {res['index_s']:.3f}s "
             f"{n / res['index_s']:>12,.0f} ops/s   (of which parsing alone: "
             f"~{res['parse_project_s']:.3f}s; stdlib json.loads per line would take "
             f"~{res['parse_only_s']:.3f}s)"]
    for name, r in res["suite"]["per"].items():
        rate = f"{n / r['s']:>14,.0f} ops/s" if r["s"] >= 0.005 else f"{'(shared)':>20}"
        lines.append(f"  {name:<13} {r['s']:.3f}s {rate}  {r['valid']} {r['anomalies'] or ''}")
    lines.append("  (checkers share derived results -- e.g. acks vs final read -- computed by "
                 "the first that needs them)")
    lines.append(f"  all checkers after the digest     {res['checks_s']:.3f}s "
                 f"{n / res['checks_s']:>12,.0f} ops/s")
    lines.append(f"  TOTAL file -> verdicts            {tot:.3f}s {n / tot:>12,.0f} ops/s "
                 f"(composed: {res['suite']['valid']}; wall clock {res['total_wall_s']:.3f}s)")
    dm, cm = res["digest_in_memory_s"], res["checks_in_memory_s"]
    lines.append(f"from in-memory ops (live History): digest {dm:.3f}s + checkers {cm:.3f}s"
                 f" = {dm + cm:.3f}s -> {n / (dm + cm):,.0f} ops/s")
    lines.append(f"report.html series (one pass over the in-memory ops): {res['report_series_s']:.3f}s "
                 f"-> {n / res['report_series_s']:,.0f} ops/s")
    lines.append(f"peak RSS (VmHWM) after digest {res['rss_after_index_mib']:.0f} MiB, after "
                 f"checks {res['rss_after_checks_mib']:.0f} MiB (whole process, analyze path; "
                 "the in-memory comparison afterwards is excluded)")
    lines.append(f"json parser: {res['parser']}")
    if "tracemalloc_peak_mib" in res:
        lines.append(f"tracemalloc peak (file -> verdicts): {res['tracemalloc_peak_mib']:.0f} MiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="directory to keep history.jsonl in")
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--profile", type=int, metavar="N", help="print a cProfile top N")
    ap.add_argument("--_run", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._run:
        print(json.dumps(run_checks(a._run, a.tracemalloc)))
        return 0
    d = a.keep or tempfile.mkdtemp(prefix="bench-checkers-")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "history.jsonl")
    gen = generate(path, a.ops, a.seed)
    cmd = [sys.executable, os.path.abspath(__file__), "--_run", path]
    if a.tracemalloc:
        cmd.append("--tracemalloc")
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                    text=True).stdout.splitlines()[-1])
    print(report(gen, res))
    if a.profile:
        print(subprocess.run([sys.executable, "-c",
                              "import sys; sys.path.insert(0, sys.argv[1]); "
                              "from benchmarks.bench_checkers import profile_checks; "
                              "print(profile_checks(sys.argv[2], int(sys.argv[3])))",
                              ROOT, path, str(a.profile)],
                             check=True, capture_output=True, text=True).stdout)
    if not a.keep:
        os.remove(path)
        os.rmdir(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())

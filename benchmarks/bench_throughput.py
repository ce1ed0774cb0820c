"""Recorded load against Kafka's own perf tools, side by side in one run on one platform.

Starts the built-in platform once (or uses ``--target FILE``), then, for one record size,
acks=all and enable.idempotence=true:

1. ``kafka-producer-perf-test`` (``org.apache.kafka.tools.ProducerPerformance`` from the
   platform's own Kafka image, so the same release's jars) sends N records to a new topic;
2. the harness's recorded producer (``RecordingProducer``, unthrottled as a ``rate: max``
   workload sends, values padded to the record size) sends N records to another new topic,
   recording every send (invoke) and every acknowledgement (ok/fail/info) in a history file;
3. ``kafka-consumer-perf-test`` (``ConsumerPerformance``) and the recorded consumer
   (``RecordingConsumer``, every poll recorded with its records) each read those N records.

Both sides are clients on this machine's loopback: the tools run in a container of the Kafka
image on the host's network namespace, so they take the same path to the brokers (their
127.0.0.1 ports) as the harness. The Flink job's input is written by the same recorded
producer (a workload on the job's input topic), so there is no separate input writer to time.
Prints records/s and MB/s of each side, the ratio and the history ops written; the
platform and the tool container are removed at the end, also after an error or Ctrl-C.

Usage: ``python benchmarks/bench_throughput.py [--records N] [--record-bytes B]
[--profile NAME | --target FILE] [--tool-prop KEY=VALUE ...]``. Figures only, no assertions.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from kfchaos.clients import RecordingConsumer, RecordingProducer   # noqa: E402
from kfchaos.history import History                                # noqa: E402
from kfchaos.workload import SERVE_EVERY                           # noqa: E402

QUIET = {"log_level": 0}
PRODUCER_TOOL = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_TOOL = "org.apache.kafka.tools.ConsumerPerformance"


class Tools:
    """A container of the Kafka image in the host's network namespace, labelled with the run so
    that the platform's cleanup removes it too; ``run(cls, args)`` runs one JVM tool in it."""

    def __init__(self, image: str, run_id: str):
        import docker
        from kfchaos.platform.cleanup import run_labels
        self.c = docker.from_env().containers.run(
            image, ["sleep", "3600"], detach=True, network_mode="host", name=f"chaos-{run_id}-perf-tools",
            labels=run_labels(run_id, "perf-tools"), auto_remove=False)

    def run(self, cls: str, args: list[str]) -> str:
        words = " ".join(shlex.quote(a) for a in args)
        res = self.c.exec_run(["sh", "-c", f"java -Xmx512m -cp '/opt/kafka/libs/*' {cls} {words} 2>&1"])
        out = (res.output or b"").decode("utf-8", "replace")
        if res.exit_code != 0:
            raise RuntimeError(f"{cls} exited {res.exit_code}: {out.strip()[-600:]}")
        return out

    def remove(self) -> None:
        try:
            self.c.remove(force=True)
        except Exception:
            pass


def perf_producer(tools: Tools, bootstrap: str, topic: str, n: int, size: int, props: list[str] = ()) -> dict:
    out = tools.run(PRODUCER_TOOL, ["--topic", topic, "--num-records", str(n), "--record-size", str(size),
                                    "--throughput", "-1", "--producer-props", f"bootstrap.servers={bootstrap}",
                                    "acks=all", "enable.idempotence=true", *props])
    totals = [ln for ln in out.splitlines() if "records sent" in ln and "th" in ln]   # with percentiles
    m = re.search(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)", totals[-1] if totals else "")
    if not m:
        raise RuntimeError(f"no total line in the producer perf test's output: {out.strip()[-400:]}")
    print(f"{PRODUCER_TOOL}: {totals[-1].strip()}")
    return {"records": int(m.group(1)), "records/s": float(m.group(2)), "MB/s": float(m.group(3)), "ops": 0}


def perf_consumer(tools: Tools, bootstrap: str, topic: str, n: int) -> dict:
    out = tools.run(CONSUMER_TOOL, ["--bootstrap-server", bootstrap, "--topic", topic, "--messages", str(n),
                                    "--timeout", "60000"])
    lines = [ln for ln in out.splitlines() if re.match(r"\d{4}-\d\d-\d\d", ln)]
    if not lines:
        raise RuntimeError(f"no figures in the consumer perf test's output: {out.strip()[-400:]}")
    print(f"{CONSUMER_TOOL}: {lines[-1].strip()}")
    cols = [c.strip() for c in lines[-1].split(",")]
    # fetch.MB.sec and fetch.nMsg.sec: without the group join (rebalance.time.ms), which the recorded
    # consumer (partitions assigned, no group) does not have either
    return {"records": int(cols[4]), "records/s": float(cols[9]), "MB/s": float(cols[8]), "ops": 0}


def recorded_producer(bootstrap: str, topic: str, n: int, size: int, directory: Path) -> dict:
    h = History(directory / f"{topic}.jsonl")
    p = RecordingProducer(bootstrap, topic, h, "producer-0", acks="all", idempotence=True, record_bytes=size,
                          serve_every=SERVE_EVERY, config={**QUIET, "message.timeout.ms": 120000})
    keys = [f"k{i}" for i in range(24)]
    t0, cpu0 = time.monotonic(), time.process_time()
    for i in range(n):
        p.send(keys[i % 24])
    left = p.flush(120)
    elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
    acked = p.acked_bytes
    p.close()
    h.close()
    sends = _count_sends(h.path)
    return {"records": n - left, "records/s": n / elapsed, "MB/s": acked / elapsed / 2**20, "ops": len(h),
            "detail": f"{sends}; {cpu:.1f} CPU s of this process (librdkafka's threads included) in {elapsed:.1f} s"}


def recorded_consumer(bootstrap: str, topic: str, n: int, directory: Path) -> dict:
    """The recorded consumer reads the topic. Its rate is counted from the end of its first
    non-empty batch, as the tool's fetch rate is counted after its group join: the first
    batch's wait (connections, offset lookup, first fetch) is left out, and so are its
    records; the rate from the assignment on is printed too."""
    h = History(directory / f"{topic}-consumer.jsonl")
    c = RecordingConsumer(bootstrap, topic, None, h, "consumer-0", isolation="read_uncommitted", config=QUIET)
    c.open()
    got, t0 = 0, time.monotonic()
    deadline = t0 + 120
    first = None                      # (records, time) at the end of the first non-empty batch
    while got < n and time.monotonic() < deadline:
        got += len(c.poll_batch(2000, 0.5))
        if first is None and got:
            first = (got, time.monotonic(), c.polled_bytes)
    end = time.monotonic()
    nbytes = c.polled_bytes
    c.close()
    h.close()
    steady = (got - first[0]) / (end - first[1]) if first and end > first[1] else 0.0
    steady_mb = (nbytes - first[2]) / (end - first[1]) / 2**20 if first and end > first[1] else 0.0
    return {"records": got, "records/s": steady, "MB/s": steady_mb, "ops": len(h),
            "detail": f"{got / (end - t0):,.0f} records/s from the assignment on, {got - (first or (0,))[0]:,} "
                      f"records after the first batch of {(first or (0,))[0]:,} "
                      f"(which took {(first[1] - t0) if first else 0:.2f} s)"}


def _count_sends(path: str) -> str:
    from kfchaos.history import iter_load
    kinds: dict[str, int] = {}
    for op in iter_load(path):
        if op["f"] == "send":
            kinds[op["type"]] = kinds.get(op["type"], 0) + 1
    return ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items()))


def _platform(args):
    """(platform, kafka image, stop) for the built-in platform of ``--profile`` or ``--target``."""
    if args.target:
        from kfchaos.platform.images import resolve_images
        from kfchaos.targets.cli import load_platform
        plat = load_platform(args.target)
        plat.start()
        return plat, resolve_images({}, ("kafka",))["kafka"], plat.stop
    from kfchaos import profiles
    from kfchaos.platform.platform import Platform
    profile = profiles.load(args.profile)
    plat = Platform(profile.platform)
    try:
        plat.start()
    except BaseException:
        plat.stop()
        raise
    return plat, plat.images["kafka"], plat.stop


def _table(rows: list[tuple[str, dict, dict]], size: int) -> str:
    out = [f"| side ({size}-byte values, acks=all, idempotent) | records | records/s | MB/s | "
           "harness / Kafka tool | history ops |", "|---|---|---|---|---|---|"]
    for name, mine, ref in rows:
        for who, r in ((f"{name}: Kafka tool", ref), (f"{name}: recorded", mine)):
            ratio = f"{mine['records/s'] / ref['records/s']:.2f}" if r is mine and ref["records/s"] else ""
            out.append(f"| {who} | {r['records']:,} | {r['records/s']:,.0f} | {r['MB/s']:.1f} | {ratio} | "
                       f"{r['ops']:,} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--record-bytes", type=int, default=1024)
    ap.add_argument("--profile", default="kafka-3az")
    ap.add_argument("--target", help="a target file (kfchaos target): its platform instead of a built-in one")
    ap.add_argument("--tool-prop", action="append", default=[], metavar="KEY=VALUE",
                    help="another producer setting for the perf tool (e.g. batch.size=1000000, librdkafka's "
                         "default batch size; the Java client's is 16384)")
    a = ap.parse_args(argv)
    from kfchaos.platform import topics
    t_start = time.monotonic()
    plat, image, stop = _platform(a)
    tools = None
    try:
        tools = Tools(image, getattr(plat, "run_id", None) or uuid.uuid4().hex[:8])
        bs = plat.bootstrap_servers
        tag = uuid.uuid4().hex[:6]
        t_ref, t_rec = f"perf-ref-{tag}", f"perf-rec-{tag}"
        for t in (t_ref, t_rec):
            topics.create_topic(plat, t, 3, 3, {"min.insync.replicas": "2"})
        with tempfile.TemporaryDirectory(prefix="kfchaos-bench-tp-") as d:
            ref_p = perf_producer(tools, bs, t_ref, a.records, a.record_bytes, a.tool_prop)
            rec_p = recorded_producer(bs, t_rec, a.records, a.record_bytes, Path(d))
            ref_c = perf_consumer(tools, bs, t_rec, a.records)
            rec_c = recorded_consumer(bs, t_rec, a.records, Path(d))
        print(f"\nBoth sides ran on the same {os.cpu_count()}-core machine in one run, one after the other, "
              f"against one platform ({getattr(plat, 'run_id', 'target')}), 3 partitions, RF 3, min ISR 2; "
              f"load average {os.getloadavg()[0]:.1f} at the end; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        print("perf tool producer settings: acks=all enable.idempotence=true "
              + (" ".join(a.tool_prop) or "(the rest the Java client's defaults: batch.size 16384, linger.ms 5)"))
        print(_table([("producer", rec_p, ref_p), ("consumer", rec_c, ref_c)], a.record_bytes))
        print(f"recorded producer's sends in its history: {rec_p['detail']}")
        print(f"recorded consumer: {rec_c['detail']}; the tool's figure is its fetch rate (after its group join)")
        print("Flink input writer: the recorded producer itself (a workload on the job's input topic); "
              "no separate writer to time")
        print(f"total {time.monotonic() - t_start:.0f} s with bring-up and teardown")
        return 0
    finally:
        if tools is not None:
            tools.remove()
        stop()


if __name__ == "__main__":
    sys.exit(main())

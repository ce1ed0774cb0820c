"""The recording path's own cost, without a broker: what one recorded send, one delivery
report and one recorded poll cost in CPU, history writes included.

The producer is a real confluent-kafka ``Producer`` pointed at a closed port (its messages
only queue: ``produce()`` costs what it costs with a broker); its delivery reports are then
served by calling the recording callback with a synthetic message, as librdkafka would.
The consumer's ``consume()`` is replaced by a synthetic batch of messages of the requested
value size, so only the recording (decoding, op building, history writes) is timed.

Usage: ``python benchmarks/bench_recording.py [--sends N] [--record-bytes B] [--profile K]``.
Figures only (CPU seconds of this process, ``time.process_time``), no assertions.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kfchaos.clients import RecordingConsumer, RecordingProducer   # noqa: E402
from kfchaos.history import History                                # noqa: E402

QUIET = {"log_level": 0, "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2_000_000}


class _Msg:
    """A delivered or consumed message, as confluent-kafka's Message answers."""
    __slots__ = ("_v", "_k", "_p", "_o")

    def __init__(self, value: bytes, key: bytes, partition: int, offset: int):
        self._v, self._k, self._p, self._o = value, key, partition, offset

    def __len__(self): return len(self._v)
    def value(self): return self._v
    def key(self): return self._k
    def partition(self): return self._p
    def offset(self): return self._o
    def topic(self): return "bench"
    def error(self): return None


def _producer_figures(n: int, record_bytes: int | None, directory: str) -> dict:
    h = History(os.path.join(directory, "producer.jsonl"))
    kw = {"record_bytes": record_bytes} if record_bytes else {}
    p = RecordingProducer("127.0.0.1:1", "bench", h, "producer-0", config=QUIET, **kw)
    t0 = time.process_time()
    for i in range(n):
        p.send(f"k{i % 24}")
    t_send = time.process_time() - t0
    value = p.encode("producer-0-0", "k0", 0, "producer-0")
    pending = list(p._outstanding)
    t0 = time.process_time()
    for i, rid in enumerate(pending):
        p._on_delivery(rid, None, _Msg(value, b"k0", i % 3, i))
    t_ack = time.process_time() - t0
    p._p.purge()
    h.close()
    return {"sends/s": n / t_send, "acks/s": n / t_ack, "value_bytes": len(value), "ops": len(h)}


def _consumer_figures(n: int, record_bytes: int | None, directory: str) -> dict:
    from kfchaos.clients.codec import padded_encoder
    enc = padded_encoder(record_bytes)
    msgs = [_Msg(enc(f"producer-0-{i}", f"k{i % 24}", i // 24, "producer-0"), f"k{i % 24}".encode(), i % 3, i)
            for i in range(500)]
    h = History(os.path.join(directory, "consumer.jsonl"))
    c = RecordingConsumer("127.0.0.1:1", "bench", None, h, "consumer-0", config={"log_level": 0})
    c._opened = True
    c._c.close()
    c._c = type("Batch", (), {"consume": lambda self, k, t: msgs, "close": lambda self: None})()
    t0 = time.process_time()
    for _ in range(n // 500):
        c.poll_batch(500, 0)
    t = time.process_time() - t0
    h.close()
    return {"records/s": (n // 500) * 500 / t, "history_bytes": os.path.getsize(h.path)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sends", type=int, default=200_000)
    ap.add_argument("--record-bytes", type=int, default=1024)
    ap.add_argument("--profile", type=int, default=0, help="print the K most expensive functions")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kfchaos-bench-rec-") as d:
        prof = cProfile.Profile() if a.profile else None
        if prof:
            prof.enable()
        pf = _producer_figures(a.sends, a.record_bytes, d)
        cf = _consumer_figures(a.sends, a.record_bytes, d)
        if prof:
            prof.disable()
    print(f"recording path, CPU of one process, {a.sends:,} sends of {pf['value_bytes']} B values:")
    print(f"  send (invoke + produce):  {pf['sends/s']:>10,.0f} /s")
    print(f"  delivery report (ok op):  {pf['acks/s']:>10,.0f} /s")
    print(f"  producer, both:           {1 / (1 / pf['sends/s'] + 1 / pf['acks/s']):>10,.0f} sends/s")
    print(f"  poll (records recorded):  {cf['records/s']:>10,.0f} records/s "
          f"({cf['history_bytes'] / a.sends:.0f} history bytes a record)")
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(a.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())

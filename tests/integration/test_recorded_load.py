"""Recorded load at full speed on the real platform: a workload at ``rate: max`` with
1024-byte values (the profile's ``workload:`` section) still records an invoke and exactly one
completion for every send, the final read and a recorded consumer see values of that size, and the
durability checker's verdict on the history is valid. No figure of speed is asserted (those
are in benchmarks/bench_throughput.py)."""
import dataclasses
from collections import Counter

import pytest

from kfchaos.checkers import check_all
from kfchaos.clients import RecordingConsumer
from kfchaos.history import History, load
from kfchaos.history_pages import assemble
from kfchaos.workload import Workload, WorkloadSpec

pytestmark = pytest.mark.platform
SIZE = 1024


def test_unthrottled_padded_load_records_every_send(platform, profile, new_topic, tmp_path):
    topic = new_topic()
    fast = dataclasses.replace(profile, workload={"rate": "max", "record_bytes": SIZE})
    path = tmp_path / "history.jsonl"
    with History(path) as h:
        w = Workload(platform, fast, h, topic, WorkloadSpec(duration_s=3, producers=1, consumers=0, quiet_s=1.0),
                     group=f"g-{topic}")
        result = w.run()
    assert w.spec.unthrottled and w.spec.record_bytes == SIZE and w.spec.consumers == 0
    assert result["errors"] == []
    ops = list(assemble(load(path)))              # a final read of this size is written in pages

    sends = [o for o in ops if o["f"] == "send"]
    invoked = Counter(o["value"]["id"] for o in sends if o["type"] == "invoke")
    completed = Counter(o["value"]["id"] for o in sends if o["type"] != "invoke")
    assert invoked and set(invoked.values()) == {1}
    assert completed == invoked                      # one completion for every send, none extra
    acked = {o["value"]["id"] for o in sends if o["type"] == "ok"}
    assert acked, Counter(o["type"] for o in sends)

    (read,) = [o for o in ops if o["f"] == "final-read" and o["value"]["topic"] == topic][-1:]
    values = [r["value"] for r in read["value"]["records"]]
    assert {v["size"] for v in values} == {SIZE}
    assert acked <= {v["id"] for v in values}

    verdict = check_all(ops, checkers=["lost"])["lost"]
    assert verdict.valid == "valid", verdict

    want = min(1000, len(acked))
    polls = History()                 # the recorded consumer records what it polled, padding left out
    with RecordingConsumer(platform.bootstrap_servers, topic, None, polls, "consumer-0",
                           config={"log_level": 0}) as c:
        got = []
        for _ in range(60):
            got += c.poll_batch(500, 0.5)
            if len(got) >= want:
                break
    polled = [r["value"] for o in polls.ops if o["f"] == "poll" for r in o["value"]["records"]]
    assert len(polled) == len(got) >= want and {v["size"] for v in polled} == {SIZE}
    assert all("pad" not in v for v in polled)

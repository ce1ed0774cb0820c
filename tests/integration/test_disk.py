"""disk-full against a platform whose brokers have bounded loop-mounted disks: the disk
really fills, the broker takes its log directory offline, heal frees it and the cluster
is healthy again; the disks are removed with the platform."""
from __future__ import annotations

import time

import docker
import pytest

from kfchaos import profiles
from kfchaos.faults.base import FaultSpec
from kfchaos.faults.nemesis import Nemesis
from kfchaos.history import History, load
from kfchaos.platform import topics
from kfchaos.platform.disks import disks_dir
from kfchaos.platform.health import wait_healthy
from kfchaos.platform.platform import Platform
from tests.integration.kafka_io import consume_all, produce

pytestmark = [pytest.mark.platform, pytest.mark.fault]


@pytest.fixture(scope="module")
def small_disks():
    cfg = profiles.load("kafka-3az").platform
    cfg.broker_disk_mb = 256
    plat = Platform(cfg)
    plat.start()
    try:
        yield plat
    finally:
        plat.stop()
    assert not disks_dir(plat.run_id).exists()
    assert not docker.from_env().volumes.list(filters={"label": f"io.chaos-harness.run={plat.run_id}"})


def test_disk_full_takes_the_broker_down_and_heal_brings_it_back(small_disks, tmp_path):
    plat = small_disks
    code, out = plat.brokers["b"].exec(["df", "-B1M", "--output=size", "/var/lib/kafka"])
    assert int(out.split()[-1]) <= 256
    topic = topics.create_topic(plat, "disk-full", 3, 3, {"min.insync.replicas": "2"})
    with History(tmp_path / "history.jsonl") as h, Nemesis(plat, h) as nemesis:
        with nemesis.fault(FaultSpec("disk-full", "zone:b")):
            produce(plat.bootstrap_servers, topic, 500, size=1024, flush_timeout=120)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and plat.brokers["b"].running() and \
                    "No space left" not in plat.brokers["b"].logs(tail=400):
                time.sleep(2)
            log = plat.brokers["b"].logs(tail=2000)
            assert not plat.brokers["b"].running() or "No space left" in log or "offline" in log
    ops = [op for op in load(tmp_path / "history.jsonl") if op["type"] == "ok"]
    start, stop = ops[-2]["value"]["proof"], ops[-1]["value"]["proof"]
    assert start["df"]["kafka-b"]["free_bytes_after"] < 64 * 1024
    assert stop["free_bytes"]["kafka-b"] > 100 * 1024 * 1024
    wait_healthy(plat, timeout=180)
    t2 = topics.create_topic(plat, "after-disk-full", 3, 3, {})
    acked = produce(plat.bootstrap_servers, t2, 200)
    assert sorted(consume_all(plat.bootstrap_servers, t2, 200)) == sorted(acked)

"""Architectures side by side: each runnable profile started on its own and checked.

One platform at a time: each class has its own class-scoped platform, started with
``Platform(profiles.load(name).platform)`` and removed when the class is done. Every
profile gets the same smoke check (1000 records with acks=all, read back); tiered
Kafka proves that old segments live only in object storage and are still readable;
Tansu shows which Kafka features it serves; AutoMQ, whose image cannot be pulled here,
must fail fast with one clear line and leave nothing running. Nothing is skipped: a
component that cannot start fails the test with its reason.
"""
from __future__ import annotations

import os
import sys
import time
import uuid

import docker
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kfchaos import profiles
from kfchaos.platform import cleanup, topics
from kfchaos.platform.kafka_config import client_config
from kfchaos.platform.platform import Platform, PlatformError
from kfchaos.platform.storage_figures import storage_figures
from kfchaos.platform.waits import Wait
from tests.integration.kafka_io import produce

pytestmark = pytest.mark.platform

TIMINGS: dict[str, float] = {}


def say(msg: str) -> None:
    print(f"[architectures] {msg}", file=sys.stderr, flush=True)


def load(name: str) -> profiles.Profile:
    prof = profiles.load(name)
    prof.platform.images.update(profiles.images_from_env(os.environ.get("CHAOS_IMAGES")))
    return prof


def started(name: str):
    prof = load(name)
    plat = Platform(prof.platform)
    t0 = time.monotonic()
    plat.start()
    TIMINGS[f"{name} bring-up"] = time.monotonic() - t0
    say(f"{name}: up in {TIMINGS[f'{name} bring-up']:.1f}s ({', '.join(f'{k} {v:.1f}s' for k, v in plat.timings.items())})")
    return prof, plat


def read_from_start(bootstrap: str, topic: str, partitions: int, expected: int,
                    timeout: float = 90) -> list[tuple[int, int, bytes]]:
    """Read every partition from offset 0 by assignment (no consumer group)."""
    c = Consumer(client_config(bootstrap, **{"group.id": f"reader-{uuid.uuid4().hex[:6]}",
                                             "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen: list[tuple[int, int, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=1):
                if m.error():
                    raise KafkaException(m.error())
                seen.append((m.partition(), m.offset(), m.value()))
    finally:
        c.close()
    return seen


def smoke(prof: profiles.Profile, plat: Platform) -> None:
    """1000 records with acks=all come back, in offset order, from offset 0."""
    topic = topics.create_topic(plat, f"smoke-{uuid.uuid4().hex[:6]}", prof.partitions, prof.replication_factor,
                                prof.topic_config)
    t0 = time.monotonic()
    acked = produce(plat.bootstrap_servers, topic, 1000)
    TIMINGS[f"{prof.name} produce 1000"] = time.monotonic() - t0
    t0 = time.monotonic()
    seen = read_from_start(plat.bootstrap_servers, topic, prof.partitions, 1000)
    TIMINGS[f"{prof.name} read 1000"] = time.monotonic() - t0
    assert sorted(seen) == sorted(acked), f"read {len(seen)} records, acknowledged {len(acked)}"
    for p in range(prof.partitions):
        offsets = [o for q, o, _ in seen if q == p]
        assert offsets == sorted(offsets), f"partition {p} read out of order"
    say(f"{prof.name}: 1000 acks=all records produced in {TIMINGS[f'{prof.name} produce 1000']:.2f}s, "
        f"read back in {TIMINGS[f'{prof.name} read 1000']:.2f}s")


def _our_containers() -> list[str]:
    return [c.name for c in docker.from_env().containers.list(all=True, filters={"label": cleanup.LABEL_RUN})
            if c.labels.get(cleanup.LABEL_PID) == str(os.getpid())]


def _our_networks() -> list[str]:
    return sorted(n.name for n in docker.from_env().networks.list(filters={"label": cleanup.LABEL_RUN})
                  if (n.attrs.get("Labels") or {}).get(cleanup.LABEL_PID) == str(os.getpid()))


# ---- kafka-3az-tiered ------------------------------------------------------------------
def local_log_offsets(node, topic: str, partition: int) -> list[int]:
    """Base offsets of the segment files a broker holds on its own disk for a partition."""
    code, out = node.exec(["sh", "-c", f"ls /var/lib/kafka/data/{topic}-{partition}/ 2>/dev/null"], check=False)
    return sorted(int(f[:-4]) for f in out.split() if f.endswith(".log") and f[:-4].isdigit())


@pytest.fixture(scope="class")
def tiered():
    prof, plat = started("kafka-3az-tiered")
    try:
        yield prof, plat
    finally:
        plat.stop()


class TestKafkaTiered:
    def test_smoke(self, tiered):
        smoke(*tiered)

    def test_old_segments_are_only_in_object_storage_and_still_readable(self, tiered):
        prof, plat = tiered
        topic = topics.create_topic(plat, f"tiered-{uuid.uuid4().hex[:6]}", 1, 3, prof.topic_config)
        n, size = 6000, 1024                  # ~6 MiB: several 1 MiB segments roll
        t0 = time.monotonic()
        acked = produce(plat.bootstrap_servers, topic, n, size=size, partition=0, flush_timeout=120)
        assert len(acked) == n

        s3 = plat.s3_client()

        def tiered_away():
            keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="kafka-tiered",
                                                                                       Prefix=f"{topic}-0-")
                    for o in page.get("Contents", [])]
            segments = [k for k in keys if k.endswith(".log")]
            local = {z: local_log_offsets(node, topic, 0) for z, node in plat.brokers.items()}
            ok = bool(segments) and all(offs and offs[0] > 0 for offs in local.values())
            return ok, f"{len(segments)} segments in the bucket; local base offsets {local}"
        Wait("segments to move to object storage and leave every broker's disk", tiered_away,
             timeout=180, interval=2).until_ready()
        TIMINGS["kafka-3az-tiered tier-out"] = time.monotonic() - t0
        _, detail = tiered_away()
        say(f"kafka-3az-tiered: tiered in {TIMINGS['kafka-3az-tiered tier-out']:.1f}s: {detail}")

        t0 = time.monotonic()
        seen = read_from_start(plat.bootstrap_servers, topic, 1, n, timeout=120)
        TIMINGS["kafka-3az-tiered remote read"] = time.monotonic() - t0
        assert len(seen) == n, f"read {len(seen)} of {n} records from offset 0"
        assert seen[0][1] == 0 and seen[0][2].startswith(b"0:"), "offset 0 was not served"
        assert [o for _, o, _ in seen] == list(range(n)), "offsets read from remote storage have gaps"
        assert sorted(seen) == sorted(acked)
        figures = storage_figures(plat, detail=True)
        say(f"kafka-3az-tiered: read {n} records from offset 0 (remote) in "
            f"{TIMINGS['kafka-3az-tiered remote read']:.1f}s; storage {figures}")
        assert figures["bytes_in_object_storage"] > 3 * 1024 * 1024


# ---- tansu-s3 ----------------------------------------------------------------------------
@pytest.fixture(scope="class")
def tansu():
    prof, plat = started("tansu-s3")
    try:
        yield prof, plat
    finally:
        plat.stop()


class TestTansu:
    def test_smoke(self, tansu):
        smoke(*tansu)

    def test_log_lives_in_the_bucket_not_on_broker_disks(self, tansu):
        prof, plat = tansu
        topic = topics.create_topic(plat, f"where-{uuid.uuid4().hex[:6]}", 1, 1, {})
        produce(plat.bootstrap_servers, topic, 500, size=512, partition=0, flush_timeout=120)
        figures = storage_figures(plat, detail=True)
        say(f"tansu-s3: storage {figures}")
        assert figures["bytes_in_object_storage"] >= 500 * 512
        assert figures["bytes_on_broker_disks"] < 64 * 1024

    def test_every_zone_broker_serves_the_same_log(self, tansu):
        """Stateless brokers over one bucket: write through one zone, read through another."""
        prof, plat = tansu
        topic = topics.create_topic(plat, f"zones-{uuid.uuid4().hex[:6]}", 1, 1, {})
        zones = list(plat.zones)
        direct = {z: f"127.0.0.1:{plat.brokers[z].host_port(9094)}" for z in zones}
        acked = produce(direct[zones[0]], topic, 200, partition=0)
        acked += produce(direct[zones[-1]], topic, 200, partition=0)
        offsets = sorted(o for _, o, _ in acked)
        assert offsets == list(range(400)), "two brokers appending to one partition produced gaps or clashes"
        for z in zones:
            seen = read_from_start(direct[z], topic, 1, 400)
            assert sorted(seen) == sorted(acked), f"broker of zone {z} serves a different log"

    def test_consumer_group_commits_and_resumes(self, tansu):
        prof, plat = tansu
        topic = topics.create_topic(plat, f"group-{uuid.uuid4().hex[:6]}", 1, 1, {})
        produce(plat.bootstrap_servers, topic, 100, partition=0)
        group = f"g-{uuid.uuid4().hex[:6]}"
        conf = client_config(plat.bootstrap_servers, **{"group.id": group, "enable.auto.commit": False,
                                                        "auto.offset.reset": "earliest"})
        c = Consumer(conf)
        c.subscribe([topic])
        got: list[int] = []
        unknown_topic = 0
        deadline = time.monotonic() + 120
        while len(got) < 50 and time.monotonic() < deadline:
            for m in c.consume(50 - len(got), timeout=1):
                if m.error() and m.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    unknown_topic += 1     # a new topic reaches each stateless broker's metadata a bit later
                    continue
                assert not m.error(), m.error()
                got.append(m.offset())
        if unknown_topic:
            say(f"tansu-s3: the group member saw 'unknown topic' {unknown_topic} time(s) before the topic appeared")
        assert len(got) == 50, f"group member read {len(got)} records"
        c.commit(asynchronous=False)
        c.close()
        committed = Consumer(conf).committed([TopicPartition(topic, 0)], timeout=10)[0].offset
        assert committed == 50, f"committed offset {committed}"

    def test_transactions_are_unsupported_and_declared_so(self, tansu):
        """Flink's exactly-once sink needs transactions. Tansu 0.6 lets a transactional
        producer start but answers EndTxn as unsupported, so the flavor declares
        `transactions` missing and Flink scenarios report their contracts unknown."""
        prof, plat = tansu
        topic = topics.create_topic(plat, f"txn-{uuid.uuid4().hex[:6]}", 1, 1, {})
        p = Producer(client_config(plat.bootstrap_servers, **{"transactional.id": f"tx-{uuid.uuid4().hex[:6]}",
                                                              "enable.idempotence": True}))
        p.init_transactions(30)
        p.begin_transaction()
        p.produce(topic, value=b"in-a-transaction", partition=0)
        with pytest.raises(KafkaException) as err:
            p.commit_transaction(30)
        assert err.value.args[0].code() == KafkaError._UNSUPPORTED_FEATURE, err.value
        assert "EndTxn" in str(err.value)
        assert "EndTxn" in plat.flavor.missing("transactions")

    def test_flavor_declares_what_it_lacks(self, tansu):
        prof, plat = tansu
        for feature in ("controller-quorum", "replication", "partition-leader", "transactions"):
            assert plat.flavor.missing(feature)
        assert plat.flavor.missing("consumer-groups") is None      # groups work (test above)


# ---- automq --------------------------------------------------------------------------------
class TestAutoMQ:
    def test_missing_image_fails_fast_with_one_clear_line(self):
        from kfchaos.images.cache import image_exists
        from kfchaos.platform.images import PUBLIC_DEFAULTS
        prof = load("automq")
        image = prof.platform.images.get("automq") or PUBLIC_DEFAULTS["automq"]
        if image_exists(image):
            # The image was provided (docker pull / docker load): then it must really run.
            prof, plat = started("automq")
            try:
                smoke(prof, plat)
            finally:
                plat.stop()
            return
        before, nets_before = _our_containers(), _our_networks()
        t0 = time.monotonic()
        with pytest.raises(PlatformError) as err:
            Platform(prof.platform).start()
        elapsed = time.monotonic() - t0
        TIMINGS["automq fail-fast"] = elapsed
        message = str(err.value)
        say(f"automq: failed in {elapsed:.2f}s with: {message}")
        assert "\n" not in message
        assert image in message and "docker pull" in message and "CHAOS_IMAGES=automq=" in message
        assert elapsed < 10
        assert _our_containers() == before, "a failed AutoMQ start left containers behind"
        assert _our_networks() == nets_before, "a failed AutoMQ start left a network behind"


def teardown_module(module):
    if TIMINGS:
        say("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMINGS.items()))

"""The rehearsal's pure pieces: MirrorMaker 2's configuration in each delivery mode and the
sizing of both platforms (a small Flink cluster and small broker heaps on each)."""
from kfchaos.migrate.mirror import DELIVERY, free_port, render_config
from kfchaos.migrate.rehearsal import sized
from kfchaos.profiles import load as load_profile


def props(text: str) -> dict:
    return dict(line.split(" = ", 1) for line in text.splitlines() if line)


def test_at_least_once_mirroring_has_no_transactions_and_no_rest_server():
    p = props(render_config("a:1", "b:2", ["t"], ["g", "job"], 3))
    assert not any("exactly.once" in k or k == "listeners" for k in p)
    assert p["source->target.groups"] == "g|job"


def test_exactly_once_mirroring_writes_in_transactions_and_reads_the_source_committed():
    port = free_port()
    p = props(render_config("a:1", "b:2", ["t"], ["g"], 3, port))
    assert p["target.exactly.once.source.support"] == "enabled"
    assert p["source.consumer.isolation.level"] == "read_committed"
    assert p["dedicated.mode.enable.internal.rest"] == "true"
    assert p["listeners"] == f"http://127.0.0.1:{port}"          # loopback only
    assert DELIVERY == ("at-least-once", "exactly-once")


def test_both_platforms_run_one_small_flink_cluster():
    p = sized(load_profile("kafka-3az"))
    f = p.platform.flink
    assert (f.taskmanagers, f.slots, f.ha) == (1, 1, "none")
    assert p.platform.kafka_heap.endswith("512m")

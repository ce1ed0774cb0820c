"""Recording clients against the real platform: every operation is recorded with the
right outcome, and a short recorded workload gets a valid verdict from the checkers."""
import time

import pytest

from kfchaos.checkers import check_all, compose
from kfchaos.clients import (RecordingConsumer, RecordingProducer, TransactionalProducer,
                             final_read, records_read)
from kfchaos.checkers.index import HistoryIndex
from kfchaos.history import History
from kfchaos.history_pages import assemble

from tests.integration.kafka_io import produce

QUIET = {"log_level": 0}
GROUP = {**QUIET, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
pytestmark = pytest.mark.platform


@pytest.fixture
def bootstrap(platform):
    return platform.bootstrap_servers


@pytest.fixture
def topic(new_topic):
    return new_topic()


def consume_all(c, n, timeout=20.0):
    got = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        got += c.poll_batch(200, 0.3)
    return got


def test_producer_records_invokes_and_acks(bootstrap, topic):
    h = History()
    with RecordingProducer(bootstrap, topic, h, "producer-0", config=QUIET) as p:
        ids = [p.send(f"k{i % 3}") for i in range(30)]
        assert p.flush(10) == 0 and p.outstanding == 0
    sends = [o for o in h.ops if o["f"] == "send"]
    assert [o["type"] for o in sends].count("invoke") == 30
    oks = [o for o in sends if o["type"] == "ok"]
    assert len(oks) == 30 and sorted(o["value"]["id"] for o in oks) == sorted(ids)
    assert len(set(ids)) == 30 and ids[0] == "producer-0-0"
    for o in oks:
        assert {"partition", "offset", "topic", "key", "seq"} <= set(o["value"])
    k0 = [o["value"]["seq"] for o in sends if o["type"] == "invoke" and o["value"]["key"] == "k0"]
    assert k0 == list(range(10))


def test_idempotent_producer_records_its_producer_id_and_keeps_a_quiet_log(bootstrap, topic):
    """librdkafka's eos debug lines become client-event ops; a caller's quiet log_level
    still keeps them (and every other line below it) out of the caller's logger."""
    import logging
    seen: list[int] = []

    class Sink(logging.Handler):
        def emit(self, record):
            seen.append(record.levelno)

    lg = logging.getLogger("test.clients.quiet")
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    lg.handlers[:] = [Sink()]
    h = History()
    with RecordingProducer(bootstrap, topic, h, "producer-7",
                           config={"log_level": 3, "logger": lg}) as p:
        for i in range(20):
            p.send(f"k{i % 2}")
        assert p.flush(10) == 0
    evs = [o for o in h.ops if o["f"] == "client-event"]
    assigned = [o["value"] for o in evs if o["value"]["event"] == "pid-assigned"]
    assert len(assigned) == 1 and assigned[0]["pid"] >= 0 and assigned[0]["epoch"] == 0, evs
    assert all(o["process"] == "producer-7" and o["type"] == "info" for o in evs)
    assert all(level >= logging.ERROR for level in seen), seen
    oks = [o for o in h.ops if o["f"] == "send" and o["type"] == "ok"]
    assert len(oks) == 20
    assert check_all(h.ops, checkers=["lost", "duplicate", "ordering"])["duplicate"].valid \
        != "invalid"


def test_non_idempotent_producer_records_no_client_events(bootstrap, topic):
    h = History()
    with RecordingProducer(bootstrap, topic, h, "producer-8", idempotence=False,
                           config=QUIET) as p:
        p.send("k")
        assert p.flush(10) == 0
    assert [o for o in h.ops if o["f"] == "client-event"] == []
    assert "debug" not in p.config


def test_unreachable_broker_sends_complete_on_close():
    h = History()
    p = RecordingProducer("127.0.0.1:1", "nowhere", h, "producer-9",
                          config={**QUIET, "socket.connection.setup.timeout.ms": 1000})
    for i in range(3):
        p.send("k")
    p.close(timeout=0.5)
    sends = [o for o in h.ops if o["f"] == "send"]
    assert [o["type"] for o in sends].count("invoke") == 3
    done = [o for o in sends if o["type"] != "invoke"]
    assert len(done) == 3 and all(o["type"] in ("fail", "info") for o in done)
    assert all("error" in o["value"] for o in done)


def test_transactions_commit_and_abort(bootstrap, topic):
    h = History()
    tp = TransactionalProducer(bootstrap, topic, h, "txn-producer-0", config=QUIET)
    a = tp.txn(["k1", "k2"])
    b = tp.txn(["k3"], abort=True)
    c = tp.txn(["k1"])
    tp.close()
    assert (a["type"], b["type"], c["type"]) == ("ok", "fail", "ok")
    assert all(s["offset"] is not None and s["partition"] is not None
               for s in a["value"]["sends"])
    assert [s["seq"] for s in c["value"]["sends"]] == [1]
    fr = final_read(bootstrap, topic, h, timeout=20, config=QUIET)
    assert fr["type"] == "ok"
    ids = {r["value"]["id"] for r in fr["value"]["records"]}
    assert ids == {s["id"] for s in a["value"]["sends"] + c["value"]["sends"]}
    v = check_all(h.ops)
    assert compose(v) == "valid", {k: x.counts() for k, x in v.items()}
    assert v["offsets"].stats["topics"][topic] == "transactional"


def test_group_consumer_commit_and_final_read(bootstrap, topic):
    h = History()
    with RecordingProducer(bootstrap, topic, h, "producer-0", config=QUIET) as p:
        for i in range(40):
            p.send(f"k{i % 5}")
        p.flush(10)
    c = RecordingConsumer(bootstrap, topic, "g1", h, "consumer-0", config=GROUP).open()
    got = consume_all(c, 40)
    done = c.commit()
    c.close()
    assert len(got) == 40 and done["type"] == "ok"
    fs = [o["f"] for o in h.ops if o["process"] == "consumer-0"]
    assert fs[0] == "assign" and "poll" in fs and fs[-2:] == ["revoke", "client-bytes"]
    # the bytes consumer-0 polled are those producer-0 had acknowledged (the same 40 records)
    produced, polled = ([o["value"] for o in h.ops if o["f"] == "client-bytes" and o["process"] == proc][0]
                        for proc in ("producer-0", "consumer-0"))
    assert produced["role"] == "produce" and polled["role"] == "consume"
    assert polled["bytes"] == produced["bytes"] > 40 * 40
    assign = next(o for o in h.ops if o["f"] == "assign")
    assert assign["value"]["group"] == "g1" and "positions" in assign["value"]
    # a second member of the group starts at the committed offsets
    with RecordingProducer(bootstrap, topic, h, "producer-1", config=QUIET) as p:
        for i in range(10):
            p.send(f"k{i % 5}")
    c2 = RecordingConsumer(bootstrap, topic, "g1", h, "consumer-1", config=GROUP).open()
    assert len(consume_all(c2, 10)) == 10
    c2.close()
    fr = final_read(bootstrap, topic, h, timeout=20, config=QUIET)
    assert fr["type"] == "ok" and len(fr["value"]["records"]) == 50
    # Kafka lists the end Fetch reports: nothing past it, every partition's end confirmed
    assert fr["value"]["past_end"] == [] and fr["value"]["fetch_end_offsets"] == fr["value"]["end_offsets"]
    v = check_all(h.ops)
    assert compose(v) == "valid", {k: x.counts() for k, x in v.items()}
    assert v["group"].stats["rebalance-starts"] >= 1


def test_consumer_without_group(bootstrap, topic):
    h = History()
    with RecordingProducer(bootstrap, topic, h, "producer-0", config=QUIET) as p:
        for i in range(5):
            p.send("k")
    c = RecordingConsumer(bootstrap, topic, None, h, "reader-0", config=QUIET).open()
    assert len(consume_all(c, 5)) == 5
    assert c.commit() is None
    c.close()
    (a,) = [o for o in h.ops if o["f"] == "assign"]
    assert a["value"]["group"] is None


def test_final_read_of_empty_topic(bootstrap, topic):
    h = History()
    fr = final_read(bootstrap, topic, h, timeout=10, config=QUIET)
    assert fr["type"] == "ok" and fr["value"]["records"] == []
    assert set(fr["value"]["end_offsets"].values()) == {0}


def test_final_read_in_pages_equals_one_read(bootstrap, new_topic):
    """3,000 records read with page_records=500: five final-read-page ops of 500 records, the
    final op with the last 500 and pages=5, and the assembled read is the unpaged read. The
    returned op is the final op as written (pages are not kept) with records_read=3000."""
    topic = new_topic(partitions=3)
    acked = produce(bootstrap, topic, 3000)
    assert len(acked) == 3000
    h, plain_h = History(), History()
    got = final_read(bootstrap, topic, h, timeout=60, config=QUIET, page_records=500)
    plain = final_read(bootstrap, topic, plain_h, timeout=60, config=QUIET)
    pages = [o for o in h.ops if o["f"] == "final-read-page"]
    last = h.ops[-1]
    assert [o["value"]["page"] for o in pages] == [0, 1, 2, 3, 4]
    assert all(o["type"] == "info" and o["process"] == "final-reader" and o["value"]["topic"] == topic
               and len(o["value"]["records"]) == 500 for o in pages)
    assert last["f"] == "final-read" and last["type"] == "ok" and last["value"]["pages"] == 5
    assert len(last["value"]["records"]) == 500
    assert [o["f"] for o in plain_h.ops] == ["final-read"] and "pages" not in plain["value"]
    assert got == dict(last, value=dict(last["value"], records_read=3000))
    assert records_read(got) == records_read(plain) == 3000
    whole = list(assemble(h.ops))
    assert len(whole) == 1 and "pages" not in whole[0]["value"]
    got = whole[0]
    key = lambda r: (r["partition"], r["offset"])     # noqa: E731 - pages are sorted one by one
    assert sorted(got["value"]["records"], key=key) == plain["value"]["records"]
    assert len(plain["value"]["records"]) == 3000
    assert {(r["partition"], r["offset"]) for r in plain["value"]["records"]} == {(p, o) for p, o, _ in acked}
    same = ("topic", "isolation", "start_offsets", "end_offsets", "fetch_end_offsets", "past_end")
    assert {k: got["value"][k] for k in same} == {k: plain["value"][k] for k in same}
    a, b = HistoryIndex(h.ops).final_read(topic), HistoryIndex(plain_h.ops).final_read(topic)
    assert a.n_records == b.n_records == 3000 and a.at == b.at and a.end == b.end

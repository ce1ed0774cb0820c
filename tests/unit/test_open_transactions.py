"""The ``open-transactions`` op: Kafka's ``describe-producers`` table parsed, the op validated
by the history schema, and cited (never decided on) by the exactly-once checker's
missing-output examples, the same from a stored history as in memory."""
from __future__ import annotations

import pytest

from kfchaos.analyze import analyze_scenario
from kfchaos.checkers import exactly_once
from kfchaos.checkers.inject import final_read_op
from kfchaos.checkers.partitioner import murmur2, partition_for_key
from kfchaos.checkers.synth import generate
from kfchaos.history import History, HistoryError, load
from kfchaos.platform.producer_state import parse_describe_producers, record_open_transactions

from .test_analyze_engine import write_scenario

TABLE = """[2026-11-28 17:00:01,123] WARN some log line (org.apache.kafka.clients.NetworkClient)
ProducerId\tProducerEpoch\tLatestCoordinatorEpoch\tLastSequence\tLastTimestamp\tCurrentTransactionStartOffset
1000\t3\t0\t41\t1764349200000\t1234
1001\t0\t0\t-1\t1764349200001\tNone
1002\t1\t2\t7\t1764349200002\t-1
"""


def test_the_tools_table_is_parsed_and_an_open_transaction_has_its_first_offset():
    got = parse_describe_producers(TABLE)
    assert [p["producer_id"] for p in got] == [1000, 1001, 1002]
    assert [p["txn_start_offset"] for p in got] == [1234, None, None]
    assert got[0] == {"producer_id": 1000, "epoch": 3, "coordinator_epoch": 0, "last_sequence": 41,
                      "last_timestamp": 1764349200000, "txn_start_offset": 1234}
    assert got[1]["last_sequence"] is None
    header_only = TABLE.splitlines()[1]
    assert parse_describe_producers(header_only) == []            # no producer: an empty result
    with pytest.raises(ValueError, match="no producer table"):
        parse_describe_producers("Error: the topic does not exist")


def _op(h: History, partitions=None, unavailable=None, topic="out"):
    value = {"topic": topic}
    if partitions is not None:
        value["partitions"] = partitions
    if unavailable is not None:
        value["unavailable"] = unavailable
    return (h.ok if unavailable is None else h.info)("harness", "open-transactions", value)


OPEN = [{"partition": 0, "producers": []},
        {"partition": 1, "producers": [{"producer_id": 1000, "epoch": 3, "txn_start_offset": 57}]},
        {"partition": 2, "producers": [{"producer_id": 1001, "txn_start_offset": None}]}]


def test_the_op_is_validated_by_the_history_schema(tmp_path):
    good = tmp_path / "good.jsonl"
    with History(good) as h:
        _op(h, OPEN)
        _op(h, unavailable="KubernetesPlatform targets run no Kafka tool in a broker container")
        h.info("harness", "open-transactions", {"topic": "out", "partitions": [
            {"partition": 0, "producers": None, "error": "RuntimeError: exit 1"}]})
    assert [op["type"] for op in load(good)] == ["ok", "info", "info"]
    for bad, words in (([{"partition": 0, "producers": [{"producer_id": "x"}]}], "producer_id is 'x'"),
                       ([{"producers": []}], 'has no "partition"'),
                       ([{"partition": 1, "producers": [{"producer_id": 1, "txn_start_offset": "7"}]}],
                        "txn_start_offset is '7'")):
        path = tmp_path / "bad.jsonl"
        with History(path) as h:
            _op(h, bad)
        with pytest.raises(HistoryError, match=words):
            load(path)


def _missing_one(seed: int):
    """A valid Flink history with one output record dropped: one missing-output."""
    sim = generate(seed, 600, flink=True, faults=1)
    fr = final_read_op(sim.ops, "out")
    recs = fr["value"]["records"]
    gone = recs.pop(len(recs) // 2)["value"]["id"]
    return sim.ops, gone


def test_kafkas_default_partitioner_is_reproduced():
    # the reference values of Kafka's own murmur2 tests
    for text, want in (("21", -973932308), ("foobar", -790332482), ("a-little-bit-long-string", -985981536),
                       ("a-little-bit-longer-string", -1486304829), ("abc", 479470107),
                       ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)):
        assert murmur2(text.encode()) == want, text
    assert all(0 <= partition_for_key(f"k{i}", 3) < 3 for i in range(50))
    assert {partition_for_key(f"k{i}", 3) for i in range(50)} == {0, 1, 2}


def _open_on(partitions: int, where: dict) -> list[dict]:
    """Producer states of ``partitions`` partitions; ``where``: partition -> producer id with a
    transaction open from offset 57."""
    return [{"partition": p, "producers": [{"producer_id": where[p], "epoch": 3, "txn_start_offset": 57}]
             if p in where else [{"producer_id": 900 + p, "txn_start_offset": None}]} for p in range(partitions)]


def _with(ops, *more):
    h = History()
    for op in ops:
        h.append({k: v for k, v in op.items() if k != "index"})
    for args in more:
        _op(h, *args)
    return h


def test_a_missing_output_example_cites_the_transaction_open_on_its_partition_and_the_verdict_stays():
    ops, gone = _missing_one(11)
    key = next(o["value"]["key"] for o in ops if o["f"] == "send" and o["value"]["id"] == gone)
    p, other = partition_for_key(key, 2), 1 - partition_for_key(key, 2)
    plain = exactly_once.check(ops)
    h = _with(ops, (_open_on(2, {p: 1000, other: 1001}),),
              ([{"partition": 0, "producers": [{"producer_id": 9, "txn_start_offset": 3}]}], None, "t"))
    cited = exactly_once.check(h.ops)
    assert plain.valid == cited.valid == "invalid" and plain.counts() == cited.counts()
    (ex,) = [e for e in cited.anomalies["missing-output"].examples if e.get("id") == gone]
    assert ex["output_partition"] == p
    assert ex["open_transactions"] == [{"partition": p, "producer_id": 1000, "txn_start_offset": 57,
                                        "index": h.ops[-2]["index"]}]      # not the other partition's
    assert cited.stats["open-transactions"] == 2
    assert all("open_transactions" not in e and "output_partition" not in e
               for e in plain.anomalies["missing-output"].examples)
    assert "open-transactions" not in plain.stats
    h = _with(ops, (_open_on(2, {other: 1001}),))                           # open elsewhere only
    (ex,) = [e for e in exactly_once.check(h.ops).anomalies["missing-output"].examples if e.get("id") == gone]
    assert ex["output_partition"] == p and "open_transactions" not in ex


def test_without_a_known_key_every_partitions_open_transaction_is_cited():
    txns = exactly_once.OpenTransactions([{"partition": 1, "producer_id": 5, "txn_start_offset": 2, "index": 9}],
                                         None, 3)
    assert exactly_once._citation(txns, "k1", keyed=False) == {"open_transactions": txns.found}
    assert exactly_once._citation(txns, None, keyed=True) == {"open_transactions": txns.found}
    assert exactly_once._citation(exactly_once.OpenTransactions([], None, 3), None, keyed=False) == {}


def test_no_open_transaction_or_an_unknown_one_cites_nothing():
    ops, _ = _missing_one(12)
    for extra, stat in (({"partitions": [{"partition": 0, "producers": []}]}, None),
                        ({"unavailable": "no tool"}, "0; unknown for no tool")):
        h = History()
        for op in ops:
            h.append({k: v for k, v in op.items() if k != "index"})
        (h.info if "unavailable" in extra else h.ok)("harness", "open-transactions", {"topic": "out", **extra})
        v = exactly_once.check(h.ops)
        assert v.valid == "invalid"
        assert all("open_transactions" not in e for e in v.anomalies["missing-output"].examples)
        assert v.stats.get("open-transactions") == stat


def test_analyze_gives_the_citation_from_the_stored_history(tmp_path):
    ops, gone = _missing_one(13)
    key = next(o["value"]["key"] for o in ops if o["f"] == "send" and o["value"]["id"] == gone)
    opened = _open_on(2, {partition_for_key(key, 2): 1000})
    d = write_scenario(tmp_path, "tm-kill", ops, contracts=("exactly-once",), extra=[lambda h: _op(h, opened)])
    result, verdicts = analyze_scenario(d)
    stored = verdicts["exactly-once"].to_dict()
    memory = exactly_once.check(load(d / "history.jsonl")).to_dict()
    assert stored["valid"] == memory["valid"] == "invalid"
    assert stored["anomalies"]["missing-output"]["examples"] == memory["anomalies"]["missing-output"]["examples"]
    (ex,) = [e for e in stored["anomalies"]["missing-output"]["examples"] if e.get("id") == gone]
    assert [t["producer_id"] for t in ex["open_transactions"]] == [1000]


class _NoTools:
    """A target whose brokers run no Kafka tool (what a Kubernetes target is to this op)."""
    flavor = None


def test_a_target_without_the_tool_records_the_op_as_unknown_with_the_reason():
    h = History()
    op = record_open_transactions(h, _NoTools(), "out", [0, 1, 2])
    assert op["type"] == "info" and "run no Kafka tool" in op["value"]["unavailable"]
    op = record_open_transactions(h, _NoTools(), "out", None, "the partitions of out could not be listed")
    assert op["type"] == "info" and op["value"]["unavailable"].startswith("the partitions of out")

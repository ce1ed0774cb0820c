"""The ``open-transactions`` op: Kafka's ``describe-producers`` table parsed, the op validated
by the history schema, and cited (never decided on) by the exactly-once checker's
missing-output examples, the same from a stored history as in memory."""
from __future__ import annotations

import pytest

from kfchaos.analyze import analyze_scenario
from kfchaos.checkers import exactly_once
from kfchaos.checkers.inject import final_read_op
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


def test_a_missing_output_example_cites_the_open_transaction_and_the_verdict_stays():
    ops, gone = _missing_one(11)
    plain = exactly_once.check(ops)
    h = History()
    for op in ops:
        h.append({k: v for k, v in op.items() if k != "index"})
    _op(h, OPEN)
    _op(h, [{"partition": 0, "producers": [{"producer_id": 9, "txn_start_offset": 3}]}], topic="t")
    cited = exactly_once.check(h.ops)
    assert plain.valid == cited.valid == "invalid"
    assert plain.counts() == cited.counts()
    (ex,) = [e for e in cited.anomalies["missing-output"].examples if e.get("id") == gone]
    assert ex["open_transactions"] == [{"partition": 1, "producer_id": 1000, "txn_start_offset": 57,
                                        "index": h.ops[-2]["index"]}]              # the output topic's only
    assert cited.stats["open-transactions"] == 1
    assert all("open_transactions" not in e for e in plain.anomalies["missing-output"].examples)
    assert "open-transactions" not in plain.stats


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
    d = write_scenario(tmp_path, "tm-kill", ops, contracts=("exactly-once",), extra=[lambda h: _op(h, OPEN)])
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

"""Output contracts of a user's job: exactly-once-by-id, per-key-sequence and a user function,
on synthetic histories (input writes by the harness, the job's output as an output-read)."""
from __future__ import annotations

import sys
import textwrap

import pytest

from kfchaos.checkers import check_all, exactly_once, output_contract
from kfchaos.checkers.synth import Builder
from kfchaos.history_schema import first_bad


def history(outputs: list[dict], sends=("o-1", "o-2", "o-3"), unacked=()) -> Builder:
    b = Builder()
    for i, rid in enumerate(sends):
        b.send(rid, key=f"c{i % 2}", seq=i, o=i, topic="in")
    for rid in unacked:
        b.send(rid, key="c0", topic="in", type_="info")
    b.op("final-reader", "ok", "output-read", {
        "topic": "out", "isolation": "read_committed",
        "records": [{"partition": 0, "offset": i, "key": None, "value": v, "headers": {}}
                    for i, v in enumerate(outputs)]})
    return b


def by_id(b: Builder, **kw) -> object:
    return exactly_once.check(b.ops, input_topic="in", output_topic="out",
                              output_contract="exactly-once-by-id", id_field="orderId", **kw)


def test_every_input_once_in_the_output_holds():
    b = history([{"orderId": r, "tier": "gold"} for r in ("o-1", "o-2", "o-3")])
    v = by_id(b)
    assert v.valid == "valid" and v.checker == "exactly-once", v.reason
    assert v.stats["output-ids"] == 3 and v.stats["required"] == 3


def test_missing_duplicate_unexpected_and_unreadable_are_each_caught():
    outs = [{"orderId": "o-1"}, {"orderId": "o-1"}, {"orderId": "zz-9"}, {"tier": "no id"}]
    v = by_id(history(outs))
    assert v.valid == "invalid"
    counts = v.counts()
    assert counts == {"missing-output": 2, "duplicate-output": 1, "unexpected-output": 1,
                      "unreadable-output": 1}, counts
    assert {ex["id"] for ex in v.anomalies["missing-output"].examples} == {"o-2", "o-3"}


def test_unknown_outcome_input_is_not_required_but_may_appear():
    b = history([{"orderId": r} for r in ("o-1", "o-2", "o-3", "u-1")], unacked=("u-1", "u-2"))
    assert by_id(b).valid == "valid"


def test_id_from_a_header_and_a_nested_field():
    b = Builder()
    b.send("o-1", topic="in", o=0)
    b.op("r", "ok", "output-read", {"topic": "out", "records": [
        {"partition": 0, "offset": 0, "value": "plain text", "headers": {"x-id": "o-1"}}]})
    assert by_id(b, id_header="x-id").valid == "valid"
    b = history([{"order": {"id": r}} for r in ("o-1", "o-2", "o-3")])
    assert exactly_once.check(b.ops, input_topic="in", output_topic="out", id_field="order.id",
                              output_contract="exactly-once-by-id").valid == "valid"


def test_per_key_sequence_gap_and_repeat():
    good = [{"customer": "a", "n": 1}, {"customer": "a", "n": 2}, {"customer": "b", "n": 1}]
    opts = dict(input_topic="in", output_topic="out", output_contract="per-key-sequence",
                key_field="customer", sequence_field="n")
    assert exactly_once.check(history(good).ops, **opts).valid == "valid"
    bad = good + [{"customer": "a", "n": 2}, {"customer": "b", "n": 3}, {"customer": "b"}]
    v = exactly_once.check(history(bad).ops, **opts)
    assert v.counts() == {"count-repeat": 1, "count-gap": 1, "unreadable-output": 1}, v.counts()


def test_no_output_read_is_unknown():
    b = Builder()
    b.send("o-1", topic="in", o=0)
    v = by_id(b)
    assert v.valid == "unknown" and "no output read" in v.reason


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "team_checks.py").write_text(textwrap.dedent('''
        def totals(inputs, outputs, **options):
            want = sum(1 for i in inputs.values() if i["required"])
            got = len(outputs)
            if got < want:
                return {"valid": False, "anomalies": {"short": [{"want": want, "got": got}]}}
            return {"valid": True}

        def broken(inputs, outputs, **options):
            raise RuntimeError("bug in the team's checker")
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "team_checks"
    sys.modules.pop("team_checks", None)


def test_user_function_decides(user_module):
    opts = dict(input_topic="in", output_topic="out", output_contract=f"{user_module}:totals")
    assert exactly_once.check(history([{"x": 1}] * 3).ops, **opts).valid == "valid"
    v = exactly_once.check(history([{"x": 1}]).ops, **opts)
    assert v.valid == "invalid" and v.anomalies["short"].examples == [{"want": 3, "got": 1}]


def test_a_crashing_user_function_is_isolated(user_module):
    vs = check_all(history([{"x": 1}]).ops, input_topic="in", output_topic="out",
                   output_contract=f"{user_module}:broken")
    assert vs["exactly-once"].valid == "unknown" and "checker crashed" in vs["exactly-once"].reason
    assert vs["lost"].valid != "unknown" or vs["lost"].reason


def test_unloadable_contract_is_one_line():
    with pytest.raises(output_contract.OutputContractError, match="cannot be loaded"):
        output_contract.resolve("no_such_module_x:check")
    with pytest.raises(output_contract.OutputContractError, match="neither built in"):
        output_contract.resolve("not-a-contract")


def test_output_read_with_any_json_values_is_a_valid_history():
    b = history([{"orderId": "o-1", "count": "not an int", "id": {"nested": 1}}, "text", None, [1, 2]])
    assert first_bad(b.ops) is None
    bad = history([{"orderId": "o-1"}])
    bad.ops[-1]["value"]["records"][0]["offset"] = -1
    where, what, _ = first_bad(bad.ops)
    assert where == len(bad.ops) - 1 and "output-read ok value.records[0].offset is -1" == what, what

"""The access-control checker on synthetic histories: an intruder's success is a violation with
its example, denials hold, unknown outcomes never violate, and each phase around the faults
must have seen a denial."""
from kfchaos.analyze import analyze_scenario
from kfchaos.checkers import INVALID, UNKNOWN, VALID, access, check_all
from kfchaos.checkers.synth import Builder
from kfchaos.contracts import contract_results


def attempt(b: Builder, n: int, action: str, type_: str, **extra) -> Builder:
    value = {"attempt": n, "action": action, "principal": "intruder", "topic": "t",
             "group": "g" if action == "join-group" else None}
    b.op("intruder", "invoke", "intrude", value)
    b.op("intruder", type_, "intrude", {**value, **extra})
    return b


DENIED = {"error": "TOPIC_AUTHORIZATION_FAILED: Broker: Topic authorization failed",
          "code": "TOPIC_AUTHORIZATION_FAILED"}


def around_a_fault(during: str = "fail", **extra) -> Builder:
    """Denied before, one attempt of ``during`` outcome inside a kill window, denied after."""
    b = Builder()
    attempt(b, 0, "produce", "fail", **DENIED)
    b.fault("f1", "kill")
    attempt(b, 1, "produce", during, **(extra or DENIED))
    attempt(b, 2, "join-group", "fail", error="GROUP_AUTHORIZATION_FAILED: denied", code="GROUP_AUTHORIZATION_FAILED")
    b.fault("f1", "kill", stop=True)
    attempt(b, 3, "consume", "fail", **DENIED)
    return b


def test_every_attempt_denied_holds():
    v = access.check(around_a_fault().ops)
    assert v.valid == VALID, v.reason
    assert v.stats["attempts"] == 4
    assert v.stats["denied"] == {"TOPIC_AUTHORIZATION_FAILED": 3, "GROUP_AUTHORIZATION_FAILED": 1}
    assert [v.stats["phases"][p]["denied"] for p in ("before", "during", "after")] == [1, 2, 1]


def test_a_succeeded_intruder_write_is_a_violation_with_its_example():
    v = access.check(around_a_fault("ok", partition=0, offset=41).ops)
    assert v.valid == INVALID
    a = v.anomalies["unauthorized-write"]
    assert a.count == 1
    ex = a.examples[0]
    assert (ex["action"], ex["principal"], ex["topic"], ex["partition"], ex["offset"], ex["phase"]) == \
        ("produce", "intruder", "t", 0, 41, "during")
    assert ex["fault_windows"] == [{"fault": "kill", "fault_id": "f1"}]
    assert "1 unauthorized-write" in v.reason


def test_reads_and_group_joins_are_their_own_anomalies():
    b = Builder()
    attempt(b, 0, "consume", "ok", partition=0, offset=0)
    attempt(b, 1, "join-group", "ok", partitions=[0, 1, 2])
    attempt(b, 2, "produce", "fail", **DENIED)
    v = access.check(b.ops)
    assert v.valid == INVALID
    assert v.counts() == {"unauthorized-read": 1, "unauthorized-group-join": 1}


def test_only_unknown_outcomes_are_never_a_violation():
    b = Builder()
    for n, action in enumerate(("produce", "consume", "join-group")):
        attempt(b, n, action, "info", error="_MSG_TIMED_OUT: Local: Message timed out")
    v = access.check(b.ops)
    assert v.valid == UNKNOWN
    assert not v.anomalies
    assert v.stats["unknown"] == 3
    assert "unknown" in v.reason


def test_an_unknown_outcome_during_the_fault_neither_violates_nor_counts_as_denied():
    b = Builder()
    attempt(b, 0, "produce", "fail", **DENIED)
    b.fault("f1", "kill")
    attempt(b, 1, "produce", "info", error="_TRANSPORT: broker down")
    b.fault("f1", "kill", stop=True)
    attempt(b, 2, "produce", "fail", **DENIED)
    v = access.check(b.ops)
    assert v.valid == UNKNOWN and not v.anomalies
    assert "during" in v.reason


def test_an_invoke_without_completion_is_unknown_not_denied():
    b = Builder()
    attempt(b, 0, "produce", "fail", **DENIED)
    b.op("intruder", "invoke", "intrude", {"attempt": 1, "action": "consume", "principal": "intruder",
                                            "topic": "t", "group": None})
    v = access.check(b.ops)
    assert v.valid == VALID
    assert v.stats["unknown"] == 1 and v.stats["attempts"] == 2


def test_no_attempt_is_unknown():
    v = access.check(Builder().send("a", o=0).ops)
    assert v.valid == UNKNOWN and "no intruder attempt" in v.reason


def test_the_contract_runs_only_when_asked_and_maps_to_the_checker():
    ops = around_a_fault("ok", partition=0, offset=1).ops
    assert "access-control" not in check_all(ops)
    verdicts = check_all(ops, checkers=["access-control"])
    [result] = contract_results(verdicts, ["access-control"])
    assert result.verdict == "violated" and "unauthorized-write" in result.anomalies


def test_analyze_recomputes_it_from_the_stored_history(tmp_path):
    """A stored history alone gives the verdict (kfchaos analyze)."""
    import json
    b = around_a_fault("ok", partition=2, offset=7)
    ops = [{"process": "harness", "type": "ok", "f": "scenario", "time": b.ops[0]["time"] - 1,
            "value": {"name": "access-control", "contracts": ["access-control"]}}] + b.ops
    d = tmp_path / "access-control"
    d.mkdir()
    (d / "history.jsonl").write_text("".join(json.dumps({**op, "index": i}) + "\n" for i, op in enumerate(ops)))
    result, verdicts = analyze_scenario(d)
    assert verdicts["access-control"].valid == INVALID
    assert result.status == "violated"
    assert [c.verdict for c in result.contracts] == ["violated"]

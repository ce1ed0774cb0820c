"""One analysis path: a scenario's history -> ScenarioResult, a run directory -> RunResult.

Synthetic histories carry the harness's own operations (scenario, check-options, measure,
note, ...), so the verdicts and figures come from the history alone."""
import json

from kfchaos import observe
from kfchaos.analyze import analyze_run, analyze_scenario
from kfchaos.checkers.inject import inject_lost
from kfchaos.checkers.synth import generate
from kfchaos.cli import main
from kfchaos.history import History
from kfchaos.results import RunResult


def write_scenario(run, name, ops, contracts=("durability", "ordering", "offset-continuity", "recovery"),
                   extra=None):
    d = run / name
    d.mkdir(parents=True)
    h = History(d / "history.jsonl")
    observe.scenario_started(h, name=name, title=f"{name} title", description="doc", contracts=contracts, seed=7)
    observe.check_options(h, recovery_budget_s=60, max_redelivery=None)
    for op in ops:
        h.append({k: v for k, v in op.items() if k not in ("index",)})
    for f in extra or ():
        f(h)
    observe.scenario_ended(h)
    h.close()
    return d


def test_a_valid_history_holds_and_figures_come_from_it(tmp_path):
    d = write_scenario(tmp_path, "kill-leader", generate(1, 600, faults=1).ops,
                       extra=[lambda h: observe.measure(h, "records_replayed", 12)])
    result, verdicts = analyze_scenario(d)
    assert result.status == "held", result.summary()
    assert [c.contract for c in result.contracts] == ["durability", "ordering", "offset-continuity", "recovery"]
    assert result.figures["records_replayed"] == 12 and result.figures["lost"] == 0
    assert result.title == "kill-leader title" and result.seed == 7 and result.check_opts["recovery_budget_s"] == 60
    assert "recovery" in verdicts and "replay-isolation" not in verdicts


def test_lost_write_violates_durability(tmp_path):
    sim = generate(2, 600, faults=1)
    inject_lost(sim.ops, rng=0)
    result, _ = analyze_scenario(write_scenario(tmp_path, "s", sim.ops))
    assert result.status == "violated" and result.verdict_of("durability") == "violated"
    assert result.figures["lost"] == 1


def test_a_fault_that_did_not_start_makes_held_unknown(tmp_path):
    def failed_fault(h):
        h.invoke("nemesis", "fault-start", {"fault": "kill", "fault_id": "kill-9"})
        h.info("nemesis", "fault-start", {"fault": "kill", "fault_id": "kill-9", "error": "no broker"})
    result, _ = analyze_scenario(write_scenario(tmp_path, "s", generate(3, 400).ops, extra=[failed_fault]))
    assert result.status == "unknown" and "did not start" in result.contracts[0].reason


def test_not_applicable_and_error_come_from_the_history(tmp_path):
    na, _ = analyze_scenario(write_scenario(tmp_path, "na", [], extra=[
        lambda h: observe.not_applicable(h, "tansu lacks partition-leader: x")]))
    assert na.status == "unknown" and na.figures["not_applicable"].startswith("tansu lacks")
    boom, _ = analyze_scenario(write_scenario(tmp_path, "boom", generate(4, 100).ops, extra=[
        lambda h: observe.scenario_error(h, "RuntimeError: boom")]))
    assert boom.status == "error" and boom.error == "RuntimeError: boom"


def test_analyze_run_recomputes_and_an_incomplete_run_is_unknown(tmp_path, capsys):
    write_scenario(tmp_path, "a", generate(5, 400).ops)
    (tmp_path / "results.json").write_text(json.dumps(
        RunResult(profile="p", chosen=["a", "b"]).to_dict()))
    run = analyze_run(tmp_path)
    assert [s.name for s in run.scenarios] == ["a"] and run.missing == ["b"]
    assert run.overall == "unknown" and run.exit_code == 2
    assert main(["analyze", str(tmp_path)]) == 2
    assert "no result" in capsys.readouterr().out
    (tmp_path / "results.json").write_text(json.dumps(RunResult(profile="p", chosen=["a"]).to_dict()))
    assert main(["analyze", str(tmp_path), "--write"]) == 0
    stored = json.loads((tmp_path / "results.json").read_text())
    assert stored["overall"] == "held" and stored["complete"] is True


def test_bare_history_and_usage_errors_exit_codes(tmp_path, capsys):
    with open(tmp_path / "history.jsonl", "w") as fh:
        for op in generate(6, 300).ops:
            fh.write(json.dumps(op) + "\n")
    assert main(["analyze", str(tmp_path), "--checkers"]) == 0
    out = capsys.readouterr().out
    assert "durability" not in out or "held" in out
    assert main(["analyze", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_run_result_round_trips_and_reads_old_layout():
    old = {"profile": "kafka-3az", "overall": "held", "scenarios": [
        {"name": "smoke", "status": "held", "contracts": [{"contract": "durability", "verdict": "held",
                                                           "checkers": ["lost"], "reason": "", "anomalies": {}}],
         "figures": {"lost": 0}}]}
    r = RunResult.from_dict(old)
    assert r.chosen == ["smoke"] and r.complete and r.overall == "held"
    again = RunResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again.to_dict() == r.to_dict()


def test_cross_zone_traffic_figures_come_from_the_history_alone(tmp_path):
    def traffic(h):
        zones = {"a": {"a->b:replication": 100, "b->a:replication": 0, "a->storage:object_storage": 10}}
        h.ok("harness", "traffic", {"phase": "start", "zones": zones, "errors": {},
                                    "prices": {"cross_zone_per_gb": 0.01}})
        h.ok("producer-0", "client-bytes", {"topic": "t", "role": "produce", "bytes": 500_000})
        h.ok("consumer-0", "client-bytes", {"topic": "t", "role": "consume", "bytes": 1_000_000})
        end = {"a": {"a->b:replication": 1_000_100, "b->a:replication": 20, "a->storage:object_storage": 30}}
        h.ok("harness", "traffic", {"phase": "end", "zones": end, "errors": {}})
    d = write_scenario(tmp_path, "smoke", generate(1, 200).ops, extra=[traffic])
    result, _ = analyze_scenario(d)
    f = result.figures
    assert f["cross_zone_bytes"] == 1_000_020 and f["cross_zone_pairs"] == {"a->b": 1_000_000, "b->a": 20}
    assert f["cross_zone_bytes_per_mb_produced"] == 2_000_040 and f["cross_zone_bytes_per_mb_consumed"] == 1_000_020
    assert f["object_storage_traffic_bytes"] == 20 and f["traffic_cost"]["cross_zone"] == 1e-05
    assert analyze_run(tmp_path).scenarios[0].figures["cross_zone_pairs"] == f["cross_zone_pairs"]

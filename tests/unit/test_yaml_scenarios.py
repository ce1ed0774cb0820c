"""YAML scenarios: each shipped twin equals its Python scenario (contracts, capabilities,
tags, and the same calls with the same WorkloadSpec and FaultSpecs when the steps run
against a recording stand-in run), placeholders, the registry (load_dir, register, the
default list), and bad files, each one ValueError line naming the file and the field."""
from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from kfchaos import scenarios as registry
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario
from kfchaos.scenarios import yaml_scenarios as ys
from kfchaos.workload import WorkloadSpec

TWINS = {"smoke-yaml": "smoke", "kill-leader-yaml": "kill-leader", "zone-isolation-yaml": "zone-isolation",
         "flink-taskmanager-kill-yaml": "flink-taskmanager-kill"}


@pytest.fixture(autouse=True)
def restore_registry(monkeypatch):
    """Every test leaves the registry as it found it (shipped Python scenarios only)."""
    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))
    monkeypatch.setattr(registry, "SOURCES", dict(registry.SOURCES))
    monkeypatch.setattr(registry, "_SHIPPED_YAML", None)


class RecordingRun:
    """Stands in for ScenarioRun: records every call a scenario's steps make."""

    def __init__(self, zones=("a", "b", "c")):
        self.calls: list[tuple] = []
        self.platform = SimpleNamespace(zones=list(zones))
        self.name = "stand-in"

    def topic(self, suffix: str = "in", **overrides) -> str:
        self.calls.append(("topic", suffix, overrides))
        return f"topic-{suffix}"

    def workload(self, topic, spec=None, faults=(), during=None) -> dict:
        self.calls.append(("workload", topic, spec or WorkloadSpec(), list(faults), during))
        return {}


class RecordingPipeline:
    """Stands in for FlinkPipeline, recording into the run's calls."""

    def __init__(self, run):
        self.run, self.input_topic, self.output_topic = run, "flink-in", "flink-out"
        run.calls.append(("pipeline",))

    def __getattr__(self, name):
        def call(*args, **kw):
            self.run.calls.append((name, args, kw))
        return call


@pytest.fixture
def stand_in_pipeline(monkeypatch):
    import kfchaos.scenarios.flink_taskmanager_kill as ftk
    monkeypatch.setattr(ftk, "FlinkPipeline", RecordingPipeline)
    monkeypatch.setattr(ys.YamlSteps, "pipeline_factory", RecordingPipeline)


def run_steps(scenario: Scenario, zones=("a", "b", "c")) -> list[tuple]:
    run = RecordingRun(zones)
    scenario.steps(run)
    return run.calls


@pytest.mark.parametrize("twin, python", sorted(TWINS.items()))
def test_yaml_twin_equals_python_scenario(twin, python, stand_in_pipeline):
    y, p = registry.get(twin), registry.get(python)
    assert (y.contracts, y.requires, y.only_with, y.tags) == (p.contracts, p.requires, p.only_with, p.tags)
    assert y.title.startswith(p.title[:15]) and y.title.endswith("(YAML twin).")
    for zones in (("a", "b", "c"), ("x", "y")):
        got, want = run_steps(y, zones), run_steps(p, zones)
        assert got == want
        assert any(c[0] == "workload" for c in got)


def test_twin_specs_are_the_python_ones():
    calls = run_steps(registry.get("kill-leader-yaml"))
    assert calls[1][2] == WorkloadSpec(duration_s=35)
    assert calls[1][3] == [FaultSpec("kill", "leader:topic-in:0", start=8, duration=15)]
    calls = run_steps(registry.get("zone-isolation-yaml"), zones=("a", "b", "c"))
    assert calls[1][3] == [FaultSpec("isolate-zone", "zone:c", start=8, duration=60)]


def test_yaml_twins_are_not_in_a_default_certification():
    assert sorted(registry.shipped_yaml()) == sorted(TWINS)
    assert set(TWINS).isdisjoint(registry.DEFAULT) and set(TWINS).isdisjoint(registry.REGISTRY)
    flavor = SimpleNamespace(missing=lambda *f: None)
    chosen, _ = registry.for_kind(flavor)
    assert set(TWINS).isdisjoint(chosen)
    assert "kill-leader" in chosen
    assert registry.for_kind(flavor, names=["smoke-yaml"]) == (["smoke-yaml"], {})


def test_get_finds_a_shipped_twin_by_name():
    assert registry.get("smoke-yaml").name == "smoke-yaml"
    assert "smoke-yaml" not in registry.REGISTRY
    with pytest.raises(registry.UnknownScenario, match="unknown scenario 'nope'"):
        registry.get("nope")


# ---- placeholders ------------------------------------------------------------------------
def minimal(**over) -> dict:
    base = {"name": "mine", "doc": "Mine.\n\nText.", "contracts": ["durability"]}
    base.update(over)
    return base


def test_placeholders_are_replaced_when_steps_run(monkeypatch):
    monkeypatch.setattr(ys, "_leader_zone", lambda platform, topic: {"topic-in": "b"}[topic])
    s = ys.from_dict(minimal(faults=[
        {"fault": "kill", "target": "zone:{zone:first}", "start": 1, "duration": 2},
        {"fault": "kill", "target": "zone:{zone:1}", "start": 1.5, "duration": 2},   # overlapping
        {"fault": "partition", "target": "zone:{zone:leader}", "start": 3, "duration": 4,
         "params": {"groups": [["{zone:leader}"], ["{zone:first}", "{zone:last}"]]}}]), "mine.yaml")
    calls = run_steps(s, zones=("a", "b", "c"))
    assert calls[1][3] == [FaultSpec("kill", "zone:a", 1, 2), FaultSpec("kill", "zone:b", 1.5, 2),
                           FaultSpec("partition", "zone:b", 3, 4, {"groups": [["b"], ["a", "c"]]})]


def test_zone_index_beyond_the_platform_is_one_line():
    s = ys.from_dict(minimal(faults=[{"fault": "kill", "target": "zone:{zone:5}", "start": 1, "duration": 2}]),
                     "mine.yaml")
    with pytest.raises(ValueError, match=r"mine.yaml: fault kill\(zone:\{zone:5\}\): .*3 zones"):
        run_steps(s)


def test_topic_overrides_reach_run_topic():
    s = ys.from_dict(minimal(topic={"suffix": "x", "partitions": 6, "config": {"min.insync.replicas": 2,
                                                                               "unclean": True}}), "f.yaml")
    assert run_steps(s)[0] == ("topic", "x", {"partitions": 6, "config": {"min.insync.replicas": "2",
                                                                         "unclean": "true"}})


# ---- bad files ---------------------------------------------------------------------------
BAD = [
    ("unknown top key", {"nmae": "x"}, "unknown key `nmae`"),
    ("unknown workload key", {"workload": {"speed": 3}}, "unknown key `workload.speed`"),
    ("missing contracts", {"contracts": None}, "missing key(s) `contracts`"),
    ("contracts text", {"contracts": "durability"}, "`contracts` must be a list of names"),
    ("empty contracts", {"contracts": []}, "`contracts` is empty"),
    ("unknown contract", {"contracts": ["durability", "speed"]}, "`contracts[1]` is an unknown contract 'speed'"),
    ("unknown capability", {"requires": ["teleport"]}, "`requires[0]` is an unknown capability 'teleport'"),
    ("unknown only_with", {"only_with": ["x"]}, "`only_with[0]` is an unknown capability"),
    ("unknown tag", {"tags": ["slow"]}, "`tags[0]` is an unknown tag 'slow'"),
    ("bad name", {"name": "My Scenario"}, "`name` is 'My Scenario'"),
    ("empty doc", {"doc": "  "}, "`doc` is empty"),
    ("rate text", {"workload": {"rate": "fast"}}, "`workload.rate` must be a number"),
    ("rate bool", {"workload": {"rate": True}}, "`workload.rate` must be a number"),
    ("producers float", {"workload": {"producers": 1.5}}, "`workload.producers` must be an integer"),
    ("producers zero", {"workload": {"producers": 0}}, "`workload.producers` is 0"),
    ("negative duration", {"workload": {"duration": -1}}, "`workload.duration` is -1"),
    ("transactional text", {"workload": {"transactional": "yes"}}, "`workload.transactional` must be true or false"),
    ("isolation", {"workload": {"isolation": "dirty"}}, "`workload.isolation` is 'dirty'"),
    ("faults not a list", {"faults": {"fault": "kill"}}, "`faults` must be a list"),
    ("unknown fault", {"faults": [{"fault": "meteor", "start": 1, "duration": 2}]}, "unknown fault 'meteor'"),
    ("fault field", {"faults": [{"fault": "kill", "start": 1, "duration": 2, "when": 3}]},
     "`faults[0]`: unknown field(s) ['when']"),
    ("fault start", {"faults": [{"fault": "kill", "start": "soon", "duration": 2}]}, "start must be a number"),
    ("fault duration", {"faults": [{"fault": "kill", "start": 1, "duration": 0}]}, "duration is 0"),
    ("fault target", {"faults": [{"fault": "kill", "target": "moon:1", "start": 1, "duration": 2}]},
     "target 'moon:1' is not one kill accepts"),
    ("placeholder", {"faults": [{"fault": "kill", "target": "zone:{zone:middle}", "start": 1, "duration": 2}]},
     "unknown placeholder {zone:middle}"),
    ("output without flink", {"faults": [{"fault": "kill", "target": "leader:{output_topic}:0", "start": 1,
                                          "duration": 2}]}, "{output_topic} needs a `flink:` section"),
    ("flink variant", {"flink": {"variant": "turbo"}}, "`flink.variant` is an unknown job variant 'turbo'"),
    ("flink key", {"flink": {"parallelism": 2}}, "unknown key `flink.parallelism`"),
    ("flink with topic", {"flink": {}, "topic": {"partitions": 3}}, "`topic` cannot be given with `flink`"),
    ("topic partitions", {"topic": {"partitions": 0}}, "`topic.partitions` is 0"),
    ("topic config", {"topic": {"config": {"a": [1]}}}, "`topic.config` must be a mapping of settings"),
    ("document", "just text", "the document must be a mapping"),
]


@pytest.mark.parametrize("data, fragment", [pytest.param(d, f, id=i) for i, d, f in BAD])
def test_bad_scenario_is_one_line_naming_file_and_field(tmp_path, data, fragment):
    doc = data if isinstance(data, str) else {k: v for k, v in {**minimal(), **data}.items() if v is not None}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError) as ei:
        ys.load_file(path)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: ")
    assert fragment in msg


@pytest.mark.parametrize("text, fragment", [
    ("name: [unclosed\n", "not valid YAML"),
    ("name: a\ndoc: b\n", "missing key(s) `contracts`"),
    ("name: a\nname: b\n\tx", "not valid YAML"),
])
def test_bad_yaml_text(tmp_path, text, fragment):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=None) as ei:
        ys.load_file(path)
    assert fragment in str(ei.value) and "\n" not in str(ei.value) and str(path) in str(ei.value)


def test_transactional_true_needs_a_transactional_workload(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(minimal(workload={"transactional": True})))
    if "transactional" in WorkloadSpec.__dataclass_fields__:
        assert ys.load_file(path).steps.data.workload.transactional is True
    else:
        with pytest.raises(ValueError, match=r"`workload.transactional` is not supported"):
            ys.load_file(path)


# ---- load_dir and register ---------------------------------------------------------------
PY_SCENARIO = textwrap.dedent('''
    """My own: one kill of zone b's broker."""
    from kfchaos.faults.base import FaultSpec
    from kfchaos.scenario import Scenario
    from kfchaos.workload import WorkloadSpec


    def steps(run):
        topic = run.topic()
        run.workload(topic, WorkloadSpec(duration_s=5), faults=[FaultSpec("kill", "zone:b", start=1, duration=2)])


    SCENARIO = Scenario("my-kill", __doc__, ("durability",), steps, tags=("fault",))
''')


@pytest.fixture
def user_dir(tmp_path):
    d = tmp_path / "scen"
    d.mkdir()
    (d / "my_kill.py").write_text(PY_SCENARIO)
    (d / "mine.yaml").write_text(yaml.safe_dump(minimal(name="my-yaml")))
    (d / "test_not_a_scenario.py").write_text("raise RuntimeError('must not be imported')\n")
    (d / "notes.txt").write_text("ignored")
    return d


def test_load_dir_registers_python_and_yaml(user_dir):
    got = registry.load_dir(user_dir)
    assert sorted(got) == ["my-kill", "my-yaml"]
    assert registry.get("my-kill") is got["my-kill"] and registry.get("my-yaml") is got["my-yaml"]
    assert "my-kill" not in registry.DEFAULT
    calls = run_steps(got["my-kill"])
    assert calls[1][3] == [FaultSpec("kill", "zone:b", 1, 2)]
    again = registry.load_dir(user_dir)                 # loading the same files again is fine
    assert sorted(again) == ["my-kill", "my-yaml"]
    assert registry.load_dir(user_dir / "mine.yaml").keys() == {"my-yaml"}


def test_load_dir_name_clash_is_one_line(user_dir):
    (user_dir / "clash.yaml").write_text(yaml.safe_dump(minimal(name="kill-leader")))
    with pytest.raises(ValueError, match=r"clash.yaml: scenario name 'kill-leader' is taken") as ei:
        registry.load_dir(user_dir)
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("source, fragment", [
    ("x = 1\n", "defines no SCENARIO"),
    ("SCENARIO = 3\n", "SCENARIO is a int"),
    ("import nothing_here_at_all\n", "importing it failed: ModuleNotFoundError"),
    ("from kfchaos.scenario import Scenario\nSCENARIO = Scenario('ok-name', 'T', ('speed',), print)\n",
     "`contracts[0]` is an unknown contract 'speed'"),
])
def test_bad_python_scenario_module(tmp_path, source, fragment):
    f = tmp_path / "mod.py"
    f.write_text(source)
    with pytest.raises(ValueError) as ei:
        registry.load_dir(tmp_path)
    assert str(ei.value).startswith(str(f)) and fragment in str(ei.value) and "\n" not in str(ei.value)


def test_missing_dir():
    with pytest.raises(ValueError, match="no such file or directory"):
        registry.load_dir(Path("/nonexistent/scenarios"))


def test_register_rejects_a_taken_name():
    s = Scenario("smoke", "Another smoke.", ("durability",), print)
    with pytest.raises(ValueError, match="scenario name 'smoke' is taken"):
        registry.register(s, source="elsewhere.py")
    assert registry.get("smoke") is not s

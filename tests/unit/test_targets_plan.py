"""The dry run and what a target can take, from the file alone (nothing is contacted)."""
from __future__ import annotations

import pytest

from kfchaos.faults.base import FaultSpec
from kfchaos.targets.flavor import TargetFlavor, touches
from kfchaos.targets.actuators import create
from kfchaos.targets.plan import plan, scenario_faults
from kfchaos.targets.schema import from_dict


def target(**limits):
    nodes = [{"name": f"kafka-{z}", "role": "broker", "zone": z, "actuator": {"type": "docker",
                                                                            "container": f"c-kafka-{z}"}}
             for z in "abc"]
    nodes += [{"name": "jm", "role": "jobmanager", "zone": "a", "actuator": {"type": "docker", "container": "c-jm"}},
              {"name": "tm", "role": "taskmanager", "zone": "a", "actuator": {"type": "docker", "container": "c-tm"}}]
    return from_dict({"name": "t", "zones": ["a", "b", "c"], "kafka": {"bootstrap_servers": "127.0.0.1:9094"},
                      "flink": {"rest_url": "http://127.0.0.1:8081"}, "nodes": nodes, "limits": limits}, "t.yaml")


def flavor(t):
    acts = {n.name: create(n.name, n.actuator, n.role) for n in t.nodes}
    return TargetFlavor(t, lambda name: acts[name].declared())


def test_kill_of_one_zone_touches_that_broker():
    t = touches(target(), FaultSpec("kill", "zone:b"))
    assert t.nodes == ["kafka-b"] and t.at_once == 1 and t.capability == "kill"


@pytest.mark.parametrize("spec,words", [
    (FaultSpec("kill", "all"), ["3 nodes at once", "max_nodes_per_fault is 1"]),
    (FaultSpec("replace-broker", "zone:a"), ["never deletes data"]),
    (FaultSpec("disk-full", "zone:a"), ["bounded"]),
    (FaultSpec("zone-latency", "a-b"), ["Toxiproxies"]),
    (FaultSpec("s3-down", "all"), ["s3_port"]),
    (FaultSpec("isolate-zone", "zone:a"), ["3 nodes at once"]),     # zone a: kafka-a, jm and tm are cut off
])
def test_not_applicable_with_reason(spec, words):
    reason = flavor(target()).fault_not_applicable(spec)
    assert reason and all(w in reason for w in words), reason


def test_untouchable_node_makes_fault_not_applicable():
    reason = flavor(target(touchable=["kafka-a"])).fault_not_applicable(FaultSpec("kill", "zone:b"))
    assert "kafka-b" in reason and "touchable" in reason


def test_controller_needs_tools():
    reason = flavor(target()).fault_not_applicable(FaultSpec("kill", "controller"))
    assert "tools_classpath" in reason


def test_scenario_faults_are_read_from_the_module():
    assert ("kill", "leader:<topic>:0", {}) in scenario_faults("kill-leader")
    assert any(f == "isolate-zone" for f, _, _ in scenario_faults("random-faults"))


def test_plan_lists_commands_and_touches_nothing():
    lines = plan(target(max_nodes_per_fault=3), None, ["kill-leader", "zone-isolation", "flink-taskmanager-kill"])
    text = "\n".join(lines)
    assert "docker kill --signal SIGKILL c-kafka-a" in text
    assert "docker start c-kafka-a" in text
    assert "iptables -w -A INPUT -s <ip of" in text and "--comment chaos-<run>-<fault>-<id>" in text
    assert "docker kill --signal SIGKILL c-tm" in text
    assert all("\n" not in ln for ln in lines)

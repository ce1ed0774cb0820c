"""The kubernetes section and actuator of a target file: Strimzi defaults, one clear line on
bad input, Chaos Mesh manifests and zone-cut selectors (no cluster needed here; the
integration tests send them to a real API server)."""
from __future__ import annotations

import copy

import pytest

from kfchaos.targets.kubernetes import chaos, topology
from kfchaos.targets.schema import TargetError, from_dict


def good() -> dict:
    return {
        "name": "k8s", "zones": ["a", "b", "c"],
        "kafka": {"bootstrap_servers": "127.0.0.1:9094"},
        "flink": {"rest_url": "http://127.0.0.1:8081"},
        "kubernetes": {"context": "prod", "namespace": "kafka", "flink_namespace": "flink",
                       "strimzi_cluster": "my-cluster", "flink_deployment": "orders-job"},
        "nodes": [
            {"name": f"kafka-{z}", "role": "broker", "zone": z,
             "actuator": {"type": "kubernetes", "pod": f"my-cluster-broker-{i}"}} for i, z in enumerate("abc")
        ] + [{"name": "jm", "role": "jobmanager", "zone": "a",
              "actuator": {"type": "kubernetes", "selector": "app=orders-job,component=jobmanager",
                           "container": "flink-main-container"}}],
    }


def test_defaults_are_strimzi_and_flink_operator_labels():
    t = from_dict(good())
    k = t.kubernetes
    assert k.selectors == {"broker": "strimzi.io/cluster=my-cluster,strimzi.io/broker-role=true",
                           "controller": "strimzi.io/cluster=my-cluster,strimzi.io/controller-role=true",
                           "jobmanager": "app=orders-job,component=jobmanager",
                           "taskmanager": "app=orders-job,component=taskmanager"}
    assert k.expected == {"broker": 3, "jobmanager": 1}      # roles the file lists no node of are not counted
    assert k.chaos_namespace == "kafka" and k.namespace_of("taskmanager") == "flink"
    assert t.nodes[0].actuator.kube is k and t.nodes[0].actuator.pod == "my-cluster-broker-0"


def _set(doc, path, value):
    *parents, last = path
    for p in parents:
        doc = doc[p]
    if value is KeyError:
        del doc[last]
    else:
        doc[last] = value


BAD = [
    ((["nodes", 0, "actuator", "host"], "x"), "nodes[0].actuator.host` does not apply to a kubernetes actuator"),
    ((["nodes", 0, "actuator", "selector"], "a=b"), "needs exactly one of pod or selector"),
    ((["nodes", 0, "actuator", "pod"], "Bad_Pod"), "not a pod name"),
    ((["nodes", 3, "actuator", "selector"], "app in (x)"), "not a label key=value"),
    ((["kubernetes", "namespace"], "Kafka NS"), "kubernetes.namespace` is 'Kafka NS'"),
    ((["kubernetes", "strimzi_cluster"], KeyError), "kubernetes.strimzi_cluster` is missing"),
    ((["kubernetes", "chaos_timeout"], 0), "kubernetes.chaos_timeout` is 0"),
    ((["kubernetes", "selectors"], {"brokers": "a=b"}), "unknown key `kubernetes.selectors.brokers`; did you mean "
                                                        "`broker`?"),
    ((["kubernetes", "expected"], {"broker": "3"}), "kubernetes.expected.broker` must be an integer"),
    ((["kubernetes"], KeyError), "`kubernetes` is missing but a node has a kubernetes actuator"),
    ((["nodes", 0, "actuator", "type"], "kubernetess"), "use one of docker, ssh, kubernetes"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_clear_line(change, message):
    doc = copy.deepcopy(good())
    _set(doc, *change)
    with pytest.raises(TargetError) as err:
        from_dict(doc, "t.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_zone_cut_selects_by_node_zone_both_ways():
    k = from_dict(good()).kubernetes
    specs = topology.zone_cut(k, "a")
    # kafka<->kafka, kafka<->flink both ways and flink<->flink, for each of the two other zones
    assert len(specs) == 8 and all(kind == "NetworkChaos" for kind, _ in specs)
    kind, spec = specs[0]
    assert spec["action"] == "partition" and spec["direction"] == "both"
    assert spec["selector"] == {"namespaces": ["kafka"], "labelSelectors": {"strimzi.io/cluster": "my-cluster"},
                                "nodeSelectors": {"topology.kubernetes.io/zone": "a"}}
    assert spec["target"]["selector"]["nodeSelectors"] == {"topology.kubernetes.io/zone": "b"}
    _, one_way = topology.one_way_cut(k, "a", "c")
    assert one_way["direction"] == "to"


def test_resource_names_and_labels_are_valid_kubernetes():
    name = chaos.resource_name("20261128-0401-AB:cd", "zone-cut/a", 12)
    assert len(name) <= 63 and name == name.lower() and ":" not in name and "/" not in name
    assert chaos.label_value("x" * 80 + "/") == "x" * 63


def test_the_readme_documents_the_rbac_the_code_needs():
    import re
    from pathlib import Path

    import yaml

    from kfchaos.targets.kubernetes import rbac
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"<!-- k8s-rbac -->\s*```yaml\n(.*?)```", text, re.S).group(1)
    docs = [d for d in yaml.safe_load_all(block) if d]
    roles = [d for d in docs if d["kind"] == "Role"]
    assert roles and all(r["rules"] == rbac.RULES for r in roles)
    assert next(d for d in docs if d["kind"] == "ClusterRole")["rules"] == rbac.CLUSTER_RULES
    verbs = {v for r in rbac.RULES + rbac.CLUSTER_RULES for v in r["verbs"]}
    assert verbs <= {"get", "list", "watch", "create", "patch", "delete"}       # no escalate, bind, impersonate, *
    assert not any("secrets" in r["resources"] or "pods/exec" in r["resources"] for r in rbac.RULES)


def test_the_dry_run_shows_the_chaos_mesh_resources_of_a_network_fault(tmp_path):
    import yaml

    from kfchaos.targets.cli import dry_run_plan
    doc = good()
    doc["limits"] = {"max_nodes_per_fault": 4}
    f = tmp_path / "t.yaml"
    f.write_text(yaml.safe_dump(doc))
    lines = dry_run_plan(f, None, ["zone-isolation", "kill-leader"])
    text = "\n".join(lines)
    assert ("kubectl --context prod -n kafka create -f -   # NetworkChaos partition [strimzi.io/cluster=my-cluster] "
            "in zone a <-> [strimzi.io/cluster=my-cluster] in zone b") in text
    assert "experiment.chaos-mesh.org/pause=true; wait for AllRecovered" in text
    assert "kubectl --context prod -n kafka delete pod my-cluster-broker-0 --grace-period=0 --force" in text
    assert "iptables" not in text


def test_preflight_of_a_bad_target_file_is_one_line_and_exit_2(tmp_path, capsys):
    import yaml

    from kfchaos.cli import main
    doc = good()
    doc["kubernetes"]["flink_deployment"] = None
    f = tmp_path / "t.yaml"
    f.write_text(yaml.safe_dump(doc))
    assert main(["target", "preflight", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "kubernetes.flink_deployment` must be non-empty text" in err, err
    assert len(err.splitlines()) == 1

"""The kubernetes actuator against a real API server (etcd + kube-apiserver v1.36 + kwok as
processes, tests/integration/k8s_cluster.py): server-side validation of every resource it
creates, zone targeting, proof and heal from status conditions (set by a test controller:
Chaos Mesh cannot run here), pod kill, FlinkDeployment upgrade and rollback, the README's
RBAC, preflight, and nothing left after a run, a SIGKILL and `kfchaos clean`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from kfchaos.targets.actuators import ActuatorError
from kfchaos.targets.kubernetes import chaos, testcluster, topology
from kfchaos.targets.kubernetes.actuator import KubernetesActuator
from kfchaos.targets.kubernetes.client import api_client
from kfchaos.targets.kubernetes.flinkop import FlinkOperator
from kfchaos.targets.schema import from_dict, load_target

from .k8s_cluster import (DEAF, FLINK_DEPLOYMENT, STUCK, create_strimzi, harness_cli, k8s,  # noqa: F401  (k8s: fixture)
                          operator_sets)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def target(k8s, tmp_path):  # noqa: F811
    return load_target(k8s.write_target(tmp_path / "target.yaml"))


@pytest.fixture
def mesh(target, request):
    m = chaos.ChaosMesh(api_client(target.kubernetes, fresh=True), target.kubernetes,
                        f"t-{request.node.name[:20]}-{os.getpid()}", poll=0.1)
    yield m
    assert m.heal_all() == []


def leftovers(k8s, run: str | None = None) -> list[str]:  # noqa: F811
    from kubernetes import client
    custom = client.CustomObjectsApi(k8s.admin)
    sel = f"{chaos.RUN_LABEL}={chaos.label_value(run)}" if run else f"{chaos.MANAGED_BY[0]}={chaos.MANAGED_BY[1]}"
    return [f"{p}/{o['metadata']['name']}" for p in chaos.KINDS.values()
            for o in custom.list_namespaced_custom_object(chaos.GROUP, chaos.VERSION, "kafka", p,
                                                          label_selector=sel)["items"]]


def all_specs(target) -> list[tuple[str, tuple[str, dict]]]:
    k = target.kubernetes
    one = chaos.pods_selector("kafka", ["my-cluster-broker-0"])
    zone_a = topology.in_zone(k, "kafka", "a")
    return ([("pause", chaos.pod_failure(one)), ("container-kill", chaos.container_kill(one, ["kafka"]))]
            + [(f"zone-cut-a-{i}", s) for i, s in enumerate(topology.zone_cut(k, "a"))]
            + [("one-way-cut", topology.one_way_cut(k, "a", "c")),
               ("delay", chaos.delay(zone_a, 200, 20)), ("loss", chaos.loss(zone_a, 30)),
               ("bandwidth", chaos.bandwidth(zone_a, "1mbps")),
               ("object-storage-outage", topology.object_storage_outage(k, "b", ["objects.example.internal"])),
               ("disk-full", chaos.io_fault(one, "/var/lib/kafka", errno=28))])


def test_control_plane_has_zoned_nodes_and_running_pods(k8s):  # noqa: F811
    from kubernetes import client
    core = client.CoreV1Api(k8s.admin)
    zones = {n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"] for n in core.list_node().items}
    assert zones == {"node-a": "a", "node-b": "b", "node-c": "c"}
    pods = core.list_namespaced_pod("kafka", label_selector="strimzi.io/cluster=my-cluster").items
    assert len(pods) == 6 and all(p.status.phase == "Running" for p in pods)


def test_every_resource_the_actuator_creates_passes_server_side_validation(target, mesh):
    specs = all_specs(target)
    assert {kind for _, (kind, _) in specs} == set(chaos.KINDS)
    for fault, spec in specs:
        mesh.create(fault, spec, dry_run=True)                 # validated by the API server, nothing stored
    kind, bad = chaos.partition(topology.in_zone(target.kubernetes, "kafka", "a"),
                                topology.in_zone(target.kubernetes, "kafka", "c"))
    bad = {**bad, "action": "explode"}
    with pytest.raises(ActuatorError) as err:
        mesh.create("bad", (kind, bad))
    line = str(err.value)
    assert "refused by the API server" in line and "explode" in line and "\n" not in line
    _, bad_delay = chaos.delay(topology.in_zone(target.kubernetes, "kafka", "a"), 100)
    bad_delay["delay"]["latency"] = "fast"
    with pytest.raises(ActuatorError, match="refused by the API server"):
        mesh.create("bad-delay", ("NetworkChaos", bad_delay))


def test_zone_cut_selects_the_zone_pods_against_each_other_zone(k8s, target):  # noqa: F811
    from kubernetes import client
    core = client.CoreV1Api(k8s.admin)
    cut = topology.zone_cut(target.kubernetes, "a")
    pairs = {(tuple(p for _, p in topology.selected_pods(core, s["selector"])),
              tuple(p for _, p in topology.selected_pods(core, s["target"]["selector"]))) for _, s in cut}
    kafka_a, kafka_b, kafka_c = (("my-cluster-broker-0", "my-cluster-controller-3"),
                                 ("my-cluster-broker-1", "my-cluster-controller-4"),
                                 ("my-cluster-broker-2", "my-cluster-controller-5"))
    jm, tm_b, tm_c = ("orders-job-jm",), ("orders-job-taskmanager-1-1",), ("orders-job-taskmanager-1-2",)
    assert pairs == {(kafka_a, kafka_b), (kafka_a, kafka_c), (kafka_a, tm_b), (jm, kafka_b), (kafka_a, tm_c),
                     (jm, kafka_c), (jm, tm_b), (jm, tm_c)}
    _, one = topology.one_way_cut(target.kubernetes, "b", "c")
    assert [p for _, p in topology.selected_pods(core, one["selector"])] == list(kafka_b)
    assert [p for _, p in topology.selected_pods(core, one["target"]["selector"])] == list(kafka_c)
    _, s3 = topology.object_storage_outage(target.kubernetes, "b", ["objects.example.internal"])
    assert [p for _, p in topology.selected_pods(core, s3["selector"])] == list(tm_b)


def test_proof_and_heal_come_from_status_conditions(k8s, target, mesh):  # noqa: F811
    kind_spec = topology.zone_cut(target.kubernetes, "b")[0]
    res = mesh.start("zone-cut-b", kind_spec)
    assert res.injected_after is not None
    obj = mesh.get(res)
    assert chaos.conditions(obj)["AllInjected"] == "True" and obj["metadata"]["finalizers"] == ["chaos-mesh/records"]
    assert obj["metadata"]["labels"][chaos.RUN_LABEL] == chaos.label_value(mesh.run_id)
    assert sorted(p for _, p in k8s.controller.seen[res.name]) == [
        "my-cluster-broker-0", "my-cluster-broker-1", "my-cluster-controller-3", "my-cluster-controller-4"]
    assert mesh.heal(res) is None
    assert res.recovered_after is not None and mesh.get(res) is None and mesh.active == []


def test_a_fault_never_injected_did_not_start_and_is_removed(target, mesh):
    with pytest.raises(chaos.FaultDidNotStart, match="did not report AllInjected within 3s.*no conditions"):
        mesh.start(f"{DEAF}-zone-cut", topology.zone_cut(target.kubernetes, "a")[0], timeout=3)
    nowhere = chaos.zone_selector("kafka", {"strimzi.io/cluster": "my-cluster"}, "zone-x", "topology.kubernetes.io/zone")
    with pytest.raises(chaos.FaultDidNotStart, match="it selected no pod"):
        mesh.start("zone-cut-x", chaos.partition(nowhere, topology.in_zone(target.kubernetes, "kafka", "a")),
                   timeout=5)
    assert mesh.active == []


def test_pod_kill_pause_and_container_kill_through_the_actuator(k8s, target, mesh):  # noqa: F811
    node = target.node("kafka-b")
    act = KubernetesActuator(node.name, node.actuator, node.role)
    act.use_mesh(mesh)
    act.connect()
    assert act.status() == "running" and act.node_name() == "node-b"
    caps = act.probe()
    assert all(caps[c] is None for c in ("kill", "pause", "zone-cut", "one-way-cut", "delay", "disk-full"))
    act.pause()
    assert act.status() == "paused" and mesh.active[0].kind == "PodChaos"
    act.resume()
    assert act.status() == "running" and mesh.active == []
    res = act.kill_container()
    assert res.kind == "PodChaos" and mesh.heal(res) is None
    started = time.monotonic()
    act.kill()                                                  # grace period 0
    while act.status() != "removed":
        assert time.monotonic() - started < 60, act.state()
        time.sleep(0.1)
    manifest = next(p for p in testcluster.platform_pods() if p["metadata"]["name"] == "my-cluster-broker-1")
    k8s.ensure_pod(manifest)                                    # what Strimzi's StrimziPodSet does
    act.start(timeout=90)
    assert act.status() == "running"
    with pytest.raises(ActuatorError, match="does not exec into pods"):
        act.exec(["true"])


def test_flink_deployment_upgrade_and_rollback_by_patches(k8s, target):  # noqa: F811
    original = FLINK_DEPLOYMENT["spec"]["job"]
    op = FlinkOperator(api_client(target.kubernetes, fresh=True), "flink", "orders-job", poll=0.1)
    try:
        assert op.wait_stable(5).job_state == "RUNNING" and op.operator_rollback_enabled()
        out = op.upgrade("last-state", jar_uri="local:///opt/flink/usrlib/job-2.jar", parallelism=3)
        assert out["spec"]["job"] == {"jarURI": "local:///opt/flink/usrlib/job-2.jar", "parallelism": 3,
                                      "upgradeMode": "last-state", "state": "running"}
        operator_sets(k8s.admin, "ROLLED_BACK", "RUNNING")     # the operator's own rollback
        assert op.wait_rolled_back(5).lifecycle == "ROLLED_BACK"
        out = op.rollback()                                     # the harness's rollback
        assert out["spec"]["job"] == original
        op.upgrade("savepoint", args=["--mode", "bad"])
        assert op.get()["spec"]["job"]["args"] == ["--mode", "bad"]
        assert op.rollback()["spec"]["job"] == original         # args removed again
        with pytest.raises(ValueError, match="upgradeMode 'blue-green'"):
            op.upgrade("blue-green")
        with pytest.raises(ActuatorError, match="patch refused.*upgradeMode"):
            op._patch({"spec": {"job": {"upgradeMode": "sometimes"}}})      # the CRD's enum, server-side
        operator_sets(k8s.admin, "DEPLOYED", "RECONCILING")
        with pytest.raises(ActuatorError, match="did not become STABLE and RUNNING within 1s"):
            op.wait_stable(1)
    finally:
        operator_sets(k8s.admin, "STABLE", "RUNNING")


def test_bad_deploy_uses_the_operator_rollback_where_enabled_else_the_harness_one(k8s, target):  # noqa: F811
    import threading

    from kfchaos.targets.kubernetes.flinkop import recover_bad_deploy
    original = FLINK_DEPLOYMENT["spec"]["job"]
    op = FlinkOperator(api_client(target.kubernetes, fresh=True), "flink", "orders-job", poll=0.1)

    def operator(after: float, *states: tuple[str, str]) -> threading.Thread:   # the operator's status, in time
        def run():
            for lifecycle, job in states:
                time.sleep(after)
                operator_sets(k8s.admin, lifecycle, job)
        t = threading.Thread(target=run)
        t.start()
        return t
    try:
        op.upgrade("savepoint", jar_uri="local:///opt/flink/usrlib/crash.jar")
        t = operator(0.3, ("UPGRADING", "RECONCILING"), ("ROLLED_BACK", "RUNNING"))
        assert recover_bad_deploy(op, 60)[0] == "operator"
        t.join()
        op.rollback()                                           # (the operator restored it; keep the spec honest)
        op._patch({"spec": {"flinkConfiguration": {"kubernetes.operator.deployment.rollback.enabled": "false"}}})
        op.upgrade("last-state", jar_uri="local:///opt/flink/usrlib/crash.jar")
        t = operator(0.3, ("DEPLOYED", "FAILED"))

        def operator_redeploys_the_old_spec():
            deadline = time.monotonic() + 60
            while op.get()["spec"]["job"] != original and time.monotonic() < deadline:
                time.sleep(0.1)
            operator_sets(k8s.admin, "STABLE", "RUNNING")
        redeploy = threading.Thread(target=operator_redeploys_the_old_spec)
        redeploy.start()
        how, status = recover_bad_deploy(op, 60)
        t.join()
        redeploy.join()
        assert how == "harness" and status.lifecycle == "STABLE" and op.get()["spec"]["job"] == original
    finally:
        op._patch({"spec": {"job": original,
                            "flinkConfiguration": {"kubernetes.operator.deployment.rollback.enabled": "true"}}})
        operator_sets(k8s.admin, "STABLE", "RUNNING")


def test_the_readme_role_is_enough_and_a_verb_outside_it_fails_with_one_line(k8s, tmp_path):  # noqa: F811
    from kubernetes import client
    t = load_target(k8s.write_target(tmp_path / "t.yaml", chaos_namespace="default"))
    m = chaos.ChaosMesh(api_client(t.kubernetes, fresh=True), t.kubernetes, "rbac")
    with pytest.raises(ActuatorError) as err:                   # no Role in `default`
        m.create("pause", chaos.pod_failure(chaos.pods_selector("kafka", ["my-cluster-broker-0"])))
    assert "HTTP 403" in str(err.value) and "forbidden" in str(err.value) and "\n" not in str(err.value)
    core = client.CoreV1Api(api_client(t.kubernetes))
    with pytest.raises(client.exceptions.ApiException) as denied:
        core.create_namespaced_pod("kafka", testcluster.pod_manifest("x", "kafka", {}, "node-a"))
    assert denied.value.status == 403
    with pytest.raises(client.exceptions.ApiException):
        core.list_namespaced_secret("kafka")


def test_preflight_passes_then_fails_with_one_line_and_exit_2(k8s, tmp_path):  # noqa: F811
    good = k8s.write_target(tmp_path / "good.yaml")
    ok = harness_cli("target", "preflight", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "broker: 3 pods, a: 1, b: 1, c: 1" in ok.stdout and "preflight passed" in ok.stdout
    doc = k8s.target_doc()
    doc["nodes"][1]["zone"] = "c"
    doc["nodes"][2]["zone"] = "b"
    cases = {
        "context": (k8s.target_doc(context="nowhere"), "context 'nowhere' is unusable"),
        "count": (k8s.target_doc(expected={"broker": 4}), "matches 3 pods in kafka, expected 4"),
        "zone": (doc, "node kafka-b says zone c but its pod kafka/my-cluster-broker-1 runs on node node-b in zone b"),
        "zones": ({**k8s.target_doc(), "zones": ["a", "b"]}, None),
        "flink": (k8s.target_doc(flink_deployment="missing-job", selectors={
            "jobmanager": "app=orders-job,component=jobmanager", "taskmanager": "app=orders-job,component=taskmanager"}),
            "FlinkDeployment flink/missing-job cannot be read (HTTP 404"),
    }
    import yaml
    for name, (d, message) in cases.items():
        if name == "zones":
            d["nodes"] = [n for n in d["nodes"] if n["zone"] != "c"]
            message = "run in zone(s) c"
        f = tmp_path / f"{name}.yaml"
        f.write_text(yaml.safe_dump(d))
        out = harness_cli("target", "preflight", str(f))
        assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1, \
            (name, out.stderr)


def test_strimzi_kafka_and_node_pools_pass_validation_and_bad_ones_are_rejected(k8s):  # noqa: F811
    import copy
    from kubernetes import client
    from kfchaos.targets.kubernetes.client import reason
    custom = client.CustomObjectsApi(k8s.admin)
    kafka = custom.get_namespaced_custom_object("kafka.strimzi.io", "v1", "kafka", "kafkas", "my-cluster")
    assert kafka["spec"]["kafka"]["rack"] == {"topologyKey": "topology.kubernetes.io/zone"}
    pools = custom.list_namespaced_custom_object("kafka.strimzi.io", "v1", "kafka", "kafkanodepools")["items"]
    assert sorted((p["metadata"]["name"], p["spec"]["replicas"], p["spec"]["roles"][0]) for p in pools) == [
        ("broker", 3, "broker"), ("controller", 3, "controller")]
    broker_pool, _, kafka_doc = testcluster.strimzi_resources()

    def rejected(doc: dict) -> str:
        with pytest.raises(client.exceptions.ApiException) as exc:
            create_strimzi(k8s.admin, doc, dry_run=True)
        assert exc.value.status == 422, reason(exc.value)
        return reason(exc.value)

    for bad, field, message in [("replicas", "spec.replicas", "must be of type integer"),
                                ("storage", "spec.storage.type", "Unsupported value: \"tape\""),
                                ("rack", "spec.kafka.rack", "topologyKey property is required")]:
        doc = copy.deepcopy(kafka_doc if bad == "rack" else broker_pool)
        doc["metadata"]["name"] = f"bad-{bad}"
        if bad == "replicas":
            doc["spec"]["replicas"] = "three"
        elif bad == "storage":
            doc["spec"]["storage"] = {"type": "tape"}
        else:
            doc["spec"]["kafka"]["rack"] = {"topologyKey": ""}
        line = rejected(doc)
        assert field in line and message in line and "\n" not in line, line


def test_preflight_finds_the_strimzi_kafka_resource_or_fails_with_one_line(k8s, tmp_path):  # noqa: F811
    ok = harness_cli("target", "preflight", str(k8s.write_target(tmp_path / "good.yaml")))
    assert ok.returncode == 0 and "Strimzi Kafka kafka/my-cluster" in ok.stdout, ok.stderr
    selectors = {"broker": "strimzi.io/cluster=my-cluster,strimzi.io/broker-role=true",
                 "controller": "strimzi.io/cluster=my-cluster,strimzi.io/controller-role=true"}
    bad = k8s.write_target(tmp_path / "bad.yaml", strimzi_cluster="other-cluster", selectors=selectors)
    out = harness_cli("target", "preflight", str(bad))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "no Kafka resource 'other-cluster' in namespace kafka (kafka.strimzi.io/v1)" in out.stderr, out.stderr
    from kubernetes import client
    import yaml
    ext = client.ApiextensionsV1Api(k8s.admin)
    crd = yaml.safe_load((k8s.crd_dirs["strimzi"] / "kafkas.kafka.strimzi.io.yaml").read_text())
    ext.delete_custom_resource_definition("kafkas.kafka.strimzi.io")      # its Kafka resources go with it
    deadline = time.monotonic() + 60
    try:
        while True:
            out = harness_cli("target", "preflight", str(k8s.write_target(tmp_path / "t.yaml")))
            if "Strimzi is not installed" in out.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "no CRD kafkas.kafka.strimzi.io" in out.stderr, out.stderr
    finally:
        while True:
            try:
                ext.create_custom_resource_definition(crd)
                break
            except client.exceptions.ApiException as exc:       # the old one is still being removed
                assert exc.status == 409 and time.monotonic() < deadline + 60
                time.sleep(0.5)
        while True:
            try:
                create_strimzi(k8s.admin, testcluster.strimzi_resources()[-1])      # the Kafka went with its CRD
                break
            except client.exceptions.ApiException as exc:       # not served yet
                assert exc.status == 404 and time.monotonic() < deadline + 90
                time.sleep(0.5)


def test_preflight_without_chaos_mesh_crds(k8s, tmp_path):  # noqa: F811
    from kubernetes import client
    import yaml
    ext = client.ApiextensionsV1Api(k8s.admin)
    name = "iochaos.chaos-mesh.org"
    crd_file = next(f for f in k8s.crd_dirs["chaos-mesh"].glob("*.yaml") if "iochaos" in f.name)
    ext.delete_custom_resource_definition(name)
    try:
        deadline = time.monotonic() + 30
        while True:
            out = harness_cli("target", "preflight", str(k8s.write_target(tmp_path / "t.yaml")))
            if out.returncode == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert out.returncode == 2 and "Chaos Mesh is not installed" in out.stderr and "iochaos" in out.stderr
    finally:
        while True:
            try:
                ext.create_custom_resource_definition(yaml.safe_load(crd_file.read_text()))
                break
            except client.exceptions.ApiException as exc:       # the old one is still being removed
                assert exc.status == 409 and time.monotonic() < deadline + 60
                time.sleep(0.5)
        while True:
            crd = ext.read_custom_resource_definition(name)
            if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
                break
            time.sleep(0.1)


def test_nothing_left_after_a_run(k8s, target):  # noqa: F811
    m = chaos.ChaosMesh(api_client(target.kubernetes, fresh=True), target.kubernetes, "whole-run", poll=0.1)
    for fault, spec in all_specs(target):
        m.start(fault, spec)
    assert len(leftovers(k8s, "whole-run")) == len(all_specs(target))
    assert m.heal_all() == []                                     # teardown
    assert leftovers(k8s, "whole-run") == []


CRASHING_RUN = textwrap.dedent("""
    import sys, time
    from kfchaos.targets.schema import load_target
    from kfchaos.targets.kubernetes import chaos, topology
    from kfchaos.targets.kubernetes.client import api_client
    t = load_target(sys.argv[1])
    m = chaos.ChaosMesh(api_client(t.kubernetes), t.kubernetes, sys.argv[2], poll=0.1)
    for spec in topology.zone_cut(t.kubernetes, "c"):
        m.start("zone-cut-c", spec)
    m.start("pause", chaos.pod_failure(chaos.pods_selector("kafka", ["my-cluster-broker-2"])))
    print("injected", flush=True)
    time.sleep(600)
""")


def test_sigkill_of_the_harness_then_clean_leaves_nothing(k8s, target):  # noqa: F811
    run = "crashed-run"
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_RUN, target.source, run], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "injected"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    made = len(topology.zone_cut(target.kubernetes, "c")) + 1     # the zone cut's resources + the pause
    assert len(leftovers(k8s, run)) == made
    other = chaos.ChaosMesh(api_client(target.kubernetes), target.kubernetes, "another-run", poll=0.1)
    kept = other.start("pause", chaos.pod_failure(chaos.pods_selector("kafka", ["my-cluster-broker-0"])))
    out = harness_cli("clean", "--target", target.source, "--run", run)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("kubernetes: deleted ") == made, out.stdout
    assert leftovers(k8s, run) == [] and len(leftovers(k8s, "another-run")) == 1   # only that run's
    assert other.heal(kept) is None


def test_a_resource_stuck_on_its_finalizer_is_reported_with_the_command(k8s, target):  # noqa: F811
    m = chaos.ChaosMesh(api_client(target.kubernetes), target.kubernetes, "stuck-run", poll=0.1)
    m.start(f"{STUCK}-pause", chaos.pod_failure(chaos.pods_selector("kafka", ["my-cluster-broker-0"])))
    lines = chaos.sweep(api_client(target.kubernetes), target.kubernetes, "stuck-run", timeout=2)
    assert len(lines) == 1 and "is stuck on finalizer(s) chaos-mesh/records" in lines[0], lines
    command = lines[0].split("remove them with: ", 1)[1]
    assert command.startswith(f"kubectl --kubeconfig {k8s.harness_kubeconfig} --context chaos-test -n kafka patch "
                              "podchaos.chaos-mesh.org chaos-stuck-run-")
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 10
    while leftovers(k8s, "stuck-run") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(k8s, "stuck-run") == []


def test_target_file_dry_run_commands_name_kubectl(target):
    act = KubernetesActuator("kafka-a", target.node("kafka-a").actuator, "broker")
    assert act.command("kill") == ("kubectl --kubeconfig " + target.kubernetes.kubeconfig +
                                   " --context chaos-test -n kafka delete pod my-cluster-broker-0 --grace-period=0 --force")
    assert from_dict(k8s_doc_without_kube()) is not None


def k8s_doc_without_kube() -> dict:
    return {"name": "plain", "zones": ["a"], "kafka": {"bootstrap_servers": "127.0.0.1:9092"},
            "nodes": [{"name": "k", "role": "broker", "zone": "a", "actuator": {"type": "docker", "container": "k"}}]}


def test_the_fault_library_makes_network_faults_with_chaos_mesh_and_teardown_heals(k8s, target):  # noqa: F811
    import random

    from kfchaos.faults import registry
    from kfchaos.faults.base import FaultError, FaultSpec
    from kfchaos.targets.external import ExternalPlatform
    from kfchaos.targets.kubernetes import faults
    platform = ExternalPlatform(target, run_id="library-run")
    platform._share_chaos_mesh()                  # what start() does after preflight (the rest needs Kafka)
    platform.chaos_mesh.poll = 0.1
    made = {}
    for spec in (FaultSpec("isolate-zone", "zone:a"), FaultSpec("one-way", "zone:b"),
                 FaultSpec("partition", "zone:a", params={"groups": [["a"], ["b", "c"]]}),
                 FaultSpec("isolate-object-storage", "flink"), FaultSpec("zone-loss", "zone:c", params={"probability": 0.3}),
                 FaultSpec("zone-bandwidth", "zone:a", params={"rate": "1mbit"}),
                 FaultSpec("zone-latency", "a-b", params={"delay_ms": 150, "jitter_ms": 10})):
        fault = registry.create(platform, spec, random.Random(0))
        assert type(fault) is faults.FAULTS[spec.fault]
        fault.setup()
        started = fault.start()
        made[spec.fault] = started["proof"]["resources"]
        assert leftovers(k8s, "library-run")
        assert fault.stop()["proof"]["recovered"] == made[spec.fault]
        assert leftovers(k8s, "library-run") == []
    assert len(made["isolate-zone"]) == 8 and len(made["partition"]) == 8 and len(made["isolate-object-storage"]) == 1
    assert len(made["zone-loss"]) == 2 and len(made["zone-bandwidth"]) == 1 and len(made["zone-latency"]) == 2
    one_way = faults.OneWay(platform, FaultSpec("one-way", "zone:b"))
    assert {s["direction"] for _, s in one_way.specs()} == {"to"}
    assert {s["target"]["selector"]["nodeSelectors"]["topology.kubernetes.io/zone"] for _, s in one_way.specs()} == {"b"}
    # a fault whose resources never report injected did not start, and leaves nothing
    nowhere = registry.create(platform, FaultSpec("isolate-zone", "zone:x", params={"inject_timeout_s": 3}),
                              random.Random(0))
    nowhere.setup()
    with pytest.raises(FaultError, match="did not start"):
        nowhere.start()
    assert leftovers(k8s, "library-run") == []
    # teardown heals what a run still has
    fault = registry.create(platform, FaultSpec("isolate-zone", "zone:c"), random.Random(0))
    fault.setup()
    fault.start()
    node = next(n for n in platform.nodes() if n.name == "kafka-a")
    node.pause()
    assert len(leftovers(k8s, "library-run")) == 9
    platform.stop()
    assert leftovers(k8s, "library-run") == []


def test_a_failed_preflight_stops_the_run_before_anything_is_touched(k8s, tmp_path):  # noqa: F811
    from kfchaos.targets.discovery import DiscoveryError
    from kfchaos.targets.external import ExternalPlatform
    t = load_target(k8s.write_target(tmp_path / "t.yaml", expected={"broker": 5}))
    platform = ExternalPlatform(t, run_id="refused-run")
    with pytest.raises(DiscoveryError, match="matches 3 pods in kafka, expected 5"):
        platform.start()
    assert leftovers(k8s, "refused-run") == []

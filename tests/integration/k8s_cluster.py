"""A real Kubernetes control plane for the kubernetes actuator's tests (session-scoped):
etcd + kube-apiserver v1.36 + kwok as processes on 127.0.0.1, the Chaos Mesh, Flink
operator and Strimzi CRDs, Strimzi's Kafka and KafkaNodePool resources for ``my-cluster``,
three kwok nodes in zones a/b/c with Strimzi and Flink operator pods bound to them, and a token bound to exactly the RBAC that the README documents.
``k8s_v1beta2`` (module-scoped) is a second, short-lived control plane of the same shape whose
Kafka CRD is Strimzi 0.45.0's (``kafka.strimzi.io/v1beta2`` only, as older operators serve it).

Chaos Mesh itself cannot run here (no image can be pulled), so :class:`FakeChaosMesh`, a
small controller in this test code, sets the status conditions Chaos Mesh would set
(``Selected``, ``AllInjected``, ``AllRecovered``) and holds the ``chaos-mesh/records``
finalizer until a resource is deleted. The README says so.

The first run builds kube-apiserver, kwok and controller-gen into the cache (minutes, with
progress lines); later runs reuse them.
"""
from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from kfchaos.targets.kubernetes import artifacts, chaos, testcluster
from kfchaos.targets.kubernetes.topology import selected_pods

ROOT = Path(__file__).resolve().parents[2]
HARNESS_USER = "chaos-harness"
STUCK = "stuck"                     # a fault label starting with this: the fake controller keeps its finalizer
DEAF = "deaf"                       # ... never reports anything (Chaos Mesh not running for it)


FLINK_DEPLOYMENT = {
    "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
    "metadata": {"name": testcluster.FLINK_DEPLOYMENT, "namespace": "flink"},
    "spec": {"image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
             "flinkConfiguration": {"kubernetes.operator.deployment.rollback.enabled": "true"},
             "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
             "taskManager": {"resource": {"memory": "1024m", "cpu": 1}},
             "job": {"jarURI": "local:///opt/flink/usrlib/job-1.jar", "parallelism": 2, "upgradeMode": "savepoint",
                     "state": "running"}}}


def operator_sets(api, lifecycle: str, job: str) -> None:
    """What the Flink operator would write into the FlinkDeployment's status (test code)."""
    from kubernetes import client
    client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        "flink.apache.org", "v1beta1", "flink", "flinkdeployments", testcluster.FLINK_DEPLOYMENT,
        {"status": {"lifecycleState": lifecycle, "jobStatus": {"state": job}}})


def readme_rbac() -> list[dict]:
    """The RBAC YAML block of the README's Kubernetes section, exactly as documented."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- k8s-rbac -->\s*```yaml\n(.*?)```", text, re.S)
    assert m, "README.md has no ```yaml block after <!-- k8s-rbac -->"
    return [d for d in yaml.safe_load_all(m.group(1)) if d]


class FakeChaosMesh(threading.Thread):
    """Sets Chaos Mesh's status conditions on the chaos resources of one namespace (test code)."""

    def __init__(self, api, namespace: str):
        super().__init__(daemon=True, name="fake-chaos-mesh")
        from kubernetes import client
        self.custom, self.core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        self.namespace = namespace
        self.halt = threading.Event()
        self.seen: dict[str, list[tuple[str, str]]] = {}     # name -> pods it selected
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.halt.wait(0.1):
            for plural in chaos.KINDS.values():
                try:
                    items = self.custom.list_namespaced_custom_object(chaos.GROUP, chaos.VERSION, self.namespace,
                                                                      plural)["items"]
                    for obj in items:
                        self.reconcile(plural, obj)
                except Exception as exc:      # a resource deleted meanwhile, a conflict: next round
                    self.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    def _status(self, plural: str, name: str, conds: dict[str, str]) -> None:
        body = {"status": {"conditions": [{"type": k, "status": v} for k, v in conds.items()],
                           "experiment": {"desiredPhase": "Stop" if conds.get("AllRecovered") == "True" else "Run"}}}
        # the generated Chaos Mesh CRDs have no status subresource: status is part of the object
        self.custom.patch_namespaced_custom_object(chaos.GROUP, chaos.VERSION, self.namespace, plural, name, body)

    def reconcile(self, plural: str, obj: dict) -> None:
        meta, name = obj["metadata"], obj["metadata"]["name"]
        fault = (meta.get("labels") or {}).get(chaos.FAULT_LABEL, "")
        if fault.startswith(DEAF):
            return
        conds = chaos.conditions(obj)
        if meta.get("deletionTimestamp"):
            if meta.get("finalizers") and not fault.startswith(STUCK):
                self.custom.patch_namespaced_custom_object(chaos.GROUP, chaos.VERSION, self.namespace, plural, name,
                                                           {"metadata": {"finalizers": None}})
            return
        if not meta.get("finalizers"):
            self.custom.patch_namespaced_custom_object(chaos.GROUP, chaos.VERSION, self.namespace, plural, name,
                                                       {"metadata": {"finalizers": ["chaos-mesh/records"]}})
        paused = (meta.get("annotations") or {}).get(chaos.PAUSE_ANNOTATION) == "true"
        if paused:
            want = {"Selected": conds.get("Selected", "True"), "AllInjected": "False", "AllRecovered": "True",
                    "Paused": "True"}
        elif conds.get("Selected") and conds.get("Paused") == "False":
            return                                      # injected (or selected nothing): nothing changes
        else:
            pods = selected_pods(self.core, obj["spec"]["selector"])
            ok = "True" if pods else "False"            # Selected: the resource's own selector matched pods
            if obj["spec"].get("target"):
                pods += selected_pods(self.core, obj["spec"]["target"]["selector"])
            self.seen[name] = pods
            want = {"Selected": ok, "AllInjected": ok, "AllRecovered": "False", "Paused": "False"}
        if want != conds:
            self._status(plural, name, want)


@dataclass
class Cluster:
    plane: testcluster.ControlPlane
    admin: object                              # kubernetes ApiClient with system:masters
    harness_kubeconfig: Path
    controller: FakeChaosMesh | None
    crd_dirs: dict[str, Path] = field(default_factory=dict)

    def target_doc(self, **kube) -> dict:
        ks = {"kubeconfig": str(self.harness_kubeconfig), "context": "chaos-test", "namespace": "kafka",
              "flink_namespace": "flink", "strimzi_cluster": testcluster.STRIMZI_CLUSTER,
              "flink_deployment": testcluster.FLINK_DEPLOYMENT, "chaos_timeout": 30,
              "expected": {"broker": 3, "controller": 3, "jobmanager": 1, "taskmanager": 2}}
        ks.update(kube)
        return {"name": "k8s-test", "zones": list(testcluster.ZONES),
                "kafka": {"bootstrap_servers": "127.0.0.1:9092"},
                "flink": {"rest_url": "http://127.0.0.1:8081"},
                "s3": {"endpoint": "http://objects.example.internal:9000", "bucket": "flink"},
                "kubernetes": ks,
                "nodes": [{"name": f"kafka-{z}", "role": "broker", "zone": z,
                           "actuator": {"type": "kubernetes", "pod": f"{testcluster.STRIMZI_CLUSTER}-broker-{i}",
                                        "container": "kafka"}} for i, z in enumerate(testcluster.ZONES)]
                + [{"name": "jobmanager", "role": "jobmanager", "zone": "a",
                    "actuator": {"type": "kubernetes", "selector": "app=orders-job,component=jobmanager",
                                 "container": "flink-main-container"}}]}

    def write_target(self, path: Path, **kube) -> Path:
        path.write_text(yaml.safe_dump(self.target_doc(**kube)))
        return path

    def ensure_pod(self, manifest: dict, timeout: float = 90) -> None:
        """What the pod's operator (StrimziPodSet, Flink operator) does: recreate it; wait until Running."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException
        core = client.CoreV1Api(self.admin)
        ns, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pod = core.read_namespaced_pod(name, ns)
                if not pod.metadata.deletion_timestamp and pod.status.phase == "Running":
                    return
            except ApiException as exc:
                if exc.status != 404:
                    raise
                core.create_namespaced_pod(ns, manifest)
            time.sleep(0.2)
        raise AssertionError(f"pod {ns}/{name} not Running after {timeout}s")


def harness_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m kfchaos.cli ARGS`` from the project root, output captured."""
    return subprocess.run([sys.executable, "-m", "kfchaos.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def apply(api, docs: list[dict]) -> None:
    from kubernetes import utils
    for d in docs:
        utils.create_from_dict(api, d)


def create_strimzi(api, resource: dict, dry_run: bool = False) -> dict:
    """Create one Strimzi resource (server-side validation by its CRD's schema and CEL rules)."""
    from kubernetes import client
    group, version = resource["apiVersion"].split("/")
    plural = resource["kind"].lower() + "s"
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        group, version, resource["metadata"]["namespace"], plural, resource, **({"dry_run": "All"} if dry_run else {}))


def _install_crds(api, directory: Path, only: tuple[str, ...] = ()) -> list[str]:
    from kubernetes import client
    ext = client.ApiextensionsV1Api(api)
    names = []
    for f in sorted(directory.glob("*.y*ml")):
        if only and not any(f"_{k}." in f.name or f.name.startswith(f"{k}.") for k in only):
            continue
        for doc in yaml.safe_load_all(f.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                ext.create_custom_resource_definition(doc)
                names.append(doc["metadata"]["name"])
    deadline = time.monotonic() + 30
    for name in names:
        while True:
            crd = ext.read_custom_resource_definition(name)
            if any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])):
                break
            assert time.monotonic() < deadline, f"CRD {name} not Established"
            time.sleep(0.1)
    return names


def _namespaces_nodes_pods(core) -> None:
    """Namespaces kafka and flink, three kwok nodes in zones a/b/c and the platform's pods bound to them."""
    for ns in ("kafka", "flink"):
        core.create_namespace({"metadata": {"name": ns}})
    for ns in ("default", "kafka", "flink"):    # no controller-manager makes them
        core.create_namespaced_service_account(ns, {"metadata": {"name": "default"}})
    for zone in testcluster.ZONES:
        core.create_node(testcluster.node_manifest(f"node-{zone}", zone))
    for pod in testcluster.platform_pods():
        core.create_namespaced_pod(pod["metadata"]["namespace"], pod)


def _bind_readme_rbac(plane, admin) -> Path:
    """The README's RBAC bound to the harness user; its kubeconfig."""
    subject = {"kind": "User", "name": HARNESS_USER, "apiGroup": "rbac.authorization.k8s.io"}
    docs = readme_rbac()
    for d in docs:
        if d["kind"].endswith("Binding"):
            d["subjects"] = [subject]
    apply(admin, docs)
    return plane.write_kubeconfig(HARNESS_USER, plane.directory / "harness.kubeconfig")


def start_cluster() -> Cluster:
    from kubernetes import client, config
    t0 = time.monotonic()
    built = artifacts.build_all()
    print(f"\n[k8s] artifacts in {time.monotonic() - t0:.1f}s")
    plane = testcluster.ControlPlane(built)
    plane.add_token(HARNESS_USER, ("chaos-harness-group",))
    plane.start()
    try:
        admin = config.new_client_from_config(config_file=str(plane.kubeconfig))
        t1 = time.monotonic()
        _install_crds(admin, built.chaos_mesh_crds, tuple(chaos.KINDS.values()))    # the kinds the harness uses
        _install_crds(admin, built.flink_crds, ("flinkdeployments",))
        t2 = time.monotonic()
        _install_crds(admin, built.strimzi_crds)
        print(f"[k8s] CRDs established in {time.monotonic() - t1:.1f}s (Strimzi: {time.monotonic() - t2:.1f}s)")
        core = client.CoreV1Api(admin)
        _namespaces_nodes_pods(core)
        for res in testcluster.strimzi_resources():
            create_strimzi(admin, res)
        client.CustomObjectsApi(admin).create_namespaced_custom_object("flink.apache.org", "v1beta1", "flink",
                                                                       "flinkdeployments", FLINK_DEPLOYMENT)
        operator_sets(admin, "STABLE", "RUNNING")
        harness_cfg = _bind_readme_rbac(plane, admin)
        t1 = time.monotonic()
        deadline = time.monotonic() + 120
        while True:
            pods = [p for ns in ("kafka", "flink") for p in core.list_namespaced_pod(ns).items]
            nodes = core.list_node().items
            ready = all(any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))
                        for n in nodes)
            if ready and pods and all(p.status.phase == "Running" for p in pods):
                break
            assert time.monotonic() < deadline, (
                f"kwok did not make nodes Ready and pods Running in 120s: "
                f"{[(p.metadata.name, p.status.phase) for p in pods]}; kwok log: {plane.log_tail('kwok')}")
            time.sleep(0.2)
        print(f"[k8s] nodes Ready and pods Running in {time.monotonic() - t1:.1f}s")
        controller = FakeChaosMesh(admin, "kafka")
        controller.start()
        return Cluster(plane, admin, harness_cfg, controller,
                       {"chaos-mesh": built.chaos_mesh_crds, "flink": built.flink_crds,
                        "strimzi": built.strimzi_crds})
    except BaseException:
        plane.stop()
        raise


@pytest.fixture(scope="session")
def k8s():
    started = time.monotonic()
    cluster = start_cluster()
    print(f"\n[k8s] control plane ready in {time.monotonic() - started:.1f}s ({cluster.plane.timings})")
    try:
        yield cluster
    finally:
        cluster.controller.halt.set()
        cluster.controller.join(timeout=5)
        cluster.plane.stop()


def start_v1beta2_cluster() -> Cluster:
    """A second control plane where Strimzi's Kafka CRD is the 0.45.0 one (served and stored as
    ``v1beta2``, no ``v1``), with the Chaos Mesh CRDs, the nodes and pods of the session cluster,
    a ``v1beta2`` Kafka ``my-cluster`` and the README's RBAC. No FlinkDeployment, no chaos controller."""
    from kubernetes import client, config
    built = artifacts.build_all()
    plane = testcluster.ControlPlane(built)
    plane.add_token(HARNESS_USER, ("chaos-harness-group",))
    plane.start()
    try:
        admin = config.new_client_from_config(config_file=str(plane.kubeconfig))
        _install_crds(admin, built.chaos_mesh_crds, tuple(chaos.KINDS.values()))
        _install_crds(admin, built.strimzi_v1beta2_crds)
        _namespaces_nodes_pods(client.CoreV1Api(admin))
        create_strimzi(admin, testcluster.kafka_v1beta2())
        harness_cfg = _bind_readme_rbac(plane, admin)
        return Cluster(plane, admin, harness_cfg, None, {"strimzi": built.strimzi_v1beta2_crds})
    except BaseException:
        plane.stop()
        raise


@pytest.fixture(scope="module")
def k8s_v1beta2():
    started = time.monotonic()
    cluster = start_v1beta2_cluster()
    print(f"\n[k8s] v1beta2 control plane ready in {time.monotonic() - started:.1f}s ({cluster.plane.timings})")
    try:
        yield cluster
    finally:
        cluster.plane.stop()

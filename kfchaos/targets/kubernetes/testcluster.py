"""A real Kubernetes control plane as local processes, for tests: etcd (Debian's
``etcd-server``), kube-apiserver v1.36 (RBAC, token file, a generated service-account key
pair, its own cert dir) and kwok (fake nodes and pods, no kubelet), all on 127.0.0.1 with
free ports under one temporary directory. There is no controller-manager: the
``default`` ServiceAccount of each namespace is created here.

``ControlPlane.start()`` returns when the API server is ready; ``stop()`` kills every
process it started (by pid) and removes the directory.
"""
from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .artifacts import Artifacts

ADMIN_TOKEN_USER = "chaos-admin"
ZONES = ("a", "b", "c")
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


class ControlPlaneError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """In the child before exec: its own session, and SIGKILL when the process that started it dies
    (a killed test run leaves no etcd, API server or kwok behind)."""
    os.setsid()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A port below the kernel's ephemeral range (see kfchaos.platform.ports: no race with
    the source ports of outgoing connections between the choice and the server's bind)."""
    from kfchaos.platform.ports import free_port as below_ephemeral
    return below_ephemeral()


def _keypair(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv, pub = directory / "sa.key", directory / "sa.pub"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub


@dataclass
class ControlPlane:
    artifacts: Artifacts
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chaos-k8s-")))
    tokens: dict[str, str] = field(default_factory=dict)        # user -> bearer token
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    url: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    # ---- processes ---------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent, cwd=self.directory, env={**os.environ, **(env or {})})
        log.close()
        self.procs[name] = proc
        (self.directory / "pids").open("a").write(f"{name} {proc.pid}\n")
        return proc

    def log_tail(self, name: str, lines: int = 15) -> str:
        p = self.directory / f"{name}.log"
        return "\n".join(p.read_text(errors="replace").splitlines()[-lines:]) if p.exists() else ""

    def _wait(self, name: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise ControlPlaneError(f"{name} exited with {self.procs[name].returncode}: {self.log_tail(name)}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise ControlPlaneError(f"{name} not ready after {timeout:.0f}s: {self.log_tail(name)}")

    @staticmethod
    def remove_stale() -> list[Path]:
        """Directories of control planes whose processes are all gone (a killed test run's)."""
        removed = []
        for d in Path(tempfile.gettempdir()).glob("chaos-k8s-*"):
            pids = d / "pids"
            alive = False
            if pids.exists():
                for line in pids.read_text().splitlines():
                    pid = int(line.split()[1])
                    try:
                        alive = alive or Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
                    except (OSError, IndexError):
                        pass
            elif time.time() - d.stat().st_mtime < 3600:
                continue                                # being created right now, perhaps
            if not alive:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
        return removed

    def start(self) -> "ControlPlane":
        t0 = time.monotonic()
        self.remove_stale()                             # what a SIGKILLed test run left in /tmp
        try:
            self._start_etcd()
            self.timings["etcd"] = time.monotonic() - t0
            self._start_apiserver()
            self.timings["apiserver"] = time.monotonic() - t0
            self._start_kwok()
            self.timings["kwok"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn("etcd", [str(self.artifacts.etcd), "--name", "chaos", "--data-dir", str(self.directory / "etcd"),
                             "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
                             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                             "--initial-cluster", f"chaos=http://127.0.0.1:{peer}", "--log-level", "warn",
                             "--quota-backend-bytes", str(512 * 1024 * 1024)])
        self._wait("etcd", lambda: urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2).status == 200, 30)

    def add_token(self, user: str, groups: tuple[str, ...] = ()) -> str:
        """A bearer token for ``user`` (the token file is read at API server start: call before start)."""
        token = os.urandom(16).hex()
        self.tokens[user] = token
        with (self.directory / "tokens.csv").open("a") as f:
            f.write(f'{token},{user},{user},"{",".join(groups)}"\n')
        return token

    def _start_apiserver(self) -> None:
        port = free_port()
        self.url = f"https://127.0.0.1:{port}"
        priv, pub = _keypair(self.directory)
        if ADMIN_TOKEN_USER not in self.tokens:
            self.add_token(ADMIN_TOKEN_USER, ("system:masters",))
        self._spawn("kube-apiserver", [
            str(self.artifacts.kube_apiserver), f"--etcd-servers={self.etcd_url}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", f"--secure-port={port}", f"--cert-dir={self.directory / 'certs'}",
            f"--token-auth-file={self.directory / 'tokens.csv'}", "--authorization-mode=RBAC",
            f"--service-account-key-file={pub}", f"--service-account-signing-key-file={priv}",
            "--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/24",
            "--enable-priority-and-fairness=false", "--profiling=false", "--watch-cache=true", "--v=0"])
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE

        def ready() -> bool:
            req = urllib.request.Request(f"{self.url}/readyz",
                                         headers={"Authorization": f"Bearer {self.tokens[ADMIN_TOKEN_USER]}"})
            try:
                return urllib.request.urlopen(req, timeout=2, context=ctx).status == 200
            except urllib.error.HTTPError:
                return False
        self._wait("kube-apiserver", ready, 90)
        self.kubeconfig = self.write_kubeconfig(ADMIN_TOKEN_USER, self.directory / "admin.kubeconfig")

    def write_kubeconfig(self, user: str, path: Path, context: str = "chaos-test", namespace: str = "default") -> Path:
        ca = self.directory / "certs" / "apiserver.crt"      # the API server's self-signed certificate
        trust = {"certificate-authority": str(ca)} if ca.is_file() else {"insecure-skip-tls-verify": True}
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": context,
               "clusters": [{"name": "chaos-test", "cluster": {"server": self.url, **trust}}],
               "users": [{"name": user, "user": {"token": self.tokens[user]}}],
               "contexts": [{"name": context, "context": {"cluster": "chaos-test", "user": user,
                                                          "namespace": namespace}}]}
        path.write_text(yaml.safe_dump(cfg))
        path.chmod(0o600)
        return path

    def _start_kwok(self) -> None:
        cfg = self.directory / "kwok.yaml"
        docs = [d for p in sorted(self.artifacts.kwok_stages.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())
                if d]
        cfg.write_text(yaml.safe_dump_all(docs))
        self._spawn("kwok", [str(self.artifacts.kwok), f"--kubeconfig={self.kubeconfig}", f"--config={cfg}",
                             "--manage-all-nodes=false",
                             f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                             "--cidr=10.244.0.1/16", "--node-ip=10.244.0.1"],   # fake addresses: nothing connects
                    # etcd 3.4 has no RequestWatchProgress, so client-go's watch-list streams end in an error
                    # and kwok would see new pods only on its next relist (seconds to tens of seconds)
                    env={"KUBE_FEATURE_WatchListClient": "false"})
        time.sleep(0.5)
        if self.procs["kwok"].poll() is not None:
            raise ControlPlaneError(f"kwok exited with {self.procs['kwok'].returncode}: {self.log_tail('kwok')}")

    def stop(self) -> None:
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        self.procs.clear()
        if os.environ.get("CHAOS_KEEP_K8S_DIR") != "1":
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "ControlPlane":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- a cluster that looks like Strimzi + the Flink operator ----------------------------------
STRIMZI_CLUSTER = "my-cluster"
FLINK_DEPLOYMENT = "orders-job"


def broker_labels(index: int, cluster: str = STRIMZI_CLUSTER) -> dict[str, str]:
    return {"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{cluster}-kafka",
            "strimzi.io/pool-name": "broker", "strimzi.io/broker-role": "true", "strimzi.io/controller-role": "false",
            "strimzi.io/pod-name": f"{cluster}-broker-{index}"}


def controller_labels(index: int, cluster: str = STRIMZI_CLUSTER) -> dict[str, str]:
    return {"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{cluster}-kafka",
            "strimzi.io/pool-name": "controller", "strimzi.io/broker-role": "false",
            "strimzi.io/controller-role": "true", "strimzi.io/pod-name": f"{cluster}-controller-{index}"}


def flink_labels(component: str, deployment: str = FLINK_DEPLOYMENT) -> dict[str, str]:
    return {"app": deployment, "component": component, "type": "flink-native-kubernetes"}


def node_manifest(name: str, zone: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {KWOK_NODE_ANNOTATION: "fake"},
                         "labels": {"topology.kubernetes.io/zone": zone, "kubernetes.io/hostname": name,
                                    "type": "kwok"}},
            "spec": {"taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]}}


def pod_manifest(name: str, namespace: str, labels: dict[str, str], node: str, container: str = "kafka") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": container, "image": "registry.invalid/fake:1"}],
                     "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}]}}


def platform_pods(kafka_ns: str = "kafka", flink_ns: str = "flink") -> list[dict]:
    """3 brokers and 3 controllers (one per zone), a JobManager in zone a, TaskManagers in b and c."""
    pods = []
    for i, zone in enumerate(ZONES):
        pods.append(pod_manifest(f"{STRIMZI_CLUSTER}-broker-{i}", kafka_ns, broker_labels(i), f"node-{zone}"))
        pods.append(pod_manifest(f"{STRIMZI_CLUSTER}-controller-{i + 3}", kafka_ns, controller_labels(i + 3),
                                 f"node-{zone}"))
    pods.append(pod_manifest(f"{FLINK_DEPLOYMENT}-jm", flink_ns, flink_labels("jobmanager"), "node-a",
                             "flink-main-container"))
    for i, zone in enumerate(ZONES[1:], start=1):
        pods.append(pod_manifest(f"{FLINK_DEPLOYMENT}-taskmanager-1-{i}", flink_ns, flink_labels("taskmanager"),
                                 f"node-{zone}", "flink-main-container"))
    return pods


def strimzi_resources(namespace: str = "kafka", cluster: str = STRIMZI_CLUSTER) -> list[dict]:
    """The Kafka (KRaft, rack awareness by zone) and its two KafkaNodePools (3 brokers, 3
    controllers) that the Strimzi operator would have made the pods above from."""
    meta = {"namespace": namespace, "labels": {"strimzi.io/cluster": cluster}}
    pools = [{"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaNodePool",
              "metadata": {"name": role, **meta},
              "spec": {"replicas": 3, "roles": [role],
                       "storage": {"type": "jbod", "volumes": [{"id": 0, "type": "persistent-claim", "size": "10Gi",
                                                                "kraftMetadata": "shared", "deleteClaim": False}]}}}
             for role in ("broker", "controller")]
    kafka = {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": cluster, "namespace": namespace},
             "spec": {"kafka": {"version": "4.1.1", "metadataVersion": "4.1-IV1",
                                "rack": {"topologyKey": "topology.kubernetes.io/zone"},
                                "listeners": [{"name": "plain", "port": 9092, "type": "internal", "tls": False}],
                                "config": {"default.replication.factor": 3, "min.insync.replicas": 2,
                                           "offsets.topic.replication.factor": 3,
                                           "transaction.state.log.replication.factor": 3,
                                           "transaction.state.log.min.isr": 2}},
                      "entityOperator": {"topicOperator": {}}}}
    return pools + [kafka]


def kafka_v1beta2(namespace: str = "kafka", cluster: str = STRIMZI_CLUSTER) -> dict:
    """The same Kafka as an older operator (Strimzi 0.4x, API version ``v1beta2``) takes it: there
    KRaft and node pools are switched on by annotations, and its newest Kafka is 3.9."""
    kafka = strimzi_resources(namespace, cluster)[-1]
    kafka["apiVersion"] = "kafka.strimzi.io/v1beta2"
    kafka["metadata"]["annotations"] = {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    kafka["spec"]["kafka"].update(version="3.9.0", metadataVersion="3.9-IV0")
    return kafka

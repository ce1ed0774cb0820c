"""The platform under test: a 3-zone KRaft Kafka cluster, MinIO, Flink and one Toxiproxy
per zone, each its own container on a project-created Docker network. What runs as
the broker of a zone depends on the platform kind (``kfchaos.platform.flavors``).

``Platform(cfg).start()`` builds or finds the images, starts every container with a
run-id label, waits for readiness with wait objects, and prints bring-up time per
component. ``stop()`` (also on exceptions, Ctrl-C and SIGTERM) removes everything.
Topology and listeners: see ``kfchaos.platform.config``.
"""
from __future__ import annotations

import base64
import logging
import re
import secrets
import uuid
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
from confluent_kafka.admin import AdminClient
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from kfchaos.images.versions import platform_versions
from kfchaos.redact import redact as redact_text, register_secret

from . import cleanup, disks, probes
from .config import (EXTERNAL_PORT, FLINK_REST_PORT, INTERNAL_PORT, PROXIED_PORT, S3_PORT, TOXIPROXY_API_PORT,
                     ZOOKEEPER_HOST, ZOOKEEPER_PORT, PlatformConfig, broker_host, render_flink_config, toxiproxy_host, toxiproxy_proxies)
from .docker_engine import ensure_docker
from .flavors import BrokerContext, FlavorError, flavor_for
from .kafka_config import client_config, set_client_security
from .security import ADMIN, WORKLOAD, RunSecurity, base_bindings, grant_workload, workload_bindings
from .images import ROLES, minio_command, resolve_images, toxiproxy_command, zookeeper_command
from .node import Node
from .ports import PortPlan
from .toxiproxy import ToxiproxyClient
from .waits import NotReady, Wait


def new_cluster_id() -> str:
    """A KRaft cluster id (URL-safe base64 of a UUID) that does not start with '-', which
    the storage tool's argument parser would take for an option (as Kafka's own Uuid does)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class PlatformError(RuntimeError):
    pass


log = logging.getLogger("chaos.platform")


class Platform:
    def __init__(self, cfg: PlatformConfig | None = None, run_id: str | None = None,
                 log_dir: Path | None = None):
        self.cfg = cfg or PlatformConfig()
        self.flavor = flavor_for(self.cfg.kind)
        self.run_id = run_id or f"{time.strftime('%H%M%S')}-{secrets.token_hex(3)}"
        self.network_name = f"chaos-{self.run_id}"
        self.s3_access_key = "chaos" + secrets.token_hex(6)
        self.s3_secret_key = secrets.token_hex(20)
        for key in (self.s3_access_key, self.s3_secret_key):
            register_secret(key)        # masked in logs, errors and reports from now on
        # One KRaft cluster id for all brokers, fixed before the parallel broker starts.
        self.cluster_id = new_cluster_id()
        self.brokers: dict[str, Node] = {}
        self.extra_brokers: dict[int, Node] = {}   # node id -> broker-only node added (kfchaos.platform.scaling)
        self.retired_ids: list[int] = []           # node ids of added brokers since removed
        self.toxiproxies: dict[str, Node] = {}
        self.toxiproxy: dict[str, ToxiproxyClient] = {}
        self.flink_taskmanagers: list[Node] = []
        self.minio: Node | None = None
        self.flink_jobmanager: Node | None = None
        self.zookeeper: Node | None = None        # Flink's HA service (flink.ha: zookeeper)
        self.upgrade_images: dict[str, str] = {}  # release ("flink X" for Flink) -> image (platform.upgrade)
        self.images: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.ports = PortPlan(self.cfg.port_base)
        self.log_dir = log_dir  # container logs are saved here when bring-up fails
        self._network: Network | None = None
        self._admin: AdminClient | None = None
        self._broker_admins: dict[str, AdminClient] = {}
        self._unregister = None
        self.security: RunSecurity | None = None    # SASL_SSL (+ ACLs) of the host listeners, per run

    # ---- addresses -------------------------------------------------------------------
    @property
    def zones(self) -> tuple[str, ...]:
        return self.cfg.zones

    @property
    def bootstrap_servers(self) -> str:
        """Host clients, direct to the brokers."""
        return ",".join(self.broker_addresses().values())

    def broker_addresses(self) -> dict[str, str]:
        """Each zone's broker alone, as host clients reach it directly."""
        return {z: f"127.0.0.1:{self.brokers[z].host_port(EXTERNAL_PORT)}" for z in self.zones}

    @property
    def proxied_bootstrap_servers(self) -> str:
        """Host clients through each zone's Toxiproxy (client-<zone> proxies)."""
        return ",".join(f"127.0.0.1:{self.toxiproxies[z].host_port(PROXIED_PORT)}" for z in self.zones)

    @property
    def internal_bootstrap_servers(self) -> str:
        """Clients inside the Docker network (Flink jobs)."""
        return ",".join(f"{broker_host(z)}:9092" for z in self.zones)

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.minio.host_port(S3_PORT)}"

    @property
    def flink_rest_url(self) -> str:
        return f"http://127.0.0.1:{self.flink_jobmanager.host_port(FLINK_REST_PORT)}"

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(client_config(self.bootstrap_servers))
        return self._admin

    def broker_admin(self, address: str) -> AdminClient:
        """An admin client bootstrapped to the one broker at ``address`` (cached per address), for
        asking that broker's own view, e.g. of stateless brokers that each answer for themselves."""
        if address not in self._broker_admins:
            self._broker_admins[address] = AdminClient(client_config(address))
        return self._broker_admins[address]

    # ---- client security (platform.security) ---------------------------------------------
    def principal_settings(self, principal: str, password: str | None = None) -> dict:
        """librdkafka security settings of one principal (admin, workload, intruder); {} without security."""
        return self.security.client_settings(principal, password) if self.security else {}

    def authorize_workload(self, topic: str | None = None, group: str | None = None) -> int:
        """Give the workload principal what it needs on ``topic`` / ``group`` (ACLs; nothing
        to do without them). Returns how many ACLs were created."""
        if self.security is None or not self.security.settings.acls:
            return 0
        return grant_workload(self.admin, workload_bindings(topic, group))

    def _secure(self) -> None:
        """Credentials and certificates of this run; every harness client uses them from now on."""
        if self.cfg.security is None:
            return
        self.security = RunSecurity(self.cfg.security, [broker_host(z) for z in self.zones], self.run_id)
        admin, workload = self.security.client_settings(ADMIN), self.security.client_settings(WORKLOAD)
        set_client_security(admin, {k: v for k, v in workload.items() if admin.get(k) != v})

    def s3_client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.s3_endpoint, aws_access_key_id=self.s3_access_key,
                            aws_secret_access_key=self.s3_secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def gateway_ip(self) -> str:
        """Where host clients' traffic enters the network (port mappings arrive from here)."""
        net = docker.from_env().networks.get(self.network_name)
        return net.attrs["IPAM"]["Config"][0]["Gateway"]

    def nodes(self) -> list[Node]:
        fixed = [self.minio, self.zookeeper, self.flink_jobmanager]
        return [*self.toxiproxies.values(), *self.brokers.values(), *self.extra_brokers.values(),
                *[n for n in fixed if n], *self.flink_taskmanagers]

    def zone_members(self, zone: str) -> list[Node]:
        return [n for n in self.nodes() if n.zone == zone]

    def redact(self, text: str) -> str:
        return redact_text(text)

    # ---- tools: what faults and scenarios ask of the brokers, whatever the kind ----------
    @property
    def capabilities(self) -> frozenset[str]:
        return self.flavor.capabilities

    def run_tool(self, tool: str, args: list[str], zone: str | None = None) -> tuple[int, str]:
        """Run a Kafka tool (short name such as ``configs`` or a class name) in the broker of
        ``zone``, or in the first running broker; returns (exit code, output with stderr)."""
        return run_broker_tool(self, tool, args, zone)

    def controller_id(self) -> int:
        """The node id of the active KRaft controller (the metadata quorum's leader)."""
        reason = self.flavor.missing("controller-quorum", "admin-tools")
        if reason:
            raise PlatformError(f"no active controller to ask for: {reason}")
        for z in self.zones:
            if z not in self.brokers or not self.brokers[z].running():
                continue
            code, out = self.run_tool("metadata-quorum", ["--bootstrap-controller",
                                                          f"localhost:{self.cfg.controller_port(z)}",
                                                          "describe", "--status"], zone=z)
            m = re.search(r"LeaderId:\s+(\d+)", out)
            if code == 0 and m:
                return int(m.group(1))
        raise PlatformError("no running broker could describe the metadata quorum")

    def add_broker(self, zone: str) -> tuple[int, Node]:
        """Scale out: a broker-only KRaft node in ``zone`` (:mod:`kfchaos.platform.scaling`)."""
        from .scaling import add_broker
        return add_broker(self, zone)

    def remove_broker(self, node_id: int) -> dict:
        """Scale in: stop, unregister and remove an added broker whose replicas were moved off."""
        from .scaling import remove_broker
        return remove_broker(self, node_id)

    def apply_quota(self, client_id: str, settings: dict[str, int]) -> str:
        """Set a client quota (KIP-13), e.g. {"consumer_byte_rate": n}; returns what was set."""
        conf = ",".join(f"{k}={int(v)}" for k, v in settings.items())
        code, out = self.run_tool("configs", ["--bootstrap-server", f"localhost:{INTERNAL_PORT}", "--alter",
                                              "--entity-type", "clients", "--entity-name", client_id,
                                              "--add-config", conf])
        if code != 0:
            raise PlatformError(f"client quota {client_id}: {conf} was not applied (exit {code}): "
                                f"{out.strip()[-300:]}")
        return f"{client_id}: {conf}"

    # ---- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> "Platform":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "Platform":
        started = time.monotonic()
        ensure_docker()
        try:
            self.flavor.preflight(self.cfg, self.cfg.images)
        except FlavorError as exc:
            raise PlatformError(str(exc)) from None
        self._unregister = cleanup.register(self.stop)
        try:
            self._secure()
            t0 = time.monotonic()
            roles = tuple(self.flavor.image_role if r == "kafka" else r for r in ROLES)
            roles += ("zookeeper",) if self.cfg.flink.ha == "zookeeper" else ()
            self.images = resolve_images(self.cfg.images, roles, self.cfg.versions)
            if self.cfg.upgrade.get("kafka"):
                to = self.cfg.upgrade["kafka"]
                role = self.flavor.image_role
                self.upgrade_images[to] = resolve_images({}, (role,), {**self.cfg.versions, "kafka": to})[role]
                self.upgrade_images.setdefault(platform_versions(self.cfg.versions)["kafka"], self.images[role])
            if self.cfg.upgrade.get("flink"):         # the Flink release flink-upgrade moves the job to
                to = self.cfg.upgrade["flink"]
                self.upgrade_images[f"flink {to}"] = resolve_images({}, ("flink",),
                                                                    {**self.cfg.versions, "flink": to})["flink"]
            self.timings["images"] = time.monotonic() - t0
            self._network = Network(docker_network_kw={"labels": cleanup.run_labels(self.run_id, "network")})
            self._network.name = self.network_name
            self._network.create()
            log.info(f"run {self.run_id}: network {self.network_name}")
            ha = [self._start_zookeeper] if self.cfg.flink.ha == "zookeeper" else []
            self._phase("minio + toxiproxy", [self._start_minio] + ha + [lambda z=z: self._start_toxiproxy(z)
                                                                        for z in self.zones])
            for bucket in (*self.flavor.buckets(self.cfg), self.cfg.flink.bucket):   # HA state lives there
                self._create_bucket(bucket)
            flink = [self._start_flink_jobmanager] if self.cfg.flink.taskmanagers else []   # 0: Kafka only
            self._phase("kafka + flink", [lambda z=z: self._start_broker(z) for z in self.zones] + flink
                        + [lambda i=i: self._start_taskmanager(i) for i in range(self.cfg.flink.taskmanagers)])
            if self.security is not None and self.security.settings.acls:
                grant_workload(self.admin, base_bindings())
        except BaseException:
            self._save_logs_after_failure()
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - started
        log.info("ready in " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()))
        return self

    def stop(self) -> None:
        """Remove every container and the network of this run. Idempotent."""
        self._stopping = True           # bring-up threads create no more containers
        if self._unregister:
            self._unregister()
            self._unregister = None
        try:
            removed = cleanup.remove_run(self.run_id)
            if self.cfg.broker_disk_mb:
                removed += disks.remove_disks(self.run_id)
        except docker.errors.DockerException as exc:
            log.warning(f"cleanup of run {self.run_id} failed: {exc}; run `kfchaos clean`")
            return
        finally:
            self._unsecure()
        if removed:
            log.info(f"run {self.run_id}: removed {len(removed)} containers/networks")

    def _unsecure(self) -> None:
        if self.security is not None:
            self.security.close()
            set_client_security({})
            self._admin = None
            self._broker_admins.clear()

    def _save_logs_after_failure(self) -> None:
        import tempfile
        directory = self.log_dir or Path(tempfile.mkdtemp(prefix=f"chaos-{self.run_id}-logs-"))
        try:
            self.save_logs(directory)
            log.warning(f"bring-up failed: container logs saved in {directory}")
        except Exception as exc:
            log.error(f"bring-up failed and logs could not be saved: {exc}")

    def save_logs(self, directory: Path) -> None:
        for n in self.nodes():
            n.save_logs(directory, self.redact)

    # ---- components ------------------------------------------------------------------
    def _phase(self, name: str, starters: list) -> None:
        t0 = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=len(starters))
        futures = [pool.submit(s) for s in starters]
        try:
            errors = [f.exception() for f in futures if f.exception()]
        except BaseException:           # e.g. cleanup.Interrupted: stop without waiting for the others
            self._stopping = True
            raise
        finally:
            pool.shutdown(wait=not getattr(self, "_stopping", False), cancel_futures=True)
        if errors:
            raise errors[0]
        self.timings[name] = time.monotonic() - t0

    def _container(self, name: str, role: str, zone: str | None, image: str, ports: list[int],
                   net_admin: bool = False, **kwargs) -> Node:
        self._refuse_if_stopping(name)
        if net_admin:
            kwargs["cap_add"] = ["NET_ADMIN"]
        c = DockerContainer(image, name=f"chaos-{self.run_id}-{name}", hostname=name,
                            labels=cleanup.run_labels(self.run_id, role), **kwargs)
        c.with_network(self._network).with_network_aliases(name)
        node = Node(name=name, role=role, zone=zone, container=c)
        for p in ports:
            node.ports[p] = self.ports.take(f"{name}:{p}")
            c.ports[f"{p}/tcp"] = ("127.0.0.1", node.ports[p])
        return node

    def _refuse_if_stopping(self, name: str) -> None:
        if getattr(self, "_stopping", False):
            raise PlatformError(f"{name}: not started because the platform is stopping")

    def _run(self, node: Node, wait: Wait) -> None:
        t0 = time.monotonic()
        self._refuse_if_stopping(node.name)
        try:
            node.create_and_start()
        except docker.errors.APIError as exc:
            raise PlatformError(f"{node.name}: docker could not start the container: {exc.explanation}") from None
        if getattr(self, "_stopping", False):       # stop() ran during the create and may have missed it
            cleanup.remove_run(self.run_id)
            self._refuse_if_stopping(node.name)
        wait.node = node
        wait.until_ready()
        self.timings[node.name] = time.monotonic() - t0

    def _start_minio(self) -> None:
        img = self.images["minio"]
        n = self._container("minio", "minio", None, img, [S3_PORT], command=minio_command(img),
                            env={"MINIO_ROOT_USER": self.s3_access_key,
                                         "MINIO_ROOT_PASSWORD": self.s3_secret_key},
                            mem_limit="1g")
        self.minio = n
        self._run(n, Wait("the MinIO health check", lambda: probes.http_ok(
            f"{self.s3_endpoint}/minio/health/live")(), timeout=self.cfg.startup_timeout))

    def _start_zookeeper(self) -> None:
        img = self.images["zookeeper"]
        n = self._container(ZOOKEEPER_HOST, "zookeeper", self.cfg.flink_zone, img, [], net_admin=True,
                            command=zookeeper_command(img), mem_limit="384m")
        self.zookeeper = n

        def ruok() -> tuple[bool, str]:
            code, out = n.exec(["sh", "-c", f"echo ruok | nc -w 2 127.0.0.1 {ZOOKEEPER_PORT}"], check=False)
            return out.strip() == "imok", out.strip() or f"exit {code}"
        self._run(n, Wait("ZooKeeper to answer ruok", ruok, timeout=self.cfg.startup_timeout))

    def _start_toxiproxy(self, zone: str) -> None:
        img = self.images["toxiproxy"]
        name = toxiproxy_host(zone)
        n = self._container(name, "toxiproxy", zone, img, [TOXIPROXY_API_PORT, PROXIED_PORT], net_admin=True,
                            command=toxiproxy_command(img), mem_limit="256m")
        self.toxiproxies[zone] = n
        client = ToxiproxyClient(f"http://127.0.0.1:{n.host_port(TOXIPROXY_API_PORT)}")
        self.toxiproxy[zone] = client
        self._run(n, Wait("the Toxiproxy API", lambda: (bool(client.version()), "answered"),
                          timeout=self.cfg.startup_timeout))
        client.populate(toxiproxy_proxies(self.cfg, zone))

    def _start_broker(self, zone: str) -> None:
        """The broker of one zone, as the platform kind's flavor launches it."""
        fl = self.flavor
        name = broker_host(zone)
        proxy_ip = self.toxiproxies[zone].ip(self.network_name)
        others = {broker_host(z): proxy_ip for z in self.zones if z != zone}
        n = self._container(name, "kafka", zone, self.images[fl.image_role], list(fl.ports), net_admin=True,
                            extra_hosts=others, mem_limit=fl.mem_limit)
        spec = fl.launch(BrokerContext(self.cfg, zone, n.host_port(EXTERNAL_PORT),
                                       self.toxiproxies[zone].host_port(PROXIED_PORT), self.cluster_id,
                                       self.s3_access_key, self.s3_secret_key, self.security))
        if self.cfg.broker_disk_mb:
            n.container.with_volume_mapping(disks.create_disk(self.run_id, name, self.cfg.broker_disk_mb),
                                            "/var/lib/kafka", "rw")
        elif self.cfg.upgrade.get("kafka"):       # the data outlives the container: an upgrade recreates it
            n.container.with_volume_mapping(self._data_volume(name), "/var/lib/kafka", "rw")
        n.container.with_command(spec.command)
        n.container.with_envs(**spec.env)
        for path, (content, mode) in spec.files.items():
            n.container.with_copy_into_container(content, path, mode)
        self.brokers[zone] = n
        # Readiness of the broker process: its own listener answers metadata.
        admin = AdminClient(client_config(f"127.0.0.1:{n.host_port(EXTERNAL_PORT)}"))
        self._run(n, fl.readiness(self, zone, admin))

    def _data_volume(self, name: str) -> str:
        vol = f"chaos-{self.run_id}-{name}-data"
        docker.from_env().volumes.create(vol, labels=cleanup.run_labels(self.run_id, "volume"))
        return vol

    def _flink_container(self, name: str, role: str, command: list[str], ports: list[int], mem: str) -> Node:
        n = self._container(name, role, self.cfg.flink_zone, self.images["flink"], ports, net_admin=True,
                            command=command, mem_limit=mem)
        conf = render_flink_config(self.cfg, self.s3_access_key, self.s3_secret_key)
        n.container.with_copy_into_container(conf.encode(), "/opt/flink/conf/config.yaml", 0o644)
        return n

    def _start_flink_jobmanager(self) -> None:
        n = self._flink_container("flink-jobmanager", "flink-jobmanager",
                                  ["/opt/flink/bin/jobmanager.sh", "start-foreground"], [FLINK_REST_PORT], "1536m")
        self.flink_jobmanager = n
        self._run(n, Wait("a TaskManager with free slots in Flink REST",
                          lambda: probes.flink_slots(self.flink_rest_url, self.cfg.flink.taskmanagers)(),
                          timeout=self.cfg.startup_timeout))

    def _start_taskmanager(self, index: int) -> None:
        name = "flink-taskmanager" if index == 0 else f"flink-taskmanager-{index}"
        n = self._flink_container(name, "flink-taskmanager", ["/opt/flink/bin/taskmanager.sh", "start-foreground"],
                                  [], "2g")
        self.flink_taskmanagers.append(n)
        self._run(n, Wait("the TaskManager process", lambda: (n.running(), n.status()), timeout=30))

    def _create_bucket(self, bucket: str) -> None:
        s3 = self.s3_client()
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)


def run_broker_tool(platform, tool: str, args: list[str], zone: str | None = None) -> tuple[int, str]:
    """Run a Kafka tool in the broker of ``zone`` (or the first running broker) of any platform
    with ``flavor``, ``zones`` and ``brokers`` (built-in or an external target)."""
    try:
        cmd = platform.flavor.tool_command(tool, args)
    except FlavorError as exc:
        raise PlatformError(str(exc)) from None
    zones = [zone] if zone is not None else list(platform.zones)
    node = next((platform.brokers[z] for z in zones if z in platform.brokers and platform.brokers[z].running()), None)
    if node is None:
        where = f"the broker of zone {zone}" if zone is not None else "any broker"
        raise NotReady(f"cannot run {tool}: {where} is not running")
    stdin = platform.flavor.tool_input() if hasattr(platform.flavor, "tool_input") else None
    if stdin is None:
        return node.exec(cmd, check=False)
    return node.exec(cmd, check=False, stdin=stdin)   # client security of an external target, never on disk

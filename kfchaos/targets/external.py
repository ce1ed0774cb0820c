"""``ExternalPlatform``: a platform the harness did not start, with the surface of
``kfchaos.platform.platform.Platform`` that faults, workloads and scenarios use.

``start()`` finds every node through its actuator, discovers the cluster (broker ids and
racks, TaskManagers, bucket, Toxiproxies), probes what each touchable node allows and
passes the health gate, or raises one line saying why not. ``stop()`` deletes only what
this run created: the topics it created through ``admin`` (recorded by name) and the
consumer groups that are empty and committed offsets only on those topics. Faults are
healed by the nemesis; ``kfchaos clean --target FILE`` sweeps what a crashed run left.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path
from types import SimpleNamespace

from .actuators import ActuatorError, create
from .discovery import (Discovered, DiscoveryError, discover_flink, discover_kafka, discover_s3,
                        discover_toxiproxies, health_problems)
from .flavor import TargetFlavor
from .node import NODE_ROLES, ExternalNode
from .schema import Target

log = logging.getLogger("chaos.targets")


class TargetConfig:
    """What faults and scenarios read from ``platform.cfg``, answered from the target."""

    def __init__(self, target: Target, zone_ids: dict[str, int], taskmanagers: int):
        self.target = target
        self.name, self.kind, self.zones = target.name, "external", target.zones
        self.images: dict[str, str] = {}
        self.port_base, self.startup_timeout = 0, 240.0   # as the built-in platform: a heal's restart wait
        self._zone_ids = zone_ids
        self.flink_zone = (target.flink.zone if target.flink and target.flink.zone else
                           next((n.zone for n in target.with_role("jobmanager")), target.zones[0]))
        self.flink = SimpleNamespace(taskmanagers=max(1, taskmanagers), bucket=target.s3.bucket if target.s3 else "")
        brokers = [n for n in target.nodes if n.is_broker]
        self.broker_disk_mb = 1 if brokers and all(n.bounded_disk for n in brokers) else 0

    def node_id(self, zone: str) -> int:
        return self._zone_ids[zone]

    def replication_port(self, zone: str) -> int:
        base = self.target.toxiproxy.replication_port_base
        if base is None:
            raise DiscoveryError("toxiproxy.replication_port_base is not set: the target does not say where "
                                 "replication goes through its Toxiproxies")
        return base + self.node_id(zone)

    def controller_port(self, zone: str) -> int:
        base = self.target.toxiproxy.controller_port_base
        return (base or 0) + self.node_id(zone)


class _RecordingAdmin:
    """An AdminClient that remembers the topics created through it (the run's own)."""

    def __init__(self, admin, created: set[str]):
        self._admin, self._created = admin, created

    def create_topics(self, new_topics, *args, **kwargs):
        futures = self._admin.create_topics(new_topics, *args, **kwargs)
        self._created.update(futures)
        return futures

    def __getattr__(self, name):
        return getattr(self._admin, name)


class ExternalPlatform:
    def __init__(self, target: Target, run_id: str | None = None, log_dir: Path | None = None):
        self.target = target
        self.run_id = run_id or f"{time.strftime('%H%M%S')}-{secrets.token_hex(3)}"
        self.log_dir = log_dir
        self.discovered = Discovered()
        self.images: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.created_topics: set[str] = set()
        self._caps: dict[str, dict[str, str | None]] = {}
        self.flavor = TargetFlavor(target, lambda name: self._caps.get(name) or self._node(name).actuator.declared())
        self.cfg = TargetConfig(target, {}, len(target.with_role("taskmanager")))
        self._nodes: list[ExternalNode] = [
            ExternalNode(n.name, NODE_ROLES[n.role], n.zone, create(n.name, n.actuator, n.role, n.bounded_disk),
                         target.touchable(n.name), n.role) for n in target.nodes]
        by_role = lambda *roles: [x for x, n in zip(self._nodes, target.nodes) if n.role in roles]  # noqa: E731
        self.brokers: dict[str, ExternalNode] = {x.zone: x for x in by_role("broker", "broker+controller")}
        self.controllers = by_role("controller")
        self.toxiproxies: dict[str, ExternalNode] = {x.zone: x for x in by_role("toxiproxy")}
        self.flink_jobmanager = next(iter(by_role("jobmanager")), None)
        self.flink_taskmanagers = by_role("taskmanager")
        self.minio = next(iter(by_role("object-store")), None)
        from kfchaos.platform.toxiproxy import ToxiproxyClient
        self.toxiproxy = {z: ToxiproxyClient(url) for z, url in target.toxiproxy.api.items()}
        self._settings = {"bootstrap.servers": target.kafka.bootstrap_servers,
                          **target.kafka.security.client_settings()}
        self._admin = None
        self._broker_admins: dict = {}
        self._unregister = None
        self._network: str | None = None

    def _node(self, name: str) -> ExternalNode:
        return next(n for n in self._nodes if n.name == name)

    # ---- addresses -------------------------------------------------------------------------
    @property
    def zones(self) -> tuple[str, ...]:
        return self.target.zones

    @property
    def bootstrap_servers(self) -> str:
        return self.target.kafka.bootstrap_servers

    @property
    def proxied_bootstrap_servers(self) -> str:
        return self.target.kafka.proxied_bootstrap_servers or self.bootstrap_servers

    @property
    def internal_bootstrap_servers(self) -> str:
        return self.target.kafka.internal_bootstrap_servers or self.bootstrap_servers

    def broker_addresses(self) -> dict[str, str]:
        out = {}
        for zone, i in self.discovered.zone_ids.items():
            host, port, _ = self.discovered.brokers[i]
            out[zone] = f"{host}:{port}"
        return out

    def client_settings(self) -> dict[str, str]:
        """Security settings every Kafka client of this target needs (merge into client configs)."""
        return self.target.kafka.security.client_settings()

    def flink_headers(self) -> dict[str, str]:
        """HTTP headers Flink REST needs (the Authorization header from the env var the file names)."""
        from .discovery import flink_headers
        return flink_headers(self.target)

    @property
    def flink_rest_url(self) -> str | None:
        return self.target.flink.rest_url if self.target.flink else None

    @property
    def s3_endpoint(self) -> str | None:
        return self.target.s3.endpoint if self.target.s3 else None

    @property
    def admin(self):
        if self._admin is None:
            from confluent_kafka.admin import AdminClient
            from kfchaos.platform.kafka_config import RDKAFKA_LOGGER
            self._admin = _RecordingAdmin(AdminClient({**self._settings, "logger": RDKAFKA_LOGGER}),
                                          self.created_topics)
        return self._admin

    def broker_admin(self, address: str):
        if address not in self._broker_admins:
            from confluent_kafka.admin import AdminClient
            from kfchaos.platform.kafka_config import RDKAFKA_LOGGER
            self._broker_admins[address] = AdminClient({**self._settings, "bootstrap.servers": address,
                                                        "logger": RDKAFKA_LOGGER})
        return self._broker_admins[address]

    def s3_client(self):
        if self.target.s3 is None:
            raise DiscoveryError(f"{self.target.source}: no s3 section, so there is no object store to ask; add one")
        import boto3
        from botocore.config import Config
        s = self.target.s3
        keys = {}
        if s.access_key_env:
            keys = {"aws_access_key_id": os.environ.get(s.access_key_env),
                    "aws_secret_access_key": os.environ.get(s.secret_key_env)}
        return boto3.client("s3", endpoint_url=s.endpoint, region_name=s.region, **keys,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    @property
    def network_name(self) -> str | None:
        """The Docker network the containers share (None when nodes are not containers on one)."""
        if self._network is None:
            nets = None
            for n in self._nodes:
                if n.actuator.kind != "docker":
                    return None
                have = set(n.actuator.networks())
                nets = have if nets is None else nets & have
            self._network = sorted(nets)[0] if nets else None
        return self._network

    def gateway_ip(self) -> str:
        """Where host clients' traffic enters the nodes (the Docker network's gateway, or this
        machine's address as an SSH host sees it)."""
        first = self._nodes[0].actuator
        if self.network_name:
            return first.client.networks.get(self.network_name).attrs["IPAM"]["Config"][0]["Gateway"]
        ssh = next((n.actuator for n in self._nodes if n.actuator.kind == "ssh"), None)
        if ssh is None:
            raise DiscoveryError("the nodes share no Docker network and none is reached over ssh: the clients' "
                                 "address cannot be told")
        return ssh.client_ip()

    def nodes(self) -> list[ExternalNode]:
        return list(self._nodes)

    def zone_members(self, zone: str) -> list[ExternalNode]:
        return [n for n in self._nodes if n.zone == zone and n.target_role != "object-store"]

    def redact(self, text: str) -> str:
        try:
            from kfchaos.redact import redact
        except ImportError:      # pragma: no cover
            return text
        return redact(text)

    # ---- capabilities and tools ----------------------------------------------------------------
    @property
    def capabilities(self) -> frozenset[str]:
        return self.flavor.capabilities

    def node_capabilities(self) -> dict[str, dict[str, str | None]]:
        return {n.name: self._caps.get(n.name) or n.actuator.declared() for n in self._nodes}

    def run_tool(self, tool: str, args: list[str], zone: str | None = None) -> tuple[int, str]:
        from kfchaos.platform.platform import run_broker_tool
        return run_broker_tool(self, tool, args, zone)

    def controller_id(self) -> int:
        import re
        from kfchaos.platform.platform import PlatformError
        reason = self.flavor.missing("controller-quorum", "admin-tools")
        if reason:
            raise PlatformError(f"no active controller to ask for: {reason}")
        code, out = self.run_tool("metadata-quorum", ["--bootstrap-server", self.target.kafka.tools_bootstrap,
                                                      "describe", "--status"])
        m = re.search(r"LeaderId:\s+(\d+)", out)
        if code == 0 and m:
            return int(m.group(1))
        raise PlatformError(f"the metadata quorum could not be described (exit {code}): {out.strip()[-200:]}")

    def apply_quota(self, client_id: str, settings: dict[str, int]) -> str:
        from kfchaos.platform.platform import PlatformError
        conf = ",".join(f"{k}={int(v)}" for k, v in settings.items())
        code, out = self.run_tool("configs", ["--bootstrap-server", self.target.kafka.tools_bootstrap, "--alter",
                                              "--entity-type", "clients", "--entity-name", client_id,
                                              "--add-config", conf])
        if code != 0:
            raise PlatformError(f"client quota {client_id}: {conf} was not applied (exit {code}): {out.strip()[-300:]}")
        return f"{client_id}: {conf}"

    # ---- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "ExternalPlatform":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, health_timeout: float = 60.0) -> "ExternalPlatform":
        """Validate, discover and pass the health gate; raises DiscoveryError (one line) otherwise."""
        from kfchaos.platform import cleanup
        t0 = time.monotonic()
        if self.target.kubernetes is not None:      # before any node is touched: one line, exit 2
            from .kubernetes.preflight import preflight
            preflight(self.target)
            self._share_chaos_mesh()
        for node in self._nodes:
            try:
                node.actuator.connect()
            except ActuatorError as exc:
                raise DiscoveryError(f"{self.target.source}: {exc}") from None
        self.timings["nodes"] = time.monotonic() - t0
        discover_kafka(self.target, self._settings, self.discovered)
        self.cfg = TargetConfig(self.target, self.discovered.zone_ids, len(self.flink_taskmanagers))
        if self.target.flink:
            discover_flink(self.target, self.discovered)
            self.cfg.flink.taskmanagers = max(1, len(self.discovered.taskmanagers))
        if self.target.s3:
            discover_s3(self.target, self.s3_client())
        discover_toxiproxies(self.target, self.toxiproxy, self.discovered)
        for node in self._nodes:
            if node.touchable and node.running():
                self._caps[node.name] = node.actuator.probe()
        self.timings["discovery"] = time.monotonic() - t0
        log.info("target %s: brokers %s, controller %s, Flink %s with %d TaskManagers", self.target.name,
                 self.discovered.zone_ids, self.discovered.controller, self.discovered.flink_version,
                 len(self.discovered.taskmanagers))
        self._health_gate(health_timeout)
        from kfchaos.platform import kafka_config
        install = getattr(kafka_config, "set_client_security", None)   # every harness client then uses it
        if install is not None:
            install(self.client_settings())
        elif self.target.kafka.security.protocol != "PLAINTEXT":
            log.warning("the harness's Kafka clients cannot take %s settings yet (no "
                        "kafka_config.set_client_security): workloads will fail to connect",
                        self.target.kafka.security.protocol)
        self._unregister = cleanup.register(self.stop)
        self.timings["total"] = time.monotonic() - t0
        return self

    def fault_class(self, name: str):
        """The class that makes fault ``name`` on this target, when it is not the library's (None)."""
        if self.target.kubernetes is None:
            return None
        from .kubernetes.faults import FAULTS
        return FAULTS.get(name)

    def _share_chaos_mesh(self) -> None:
        """One ChaosMesh (this run's id and resources) for every kubernetes actuator."""
        from .kubernetes.chaos import ChaosMesh
        from .kubernetes.client import api_client
        self.chaos_mesh = ChaosMesh(api_client(self.target.kubernetes), self.target.kubernetes, self.run_id)
        for n in self._nodes:
            if n.actuator.kind == "kubernetes":
                n.actuator.use_mesh(self.chaos_mesh)

    def _health_gate(self, timeout: float) -> None:
        deadline, problems = time.monotonic() + timeout, ["not checked"]
        while time.monotonic() < deadline:
            try:
                problems = health_problems(self)
            except Exception as exc:
                problems = [f"{type(exc).__name__}: {exc}"]
            if not problems:
                return
            time.sleep(1.0)
        raise DiscoveryError(f"target {self.target.name} is not healthy after {timeout:.0f}s: {'; '.join(problems)}; "
                             "wait until the cluster is at rest (every broker up, full ISRs, free Flink slots)")

    def stop(self) -> None:
        """Delete this run's own topics and consumer groups; idempotent. Nodes are left running."""
        if self._unregister:
            self._unregister()
            self._unregister = None
        mesh = getattr(self, "chaos_mesh", None)
        if mesh is not None:                        # heal on teardown
            for problem in mesh.heal_all():
                log.warning("run %s: %s", self.run_id, problem)
        try:
            from .ownership import delete_run_resources
            deleted = delete_run_resources(self.admin, self.created_topics)
            if deleted:
                log.info("run %s: deleted %s", self.run_id, ", ".join(deleted))
        except Exception as exc:
            log.warning("run %s: could not delete its topics/groups (%s: %s); delete topics %s by hand",
                        self.run_id, type(exc).__name__, exc, sorted(self.created_topics))
        for n in self._nodes:
            n.actuator.close()

    def save_logs(self, directory: Path) -> None:
        for n in self._nodes:
            try:
                n.save_logs(Path(directory), self.redact)
            except Exception as exc:
                log.warning("logs of %s not saved: %s", n.name, exc)

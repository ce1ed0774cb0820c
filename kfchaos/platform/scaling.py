"""Adding and removing a broker-only KRaft node: the platform side of scale-out and scale-in.

Contract
--------
``add_broker(platform, zone)`` starts one more broker in ``zone`` (node id: the next after
every node the run has had, e.g. 4 on a three-zone platform), as the platform kind's flavor
launches its brokers but with ``process.roles=broker``: it joins the existing controller
quorum (the same static voters), never becomes a voter, and is listed in metadata when it
returns. Its container carries the run's labels, so ``Platform.stop`` and ``kfchaos clean``
remove it like any other.

Zones stay honest: the new broker's host name (``kafka-<zone><id>``) resolves, inside the
brokers of the *other* zones, to their own zone's Toxiproxy, which gets a ``repl-<z>-<name>``
proxy to it and byte-counting rules tagged as the zone pair's replication path
(:mod:`kfchaos.platform.traffic` sums rules of one key), so replication to and from it is
cross-zone traffic in the figures like the first three brokers'. Inside its own zone it is
reached directly. Host clients reach its EXTERNAL and PROXIED listeners directly (host port
mappings; there is no ``client-<zone>`` proxy for it).

``remove_broker(platform, node_id)`` is the decommission's end: the broker (whose replicas
must already have been moved off) is stopped cleanly, unregistered from the cluster's
metadata with Kafka's ``ClusterTool unregister`` (measured on Kafka 4.1; the outcome is
returned, never raised) and its container is removed with its anonymous volumes.
"""
from __future__ import annotations

import logging
import shlex
import time
from typing import Any

from .config import EXTERNAL_PORT, INTERNAL_PORT, PROXIED_PORT, broker_host, render_server_properties, _prop
from .flavors import BrokerContext
from .health import wait_broker_listed
from .traffic import TAG

log = logging.getLogger("chaos.platform")

CLUSTER_TOOL = "org.apache.kafka.tools.ClusterTool"
BROKER_ROLE = "kafka-extra"      # the container role label of an added broker


class ScalingError(RuntimeError):
    pass


def extra_host(zone: str, node_id: int) -> str:
    return f"{broker_host(zone)}{node_id}"


def replication_port(node_id: int) -> int:
    return 9100 + node_id


def next_node_id(platform) -> int:
    used = ([platform.cfg.node_id(z) for z in platform.zones] + list(getattr(platform, "extra_brokers", {}))
            + list(getattr(platform, "retired_ids", ())))
    return max(used) + 1


def broker_only_properties(zone_text: str, zone: str, node_id: int, external_port: int, proxied_port: int) -> str:
    """server.properties of a broker-only node in ``zone`` from the zone's combined-mode
    ``zone_text`` (profile broker_config, rack, quorum voters, security, tiered storage): its
    own id, host name and replication port, and no controller listener of its own."""
    text = zone_text
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    host, repl = extra_host(zone, node_id), replication_port(node_id)
    props.update({
        "process.roles": "broker",
        "node.id": str(node_id),
        "listeners": (f"INTERNAL://0.0.0.0:{INTERNAL_PORT},REPLICATION://0.0.0.0:{repl},"
                      f"EXTERNAL://0.0.0.0:{EXTERNAL_PORT},PROXIED://0.0.0.0:{PROXIED_PORT}"),
        "advertised.listeners": (f"INTERNAL://{host}:{INTERNAL_PORT},REPLICATION://{host}:{repl},"
                                 f"EXTERNAL://127.0.0.1:{external_port},PROXIED://127.0.0.1:{proxied_port}"),
    })
    return "".join(f"{k}={_prop(v)}\n" for k, v in props.items())


def add_broker(platform, zone: str, timeout: float = 180.0) -> tuple[int, Any]:
    """Start a broker-only node in ``zone``; (its node id, its Node) once metadata lists it."""
    fl, cfg = platform.flavor, platform.cfg
    reason = fl.missing("replication", "controller-quorum")
    if reason:
        raise ScalingError(f"cannot add a broker-only KRaft node: {reason}")
    if cfg.broker_disk_mb or cfg.upgrade.get("kafka"):
        raise ScalingError("adding a broker to a platform with bounded disks or upgrade volumes is not supported")
    node_id = next_node_id(platform)
    name, repl = extra_host(zone, node_id), replication_port(node_id)
    net = platform.network_name
    _route_other_zones(platform, zone, name, repl)
    proxy_ip = platform.toxiproxies[zone].ip(net)
    others = {broker_host(z): proxy_ip for z in platform.zones if z != zone}
    n = platform._container(name, BROKER_ROLE, zone, platform.images[fl.image_role], [EXTERNAL_PORT, PROXIED_PORT],
                            net_admin=True, extra_hosts=others, mem_limit=fl.mem_limit)
    ctx = BrokerContext(cfg, zone, n.host_port(EXTERNAL_PORT), n.host_port(PROXIED_PORT), platform.cluster_id,
                        platform.s3_access_key, platform.s3_secret_key, platform.security)
    spec = fl.launch(ctx)
    zone_text = fl.server_properties(ctx) if hasattr(fl, "server_properties") else \
        render_server_properties(cfg, zone, ctx.external_port, ctx.proxied_port, platform.security)
    props = broker_only_properties(zone_text, zone, node_id, ctx.external_port, ctx.proxied_port)
    spec.files["/etc/kafka/server.properties"] = (props.encode(), 0o644)
    n.container.with_command(spec.command)
    n.container.with_envs(**spec.env)
    for path, (content, mode) in spec.files.items():
        n.container.with_copy_into_container(content, path, mode)
    platform.extra_brokers[node_id] = n
    t0 = time.monotonic()
    n.create_and_start()
    count_new_broker(platform, zone, node_id)
    try:
        wait_broker_listed(platform, node_id, listed=True, timeout=timeout)
    except Exception as exc:
        raise ScalingError(f"{name} (node {node_id}) not listed after {time.monotonic() - t0:.0f} s: {exc}; "
                           f"its log ends: {n.logs(tail=15)[-1200:]}") from None
    log.info("broker %s (node %d) joined in zone %s after %.1f s", name, node_id, zone, time.monotonic() - t0)
    return node_id, n


def _route_other_zones(platform, zone: str, name: str, port: int) -> None:
    """Brokers of the other zones reach ``name`` through their own zone's Toxiproxy, whose
    replication byte counters include it (same key as the zone pair's replication)."""
    net = platform.network_name
    for other in platform.zones:
        if other == zone:
            continue
        proxy = platform.toxiproxies[other]
        platform.toxiproxy[other].create(f"repl-{other}-{name}", f"0.0.0.0:{port}", f"{name}:{port}")
        proxy_ip = proxy.ip(net)
        platform.brokers[other].exec(["sh", "-c", f"echo '{proxy_ip} {name}' >> /etc/hosts"], user="root")
    # counting rules need the new container's address: added once it exists (count_new_broker)


def count_new_broker(platform, zone: str, node_id: int) -> None:
    """Add the byte-counting rules for the new broker's replication port in the other zones'
    Toxiproxies (keys ``<other>-><zone>:replication`` / ``<zone>-><other>:replication``)."""
    node = platform.extra_brokers[node_id]
    ip, port = node.ip(platform.network_name), replication_port(node_id)
    for other in platform.zones:
        if other == zone:
            continue
        rules = [(f"{other}->{zone}:replication", ["OUTPUT", "-p", "tcp", "-d", ip, "--dport", str(port)]),
                 (f"{zone}->{other}:replication", ["INPUT", "-p", "tcp", "-s", ip, "--sport", str(port)])]
        lines = []
        for key, (chain, *match) in rules:
            spec = " ".join(shlex.quote(a) for a in [*match, "-m", "comment", "--comment", f"{TAG} {key}"])
            lines.append(f"iptables -w -C {chain} {spec} 2>/dev/null || iptables -w -A {chain} {spec}")
        platform.toxiproxies[other].exec(["sh", "-c", "\n".join(lines)], user="root", check=False)


def unregister(platform, node_id: int) -> dict:
    """``ClusterTool unregister --id``: (exit code, last output line) as a dict."""
    from .reassign import _zone, bootstrap
    zone = _zone(platform)
    code, out = platform.run_tool(CLUSTER_TOOL, ["unregister", "--bootstrap-server", bootstrap(platform, zone),
                                                 "--id", str(node_id)], zone=zone)
    return {"exit": code, "output": out.strip().splitlines()[-1][-300:] if out.strip() else ""}


def remove_broker(platform, node_id: int, timeout: float = 120.0) -> dict:
    """Stop the added broker ``node_id`` cleanly, unregister it, remove its container; what happened."""
    node = platform.extra_brokers.get(node_id)
    if node is None:
        raise ScalingError(f"node {node_id} is not a broker this run added (added: {sorted(platform.extra_brokers)})")
    t0 = time.monotonic()
    node.stop(timeout=60)
    stopped_s = round(time.monotonic() - t0, 2)
    wait_broker_listed(platform, node_id, listed=False, timeout=timeout)
    unreg = unregister(platform, node_id)
    node._c.remove(force=True, v=True)
    del platform.extra_brokers[node_id]
    platform.retired_ids.append(node_id)
    return {"node_id": node_id, "stopped_s": stopped_s, "unregister": unreg,
            "removed_s": round(time.monotonic() - t0, 2)}

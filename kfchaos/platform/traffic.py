"""Byte counters at the zone boundaries, sampled into the history.

Every byte that leaves a zone passes that zone's Toxiproxy container (see
:mod:`kfchaos.platform.config`): replication and controller connections of the zone's
broker to the other brokers, the zone's path to object storage, and host clients on the
proxied path. Inside each ``toxiproxy-<zone>`` the harness adds iptables rules without a
target (they only count, whatever the rules after them decide), one per direction of each
path, tagged ``chaos-traffic <src>-><dst>:<kind>``:

=================================================  ===========================
rule in toxiproxy-X                                counts
=================================================  ===========================
OUTPUT to kafka-Y, its replication/controller port X -> Y  (replication/controller)
INPUT from kafka-Y, that port                      Y -> X
OUTPUT to minio :9000 / INPUT from it              X -> storage / storage -> X
INPUT to :9095 / OUTPUT from :9095                 host -> X / X -> host  (client)
=================================================  ===========================

Bytes are IP packets, headers included (what a network bills). Why not Toxiproxy's own
``-proxy-metrics`` counters: Toxiproxy 2.12 adds a connection's bytes to them only when
the connection ends (``link.go``: ``Add`` after ``io.Copy`` returns), and Kafka's
replication and controller connections stay open for the whole run, so a scenario's two
samples saw a few hundred bytes while 8 MB were replicated.

:func:`record` writes one ``traffic`` operation (process ``harness``): ``phase`` (``start``
or ``end``), ``zones`` (zone -> ``"<src>-><dst>:<kind>"`` -> bytes since the rule was
added), ``errors`` (zone -> why it could not be read), at the start ``prices`` (the
profile's ``platform.cost``); a platform without the harness's zone containers records
``unavailable`` (the reason) instead. The rules are (re)added when missing, so a
Toxiproxy container that was replaced counts again from 0 (a counter reset).
"""
from __future__ import annotations

import logging
import re
import shlex
from typing import Any

from kfchaos import observe

from .config import PROXIED_PORT, S3_PORT, broker_host

log = logging.getLogger("chaos.traffic")

TAG = "chaos-traffic"
METHOD = "iptables byte counters in each zone's Toxiproxy container (IP packets, headers included)"
_SAVED = re.compile(r'^\[(\d+):(\d+)\] -A \S+ .*--comment "?' + TAG + r' ([^"\s]+)"?')


def accounting_rules(cfg, zone: str, ips: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(path key, iptables rule spec: chain and matches) of every path of ``zone``'s
    Toxiproxy; ``ips``: container host name -> IP on the platform's network."""
    rules: list[tuple[str, list[str]]] = []
    for other in cfg.zones:
        if other == zone:
            continue
        ip = ips[broker_host(other)]
        for kind, port in (("replication", cfg.replication_port(other)), ("controller", cfg.controller_port(other))):
            rules.append((f"{zone}->{other}:{kind}", ["OUTPUT", "-p", "tcp", "-d", ip, "--dport", str(port)]))
            rules.append((f"{other}->{zone}:{kind}", ["INPUT", "-p", "tcp", "-s", ip, "--sport", str(port)]))
    minio = ips["minio"]
    rules.append((f"{zone}->storage:object_storage", ["OUTPUT", "-p", "tcp", "-d", minio, "--dport", str(S3_PORT)]))
    rules.append((f"storage->{zone}:object_storage", ["INPUT", "-p", "tcp", "-s", minio, "--sport", str(S3_PORT)]))
    rules.append((f"host->{zone}:client", ["INPUT", "-p", "tcp", "--dport", str(PROXIED_PORT)]))
    rules.append((f"{zone}->host:client", ["OUTPUT", "-p", "tcp", "--sport", str(PROXIED_PORT)]))
    return rules


def ensure_script(rules: list[tuple[str, list[str]]]) -> str:
    """A shell script that inserts each missing rule first in its chain (-C, else -I 1), then
    prints ``iptables-save -c``."""
    lines = []
    for key, (chain, *match) in rules:
        spec = " ".join(shlex.quote(a) for a in [*match, "-m", "comment", "--comment", f"{TAG} {key}"])
        lines.append(f"iptables -w -C {chain} {spec} 2>/dev/null || iptables -w -I {chain} 1 {spec} || exit 3")
    lines.append("iptables-save -c")
    return "\n".join(lines)


def parse_counters(saved: str) -> dict[str, int]:
    """Path key -> bytes of the harness's accounting rules in an ``iptables-save -c`` text."""
    out: dict[str, int] = {}
    for line in saved.splitlines():
        m = _SAVED.match(line)
        if m:
            out[m.group(3)] = out.get(m.group(3), 0) + int(m.group(2))
    return out


def unavailable_reason(platform) -> str | None:
    """Why the platform has no zone boundary containers to count at, or None."""
    if not getattr(platform, "toxiproxies", None) or getattr(platform, "minio", None) is None:
        kind = getattr(getattr(platform, "cfg", None), "kind", None) or type(platform).__name__
        return (f"{kind}: the harness does not run this platform's zone boundaries (no Toxiproxy "
                "container per zone to count bytes in)")
    return None


def sample(platform) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """(zone -> path key -> bytes, zone -> error) from every zone's Toxiproxy container."""
    net = platform.network_name
    ips = {broker_host(z): platform.brokers[z].ip(net) for z in platform.zones}
    ips["minio"] = platform.minio.ip(net)
    zones: dict[str, dict[str, int]] = {}
    errors: dict[str, str] = {}
    for zone in platform.zones:
        node = platform.toxiproxies[zone]
        rules = accounting_rules(platform.cfg, zone, ips)
        code, text = node.read(["sh", "-c", ensure_script(rules)], user="root")   # idempotent: may run again
        counts = parse_counters(text) if code == 0 else {}
        if code != 0 or len(counts) != len(rules):
            errors[zone] = (f"{node.name}: accounting rules not readable (exit {code}, {len(counts)} of "
                            f"{len(rules)} rules): {text.strip()[-200:]}")
        else:
            zones[zone] = counts
    return zones, errors


def record(history, platform, phase: str, prices: dict[str, float] | None = None) -> dict:
    """Sample every zone and record one ``traffic`` op (an unreadable zone is an error in it)."""
    value: dict[str, Any] = {"phase": phase, "method": METHOD}
    if phase == "start":
        value["prices"] = dict(prices or {})
    reason = unavailable_reason(platform)
    if reason:
        value["unavailable"] = reason
    else:
        try:
            value["zones"], value["errors"] = sample(platform)
        except Exception as exc:          # a container gone, Docker not answering
            value["zones"], value["errors"] = {}, {"*": f"{type(exc).__name__}: {exc}"}
        for zone, err in value["errors"].items():
            log.warning("traffic counters of zone %s unavailable: %s", zone, err)
    return history.ok(observe.PROCESS, "traffic", value)

"""Byte counters of every zone's Toxiproxy, sampled into the history.

Each zone's Toxiproxy (2.12, started with ``-proxy-metrics``) exports Prometheus counters
per proxy and direction at ``/metrics``: ``toxiproxy_proxy_received_bytes_total`` and
``toxiproxy_proxy_sent_bytes_total`` with labels ``proxy`` and ``direction``
(``upstream``: from the connecting client through the proxy to its upstream server;
``downstream``: back). :func:`parse_metrics` reads that text with ``prometheus_client``'s
parser; :func:`sample` asks every zone; :func:`record` writes one ``traffic`` operation
(process ``harness``) with the raw counters, so that :mod:`harness.traffic` computes the
figures from the stored history alone.

The op's value: ``phase`` (``start`` or ``end``), ``zones`` (zone -> proxy -> direction ->
``{"sent": int, "received": int}``), ``errors`` (zone -> why it could not be read), and
at the start ``prices`` (the profile's ``platform.cost``). A platform without zone
proxies records ``unavailable`` (the reason) instead of counters. A proxy that has
carried no byte yet has no series (the counter appears with its first byte).
"""
from __future__ import annotations

import logging
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from harness import observe

log = logging.getLogger("chaos.traffic")

FAMILIES = {"toxiproxy_proxy_sent_bytes": "sent", "toxiproxy_proxy_received_bytes": "received"}
Counters = dict[str, dict[str, dict[str, int]]]     # proxy -> direction -> {"sent"|"received": bytes}


class MetricsUnavailable(RuntimeError):
    """A Toxiproxy's /metrics cannot be read (not answering, or started without -proxy-metrics)."""


def parse_metrics(text: str) -> Counters:
    """The per-proxy byte counters in a Toxiproxy /metrics text (other families ignored)."""
    out: Counters = {}
    for family in text_string_to_metric_families(text):
        which = FAMILIES.get(family.name)
        if which is None:
            continue
        for s in family.samples:
            if not s.name.endswith("_total"):
                continue                # a counter's _created sample, when a server exports one
            proxy, direction = s.labels.get("proxy"), s.labels.get("direction")
            if not proxy or direction not in ("upstream", "downstream"):
                continue
            counts = out.setdefault(proxy, {}).setdefault(direction, {"sent": 0, "received": 0})
            counts[which] += int(s.value)
    return out


def fetch_metrics(base_url: str, timeout: float = 5.0) -> Counters:
    url = base_url.rstrip("/") + "/metrics"
    try:
        r = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise MetricsUnavailable(f"{url} does not answer: {exc}") from None
    if r.status_code == 404:
        raise MetricsUnavailable(f"{url}: 404, the Toxiproxy runs without -proxy-metrics")
    if r.status_code != 200:
        raise MetricsUnavailable(f"{url}: HTTP {r.status_code}")
    return parse_metrics(r.text)


def unavailable_reason(platform) -> str | None:
    """Why the platform has no zone proxies to count at, or None."""
    clients = getattr(platform, "toxiproxy", None)
    if not clients:
        kind = getattr(getattr(platform, "cfg", None), "kind", None) or type(platform).__name__
        return (f"{kind}: no per-zone Toxiproxy in front of the zone boundaries, so no byte counters "
                "between zones")
    return None


def sample(platform) -> tuple[dict[str, Counters], dict[str, str]]:
    """(zone -> counters, zone -> error) from every zone's Toxiproxy."""
    zones: dict[str, Counters] = {}
    errors: dict[str, str] = {}
    for zone, client in sorted(platform.toxiproxy.items()):
        try:
            zones[zone] = fetch_metrics(client.base_url)
        except MetricsUnavailable as exc:
            errors[zone] = str(exc)
    return zones, errors


def record(history, platform, phase: str, prices: dict[str, float] | None = None) -> dict:
    """Sample every zone and record one ``traffic`` op (never raises for an unreadable zone)."""
    value: dict[str, Any] = {"phase": phase}
    if phase == "start":
        value["prices"] = dict(prices or {})
    reason = unavailable_reason(platform)
    if reason:
        value["unavailable"] = reason
    else:
        value["zones"], value["errors"] = sample(platform)
        for zone, err in value["errors"].items():
            log.warning("traffic counters of zone %s unavailable: %s", zone, err)
    return history.ok(observe.PROCESS, "traffic", value)

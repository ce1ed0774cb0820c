"""Readiness probes, one per component: each returns (ready, what it saw)."""
from __future__ import annotations

import requests
from confluent_kafka.admin import AdminClient


def kafka_cluster(admin: AdminClient, expected_brokers: int):
    def probe() -> tuple[bool, str]:
        desc = admin.describe_cluster(request_timeout=5).result(timeout=10)
        ids = sorted(n.id for n in desc.nodes)
        ctrl = desc.controller.id if desc.controller else None
        ok = len(ids) >= expected_brokers and ctrl is not None
        return ok, f"brokers {ids}, controller {ctrl}"
    return probe


def http_ok(url: str, expect: int = 200):
    def probe() -> tuple[bool, str]:
        r = requests.get(url, timeout=3)
        return r.status_code == expect, f"HTTP {r.status_code}"
    return probe


def flink_slots(rest_url: str, taskmanagers: int):
    def probe() -> tuple[bool, str]:
        o = requests.get(f"{rest_url}/overview", timeout=3).json()
        ok = o.get("taskmanagers", 0) >= taskmanagers and o.get("slots-available", 0) > 0
        return ok, f"{o.get('taskmanagers')} taskmanagers, {o.get('slots-available')} free slots"
    return probe

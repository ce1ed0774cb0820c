"""Toxiproxy faults on the client-to-broker paths and on the object-storage endpoint.

Faults: ``client-<kind>`` acts on the ``client-<zone>`` proxies (host clients that use
the proxied bootstrap), ``s3-<kind>`` on the ``s3-<zone>`` proxies (Flink checkpoints,
tiered storage, shared-storage brokers). Kinds:
- ``latency`` (params latency_ms, jitter_ms), ``timeout`` (black hole: data is held,
  connections close after params timeout_ms, 0 = never), ``reset`` (reset_peer),
  ``bandwidth`` (params rate_kbps), ``down`` (proxy disabled: connections refused).
Target: ``all`` (default) or ``zone:<z>``. Proof: the toxic as the Toxiproxy API lists
it, and for S3 a request's timing from the Flink zone before and during.
"""
from __future__ import annotations

import uuid

import time
from typing import Any

from kfchaos.platform.config import S3_PORT
from kfchaos.platform.toxiproxy import Toxic

from .base import Fault, FaultError
from .package import PALETTE, FaultPackage

KINDS = ("latency", "timeout", "reset", "bandwidth", "down")


def s3_probe(platform) -> dict[str, Any]:
    """Time an unauthenticated GET of MinIO's health endpoint through the Flink zone's proxy."""
    node = platform.flink_jobmanager
    url = f"http://toxiproxy-{platform.cfg.flink_zone}:{S3_PORT}/minio/health/live"
    t0 = time.monotonic()
    code, out = node.read(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "3", url])
    return {"http": out.strip() or None, "ok": code == 0 and out.strip() == "200",
            "seconds": round(time.monotonic() - t0, 3)}


class ProxyToxic(Fault):
    path = ""   # "client" or "s3"
    kind = ""
    default_target = "all"

    def setup(self) -> None:
        target = self.spec.target or self.default_target
        zones = list(self.platform.zones) if target == "all" else [target.removeprefix("zone:")]
        if any(z not in self.platform.zones for z in zones):
            raise FaultError(f"{self.name}: target must be all or zone:<z>, got {target!r}")
        self.proxies = [(z, f"{self.path}-{z}") for z in zones]
        self.toxic_name = f"chaos-{self.kind}-{uuid.uuid4().hex[:8]}"
        self.applied: list[tuple[str, str]] = []

    def toxic(self) -> Toxic | None:
        p = self.params
        if self.kind == "latency":
            return Toxic(self.toxic_name, "latency", "downstream", 1.0,
                         {"latency": int(p.get("latency_ms", 500)), "jitter": int(p.get("jitter_ms", 0))})
        if self.kind == "timeout":
            return Toxic(self.toxic_name, "timeout", "upstream", 1.0, {"timeout": int(p.get("timeout_ms", 0))})
        if self.kind == "reset":
            return Toxic(self.toxic_name, "reset_peer", "upstream", 1.0, {"timeout": int(p.get("after_ms", 0))})
        if self.kind == "bandwidth":
            return Toxic(self.toxic_name, "bandwidth", "downstream", 1.0, {"rate": int(p.get("rate_kbps", 64))})
        return None

    def _probe(self) -> dict[str, Any] | None:
        return s3_probe(self.platform) if self.path == "s3" else None

    def start(self) -> dict[str, Any]:
        before = self._probe()
        toxic = self.toxic()
        for zone, proxy in self.proxies:
            api = self.platform.toxiproxy[zone]
            if toxic is None:
                api.set_enabled(proxy, False)
            else:
                api.add_toxic(proxy, toxic)
            self.applied.append((zone, proxy))
        listed = {proxy: self._state(zone, proxy) for zone, proxy in self.proxies}
        during = self._probe()
        proof: dict[str, Any] = {"proxies": listed}
        if before is not None:
            proof.update(probe_before=before, probe_during=during)
            if self.kind in ("down", "timeout", "reset") and during["ok"]:
                raise FaultError(f"{self.name}: S3 still answers through the proxy: {during}")
        return {"target": [p for _, p in self.proxies], "detail": f"{self.kind} on {len(self.proxies)} proxies",
                "proof": proof}

    def _state(self, zone: str, proxy: str) -> dict[str, Any]:
        p = self.platform.toxiproxy[zone].get(proxy)
        return {"enabled": p.enabled, "toxics": [t.to_json() for t in p.toxics]}

    def _heal(self) -> None:
        while self.applied:
            zone, proxy = self.applied.pop()
            api = self.platform.toxiproxy[zone]
            if self.kind == "down":
                api.set_enabled(proxy, True)
            else:
                api.remove_toxic(proxy, self.toxic_name)

    def stop(self) -> dict[str, Any]:
        self._heal()
        after = self._probe()
        proof: dict[str, Any] = {"proxies": {proxy: self._state(zone, proxy) for zone, proxy in self.proxies}}
        if after is not None:
            proof["probe_after"] = after
        return {"detail": f"{self.kind} removed", "proof": proof}

    def teardown(self) -> None:
        self._heal()


def _make(path: str, kind: str) -> type[ProxyToxic]:
    return type(f"{path.title()}{kind.title()}", (ProxyToxic,), {"name": f"{path}-{kind}", "path": path, "kind": kind})


TOXIC_FAULTS = [_make(path, kind) for path in ("client", "s3") for kind in KINDS]

# Drawn by random schedules: the outage and slowness of object storage, slow clients.
IN_MENU = ("s3-down", "s3-latency", "client-latency")

PACKAGES = tuple(FaultPackage(cls, ("all", "zone:{zone}"), ("all",) if cls.name in IN_MENU else (),
                              colour=PALETTE[cls.path], family=cls.path) for cls in TOXIC_FAULTS)

"""A small typed client for the Toxiproxy 2.x REST API.

Why not toxiproxy-python: its only release (0.1.1, 2019) keeps the API host and port
as class attributes of ``APIConsumer``, so one process can talk to one Toxiproxy
server only. Each platform runs one Toxiproxy per zone, and parallel runs each have
their own, so the harness needs a client bound to a base URL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import requests

Stream = Literal["upstream", "downstream"]


class ToxiproxyError(RuntimeError):
    pass


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str  # latency, bandwidth, timeout, reset_peer, slow_close, slicer, limit_data
    stream: Stream = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes)}


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool = True
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Proxy":
        toxics = tuple(Toxic(t["name"], t["type"], t.get("stream", "downstream"), t.get("toxicity", 1.0),
                             t.get("attributes", {})) for t in d.get("toxics") or [])
        return cls(d["name"], d["listen"], d["upstream"], d.get("enabled", True), toxics)


class ToxiproxyClient:
    """Bound to one server: ``ToxiproxyClient("http://127.0.0.1:38474")``."""

    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, path: str, json: Any = None, ok=(200, 201, 204)) -> Any:
        try:
            r = self._http.request(method, self.base_url + path, json=json, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ToxiproxyError(f"Toxiproxy at {self.base_url} does not answer {method} {path}: {exc}") from None
        if r.status_code not in ok:
            raise ToxiproxyError(f"Toxiproxy {method} {path} -> {r.status_code}: {r.text.strip()}")
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None

    def version(self) -> str:
        r = self._http.get(self.base_url + "/version", timeout=self.timeout)
        r.raise_for_status()
        return r.text.strip()

    def proxies(self) -> dict[str, Proxy]:
        return {name: Proxy.from_json(d) for name, d in (self._call("GET", "/proxies") or {}).items()}

    def create(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        return Proxy.from_json(self._call("POST", "/proxies", {"name": name, "listen": listen,
                                                                "upstream": upstream, "enabled": enabled}))

    def populate(self, proxies: list[Proxy]) -> None:
        self._call("POST", "/populate", [{"name": p.name, "listen": p.listen, "upstream": p.upstream,
                                          "enabled": p.enabled} for p in proxies])

    def get(self, name: str) -> Proxy:
        return Proxy.from_json(self._call("GET", f"/proxies/{name}"))

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        return Proxy.from_json(self._call("POST", f"/proxies/{name}", {"enabled": enabled}))

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        self._call("POST", f"/proxies/{proxy}/toxics", toxic.to_json())
        return toxic

    def remove_toxic(self, proxy: str, toxic_name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{toxic_name}", ok=(200, 204, 404))

    def toxics(self, proxy: str) -> list[Toxic]:
        return list(self.get(proxy).toxics)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")

"""iptables and tc inside containers, tagged so that heal removes exactly what was added.

Every rule carries the comment ``chaos-<run>-<fault_id>``; ``Rules`` remembers each rule
it added (container, chain, arguments) and deletes those, and only those, on heal.
Probes (``nc -z``) prove that a path is cut or open.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .base import FaultError


@dataclass
class Rules:
    tag: str
    added: list[tuple[object, list[str]]] = field(default_factory=list)   # (node, rule args)
    qdiscs: list[object] = field(default_factory=list)

    def add(self, node, chain: str, *match: str, target: str = "DROP") -> None:
        args = [chain, *match, "-m", "comment", "--comment", self.tag, "-j", target]
        code, out = node.exec(["iptables", "-w", "-A", *args], user="root", check=False)
        if code != 0:
            raise FaultError(f"{node.name}: iptables -A {' '.join(args)} failed: {out.strip()[:200]} "
                             "(the container needs iptables and the NET_ADMIN capability)")
        self.added.append((node, args))

    def drop_between(self, node, peer_ip: str, *, inbound: bool = True, outbound: bool = True,
                     extra: tuple[str, ...] = ()) -> None:
        if inbound:
            self.add(node, "INPUT", "-s", peer_ip, *extra)
        if outbound:
            self.add(node, "OUTPUT", "-d", peer_ip, *extra)

    def add_tbf(self, node, rate: str, burst: str = "32kbit", latency: str = "400ms") -> None:
        code, out = node.exec(["tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", rate, "burst", burst,
                               "latency", latency], user="root", check=False)
        if code != 0:
            raise FaultError(f"{node.name}: tc tbf failed: {out.strip()[:200]}")
        self.qdiscs.append(node)

    def remove_all(self) -> list[str]:
        """Delete exactly the rules and qdiscs added; returns what could not be removed."""
        problems = []
        while self.added:
            node, args = self.added.pop()
            code, out = node.exec(["iptables", "-w", "-D", *args], user="root", check=False)
            if code != 0 and node.running():
                problems.append(f"{node.name}: {out.strip()[:120]}")
        while self.qdiscs:
            node = self.qdiscs.pop()
            code, out = node.exec(["tc", "qdisc", "del", "dev", "eth0", "root"], user="root", check=False)
            if code != 0 and node.running():
                problems.append(f"{node.name}: tc qdisc del: {out.strip()[:120]}")
        return problems

    def remaining(self, nodes) -> dict[str, int]:
        """Rules with this tag still present per node (should be 0 after heal)."""
        out = {}
        for n in nodes:
            if n.running():
                _, text = n.exec(["iptables", "-w", "-S"], user="root", check=False)
                out[n.name] = text.count(self.tag)
        return out


def probe_tcp(node, host: str, port: int, timeout: float = 2.0) -> dict:
    """Can ``node`` open a TCP connection to host:port? Returns the answer and how long it took."""
    t0 = time.monotonic()
    code, _ = node.exec(["nc", "-z", "-w", str(int(timeout)), host, str(port)], check=False)
    return {"from": node.name, "to": f"{host}:{port}", "connected": code == 0,
            "seconds": round(time.monotonic() - t0, 3)}


def netem_available(node) -> bool:
    """Does this kernel have netem? (Probed on lo of a container; removed at once.)"""
    code, _ = node.exec(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], user="root",
                        check=False)
    if code == 0:
        node.exec(["tc", "qdisc", "del", "dev", "lo", "root"], user="root", check=False)
    return code == 0

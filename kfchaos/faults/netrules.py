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
    touched: list[object] = field(default_factory=list)

    def _touch(self, node) -> None:
        if node not in self.touched:
            self.touched.append(node)

    def add(self, node, chain: str, *match: str, target: str = "DROP") -> None:
        args = [chain, *match, "-m", "comment", "--comment", self.tag, "-j", target]
        self._touch(node)
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

    def add_batch(self, plan: dict[object, list[list[str]]]) -> None:
        """Add many DROP rules: one ``docker exec`` per node, nodes in parallel.
        plan: node -> [[chain, *match], ...]."""
        from concurrent.futures import ThreadPoolExecutor

        def one(node, rules):
            full = [[*r, "-m", "comment", "--comment", self.tag, "-j", "DROP"] for r in rules]
            script = " && ".join("iptables -w -A " + " ".join(args) for args in full)
            code, out = node.exec(["sh", "-c", script], user="root", check=False)
            return node, full, code, out

        for node in plan:
            self._touch(node)
        with ThreadPoolExecutor(max_workers=max(1, len(plan))) as pool:
            results = list(pool.map(lambda kv: one(*kv), plan.items()))
        failed = []
        for node, full, code, out in results:
            self.added.extend((node, args) for args in full)
            if code != 0:
                failed.append(f"{node.name}: {out.strip()[:200]}")
        if failed:
            raise FaultError("iptables failed (the container needs iptables and NET_ADMIN): " + "; ".join(failed))

    def add_tbf(self, node, rate: str, burst: str = "32kbit", latency: str = "400ms") -> None:
        code, out = node.exec(["tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", rate, "burst", burst,
                               "latency", latency], user="root", check=False)
        if code != 0:
            raise FaultError(f"{node.name}: tc tbf failed: {out.strip()[:200]}")
        self.qdiscs.append(node)

    def remove_all(self) -> list[str]:
        """Delete every rule carrying this fault's tag (and only those) and the qdiscs it
        added; returns what could not be removed."""
        from concurrent.futures import ThreadPoolExecutor
        script = (f"iptables -w -S | grep -- '--comment {self.tag} ' | sed 's/^-A /-D /' | "
                  "while read -r rule; do iptables -w $rule || exit 1; done")

        def one(node):
            if not node.running():
                return None
            node.exec(["sh", "-c", script], user="root", check=False)
            left = self.remaining([node]).get(node.name, 0)
            return f"{node.name}: {left} rules left" if left else None

        with ThreadPoolExecutor(max_workers=max(1, len(self.touched))) as pool:
            problems = [p for p in pool.map(one, self.touched) if p]
        self.added.clear()
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
                _, text = n.read(["iptables", "-w", "-S"], user="root")
                out[n.name] = text.count(f"--comment {self.tag} ")
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

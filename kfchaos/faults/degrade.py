"""Network degradation between zones and on client / object-storage paths.

Between zones (this machine's kernel has no netem, so delay goes through Toxiproxy):
- ``zone-latency``: params delay_ms, jitter_ms; target ``<src>-<dst>`` (e.g. ``a-b``) or
  ``zone:<z>`` (z to and from every other zone). Latency toxics on the replication and
  quorum proxies of both directions. Proof: a Kafka request's round trip from the
  source broker through its proxy, measured before and during.
- ``zone-loss``: params probability (0..1); target zone:<z>; iptables ``statistic``
  DROP of packets arriving at z's members from other zones. Proof: drop counters.
- ``zone-bandwidth``: params rate (tc units, e.g. ``1mbit``); target zone:<z>; tc tbf on
  z's members' egress. Proof: the qdisc as tc shows it.
The method used is recorded (``method``), with whether netem was available.
"""
from __future__ import annotations

import uuid

import time
from typing import Any

from .base import Fault, FaultError
from .netrules import Rules, netem_available
from .package import PALETTE, FaultPackage
from kfchaos.platform.toxiproxy import Toxic

# A Kafka ApiVersions v0 request (client id "p"), in octal for sh's printf.
_API_VERSIONS = r"\000\000\000\013\000\022\000\000\000\000\000\001\000\001\160"


def kafka_rtt_ms(node, host: str, port: int, samples: int = 5) -> float:
    """Fastest round trip of a Kafka ApiVersions request from a container to host:port.
    The minimum, not the median: on a loaded machine scheduling noise only adds time, and
    an added delay is in every sample."""
    script = (f"s=$(date +%s%N); printf '{_API_VERSIONS}' | nc -N -w 5 {host} {port} >/dev/null; "
              "e=$(date +%s%N); echo $(( (e - s) / 1000 ))")
    values = []
    for _ in range(samples):
        code, out = node.exec(["sh", "-c", script], check=False)
        if code == 0 and out.strip().isdigit():
            values.append(int(out.strip()) / 1000.0)
    if not values:
        raise FaultError(f"{node.name}: could not measure a round trip to {host}:{port}")
    return round(min(values), 2)


def zone_pairs(platform, target: str) -> list[tuple[str, str]]:
    if target.startswith("zone:"):
        z = target[5:]
        return [(z, o) for o in platform.zones if o != z] + [(o, z) for o in platform.zones if o != z]
    src, _, dst = target.partition("-")
    if src not in platform.zones or dst not in platform.zones or src == dst:
        raise FaultError(f"target {target!r}: use <src>-<dst> with two zones of {list(platform.zones)}, or zone:<z>")
    return [(src, dst), (dst, src)]


class ZoneLatency(Fault):
    name = "zone-latency"
    default_target = "a-b"

    def setup(self) -> None:
        self.pairs = zone_pairs(self.platform, self.spec.target or self.default_target)
        self.delay = int(self.params.get("delay_ms", 100))
        self.jitter = int(self.params.get("jitter_ms", 0))
        self.toxic_name = f"chaos-latency-{uuid.uuid4().hex[:8]}"
        self.added: list[tuple[str, str]] = []   # (zone, proxy)
        src, dst = self.pairs[0]
        self.probe = (self.platform.brokers[src], f"toxiproxy-{src}", self.platform.cfg.replication_port(dst))

    def _rtt(self) -> float:
        node, host, port = self.probe
        return kafka_rtt_ms(node, host, port)

    def start(self) -> dict[str, Any]:
        before = self._rtt()
        for src, dst in self.pairs:
            for kind in ("repl", "ctrl"):
                proxy = f"{kind}-{src}-{dst}"
                self.platform.toxiproxy[src].add_toxic(proxy, Toxic(
                    self.toxic_name, "latency", "upstream", 1.0, {"latency": self.delay, "jitter": self.jitter}))
                self.added.append((src, proxy))
        during = self._rtt()
        if during < before + self.delay * 0.5:
            raise FaultError(f"zone-latency: round trip {before} ms -> {during} ms, delay {self.delay} ms not seen")
        method = "toxiproxy" + ("" if not netem_available(self.probe[0]) else " (netem also available)")
        return {"target": [f"{s}->{d}" for s, d in self.pairs],
                "detail": f"+{self.delay}±{self.jitter} ms on {len(self.added)} proxies",
                "proof": {"rtt_ms_before": before, "rtt_ms_during": during, "method": method}}

    def stop(self) -> dict[str, Any]:
        while self.added:
            zone, proxy = self.added.pop()
            self.platform.toxiproxy[zone].remove_toxic(proxy, self.toxic_name)
        after = self._rtt()
        return {"detail": "latency toxics removed", "proof": {"rtt_ms_after": after}}

    def teardown(self) -> None:
        while self.added:
            zone, proxy = self.added.pop()
            self.platform.toxiproxy[zone].remove_toxic(proxy, self.toxic_name)


class ZoneLoss(Fault):
    name = "zone-loss"
    default_target = "zone:c"

    def setup(self) -> None:
        self.zone = (self.spec.target or self.default_target).removeprefix("zone:")
        if self.zone not in self.platform.zones:
            raise FaultError(f"zone-loss: unknown zone {self.zone!r}")
        self.p = float(self.params.get("probability", 0.3))
        if not 0 < self.p <= 1:
            raise FaultError(f"zone-loss: probability must be in (0, 1], got {self.p}")
        self.rules = Rules(tag=f"chaos-{self.platform.run_id}-loss-{uuid.uuid4().hex[:8]}")
        net = self.platform.network_name
        self.members = [n for n in self.platform.zone_members(self.zone) if n.running()]
        self.peers = [n.ip(net) for z in self.platform.zones if z != self.zone
                      for n in self.platform.zone_members(z) if n.running()]

    def start(self) -> dict[str, Any]:
        for node in self.members:
            for ip in self.peers:
                self.rules.add(node, "INPUT", "-s", ip, "-m", "statistic", "--mode", "random",
                               "--probability", f"{self.p:.4f}")
        time.sleep(2)
        return {"target": self.zone, "detail": f"{self.p:.0%} inbound packet loss from other zones",
                "proof": {"dropped_packets": self._dropped(), "method": "iptables statistic"}}

    def _dropped(self) -> dict[str, int]:
        out = {}
        for node in self.members:
            _, text = node.read(["iptables", "-w", "-L", "INPUT", "-v", "-n", "-x"], user="root")
            out[node.name] = sum(int(line.split()[0]) for line in text.splitlines()
                                 if self.rules.tag in line and line.split()[0].isdigit())
        return out

    def stop(self) -> dict[str, Any]:
        dropped = self._dropped()
        problems = self.rules.remove_all()
        if problems:
            raise FaultError(f"zone-loss: heal incomplete: {problems}")
        return {"detail": "loss rules removed", "proof": {"dropped_packets_total": dropped,
                                                          "rules_left": self.rules.remaining(self.members)}}

    def teardown(self) -> None:
        self.rules.remove_all()


class ZoneBandwidth(ZoneLoss):
    name = "zone-bandwidth"

    def start(self) -> dict[str, Any]:
        rate = str(self.params.get("rate", "1mbit"))
        for node in self.members:
            self.rules.add_tbf(node, rate)
        shown = {n.name: n.read(["tc", "qdisc", "show", "dev", "eth0"], user="root")[1].strip()
                 for n in self.members}
        return {"target": self.zone, "detail": f"egress limited to {rate}",
                "proof": {"qdisc": shown, "method": "tc tbf"}}

    def stop(self) -> dict[str, Any]:
        problems = self.rules.remove_all()
        if problems:
            raise FaultError(f"zone-bandwidth: heal incomplete: {problems}")
        shown = {n.name: n.read(["tc", "qdisc", "show", "dev", "eth0"], user="root")[1].strip()
                 for n in self.members}
        return {"detail": "qdiscs removed", "proof": {"qdisc": shown}}


def check_probability(params: dict, zones) -> str | None:
    p = params.get("probability", 0.3)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        return f"params.probability must be a number in (0, 1], got {p!r}"
    return None


def _degrade(cls: type[Fault], targets: tuple[str, ...], menu: tuple[str, ...] = (), check=None) -> FaultPackage:
    # They act on replication and quorum traffic between zones (repl-/ctrl- proxies, zone members).
    return FaultPackage(cls, targets, menu, needs=("replication",), colour=PALETTE["network"], family="network",
                        check_params=check)


PACKAGES = (
    _degrade(ZoneLatency, ("{pair}", "zone:{zone}"), ("{pair}", "zone:{zone}")),
    _degrade(ZoneLoss, ("zone:{zone}",), ("zone:{zone}",), check=check_probability),
    _degrade(ZoneBandwidth, ("zone:{zone}",)),
)

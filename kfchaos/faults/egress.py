"""A bound on the brokers' own network links: the NIC a full-speed replay saturates.

``broker-bandwidth`` (target ``all``, the default, or ``broker:<zone>``): a tc token-bucket
filter (tbf) on the broker container's egress, at ``params.rate`` (tc units: ``40mbit``,
``5mbps`` for bytes; default 40mbit), a bucket of ``params.burst_bytes`` (default 10 ms
at the rate: a link; a bucket of seconds of traffic lets short bursts through at full speed,
as a cloud instance's burst credits do) and a queue of ``params.queue_ms`` (default 400 ms)
of traffic at that rate. Everything the broker sends shares the bound: fetch responses to
consumers (a replay too), produce responses, replication to followers. On the built-in
platform the brokers' network is a local bridge with no limit; with this bound a replay
without a quota fills the link as it would a production broker's NIC.

Proof on start: the qdisc as tc shows it on every bounded broker, with the rate tc read
back; on stop: the same command showing no tbf left. Heal (stop, teardown, the nemesis's
heal on exit or signal) deletes exactly the qdiscs this fault added.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

from .base import Fault, FaultError
from .netrules import Rules
from .package import PALETTE, FaultPackage

DEFAULT_RATE = "40mbit"
DEFAULT_QUEUE_MS = 400

#: tc rate units, in bits per second (tc(8): bit/kbit/mbit/gbit, and bps/kbps/... for bytes)
_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12,
          "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9, "tbps": 8e12}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_SHOWN = re.compile(r"qdisc tbf \S+ root .*?\brate (\S+)", re.IGNORECASE)


def parse_rate(text: Any) -> float:
    """Bits per second of a tc rate (``40mbit``, ``5MBps``, ``40Mbit`` as tc prints it);
    ValueError with the fix when it is not one."""
    m = _RATE.match(str(text))
    unit = (m.group(2).lower() or "bit") if m else ""
    if not m or unit not in _UNITS or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a tc rate; write a positive number with a unit such as 40mbit or 5mbps")
    return float(m.group(1)) * _UNITS[unit]


def burst_bytes(rate_bits: float) -> int:
    """The bucket: 10 ms of traffic at the rate, at least 16 KiB (several full-size frames)."""
    return max(16384, int(rate_bits / 8 * 0.010))


def shown_rate(qdisc_text: str) -> float | None:
    """The rate of the root tbf in ``tc qdisc show`` output, or None when there is none."""
    m = _SHOWN.search(qdisc_text)
    return parse_rate(m.group(1)) if m else None


class BrokerBandwidth(Fault):
    name = "broker-bandwidth"
    default_target = "all"

    def setup(self) -> None:
        target = self.spec.target or self.default_target
        brokers = self.platform.brokers
        if target == "all":
            self.nodes = [n for n in brokers.values() if n.running()]
        elif target.startswith("broker:") and target[7:] in brokers:
            self.nodes = [brokers[target[7:]]]
        else:
            raise FaultError(f"broker-bandwidth: target {target!r}; use all or broker:<zone> of {list(brokers)}")
        try:
            self.rate_bits = parse_rate(self.params.get("rate", DEFAULT_RATE))
        except ValueError as exc:
            raise FaultError(f"broker-bandwidth: params.rate {exc}") from None
        self.rate = str(self.params.get("rate", DEFAULT_RATE))
        self.queue_ms = int(self.params.get("queue_ms", DEFAULT_QUEUE_MS))
        self.burst = int(self.params.get("burst_bytes") or burst_bytes(self.rate_bits))
        self.rules = Rules(tag=f"chaos-{self.platform.run_id}-egress-{uuid.uuid4().hex[:8]}")

    def _shown(self) -> dict[str, str]:
        return {n.name: n.read(["tc", "qdisc", "show", "dev", "eth0"], user="root")[1].strip()
                for n in self.nodes if n.running()}

    def start(self) -> dict[str, Any]:
        for node in self.nodes:
            self.rules.add_tbf(node, self.rate, burst=f"{self.burst}b", latency=f"{self.queue_ms}ms")
        shown = self._shown()
        read_back = {name: shown_rate(text) for name, text in shown.items()}
        wrong = [name for name, bits in read_back.items()
                 if not bits or abs(bits - self.rate_bits) > 0.02 * self.rate_bits]
        if wrong or len(shown) < len(self.nodes):
            raise FaultError(f"broker-bandwidth: no tbf at {self.rate} on {wrong or 'a stopped broker'}: {shown}")
        return {"target": sorted(shown), "detail": f"every broker's egress bounded to {self.rate}",
                "proof": {"qdisc": shown, "rate_bits_per_s": read_back, "queue_ms": self.queue_ms,
                          "burst_bytes": self.burst,
                          "method": "tc tbf on eth0"}}

    def stop(self) -> dict[str, Any]:
        problems = self.rules.remove_all()
        shown = self._shown()
        left = sorted(name for name, text in shown.items() if shown_rate(text) is not None)
        if problems or left:
            raise FaultError(f"broker-bandwidth: heal incomplete: {problems or ''} tbf left on {left}")
        return {"detail": "egress bounds removed", "proof": {"qdisc": shown, "tbf_left": left}}

    def teardown(self) -> None:
        if hasattr(self, "rules"):
            self.rules.remove_all()


def check_params(params: dict, zones) -> str | None:
    try:
        parse_rate(params.get("rate", DEFAULT_RATE))
    except ValueError as exc:
        return f"params.rate {exc}"
    for key, unit in (("queue_ms", "milliseconds"), ("burst_bytes", "bytes")):
        q = params.get(key, 1)
        if isinstance(q, bool) or not isinstance(q, int) or q <= 0:
            return f"params.{key} must be a whole number of {unit} > 0, got {q!r}"
    return None


PACKAGES = (FaultPackage(BrokerBandwidth, ("all", "broker:{zone}"), colour=PALETTE["network"], family="network",
                         check_params=check_params),)

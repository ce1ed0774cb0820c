"""Host ports on 127.0.0.1 for the mapped container ports.

A port is chosen by the harness before Docker binds it (a broker must advertise its host
port in its own configuration), so the choice must not race with the kernel: ports come
from below the kernel's ephemeral range (``net.ipv4.ip_local_port_range``), where the
kernel never hands out the source port of an outgoing connection. A port taken from the
ephemeral range was seen bound by a client connection in the moment between the choice and
Docker's bind ("port is already allocated") on a loaded machine.
"""
from __future__ import annotations

import random
import socket
import threading

LOWEST = 15000                      # above the registered ports most services use
_given: set[int] = set()            # handed out in this process (several platforms at once)
_lock = threading.Lock()


class PortTaken(RuntimeError):
    pass


def ephemeral_low(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> int:
    """The first port of the kernel's ephemeral range (32768 when it cannot be read)."""
    try:
        with open(path) as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(rng: random.Random | None = None) -> int:
    """A free 127.0.0.1 port below the ephemeral range, not handed out before in this process."""
    rng = rng or random.SystemRandom()
    top = ephemeral_low() - 1
    if top - LOWEST < 1000:             # an unusual range: let the kernel choose
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    with _lock:
        for _ in range(200):
            port = rng.randint(LOWEST, top)
            if port not in _given and bindable(port):
                _given.add(port)
                return port
    raise PortTaken(f"no free port on 127.0.0.1 between {LOWEST} and {top}: stop what holds them")


def check_free(port: int, what: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise PortTaken(f"port 127.0.0.1:{port} (for {what}) is already in use: stop what holds it "
                            f"(`ss -ltnp 'sport = :{port}'`) or choose another port_base") from None
    return port


class PortPlan:
    """Ephemeral ports by default; consecutive fixed ports from ``base`` when base > 0."""

    def __init__(self, base: int = 0):
        self.base = base
        self.next = base
        self.assigned: dict[str, int] = {}

    def take(self, what: str) -> int:
        if self.base:
            port = check_free(self.next, what)
            self.next += 1
        else:
            port = free_port()
        self.assigned[what] = port
        return port

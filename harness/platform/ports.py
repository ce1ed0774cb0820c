"""Host ports on 127.0.0.1 for the mapped container ports."""
from __future__ import annotations

import socket


class PortTaken(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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

"""Host ports: below the kernel's ephemeral range, free, never handed out twice in a process."""
from __future__ import annotations

import socket

from kfchaos.platform import ports


def test_ports_are_free_below_the_ephemeral_range_and_distinct():
    low = ports.ephemeral_low()
    got = [ports.free_port() for _ in range(50)]
    assert len(set(got)) == 50 and all(ports.LOWEST <= p < low for p in got)
    for p in got[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


def test_a_taken_port_is_skipped():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        assert not ports.bindable(taken)


def test_unreadable_range_falls_back_to_the_default(tmp_path):
    assert ports.ephemeral_low(str(tmp_path / "missing")) == 32768
    (tmp_path / "r").write_text("40000\t60999\n")
    assert ports.ephemeral_low(str(tmp_path / "r")) == 40000

"""Reading a command's output through an exec that can lose it.

Docker's exec can return exit code 0 and no output at all when the process ends before the
client reads the attach stream (docker-py #2042, moby #27289; seen here as an empty
``tc qdisc show`` right after a tc add that worked). A fault's proof reads tc, iptables,
df, du and ps output, and "nothing" must never be taken for "no rule left" or "no qdisc".

``read(exec_fn, cmd)`` runs ``cmd`` under ``sh`` followed by an end line carrying its exit
code; output without that line was lost and the (read-only) command runs again, up to
``ATTEMPTS`` times, then ``OutputLost`` names the command. Hand-written because no library
wraps an exec this way; the retry itself is tenacity's.
"""
from __future__ import annotations

import shlex
from typing import Callable

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

END = "kfchaos-exec-end"
ATTEMPTS = 4
_SCRIPT = f'"$@"; printf "\\n%s %d\\n" {END} "$?"'


class OutputLost(RuntimeError):
    """The exec's output came back without its end line on every attempt."""


def wrap(cmd: list[str]) -> list[str]:
    """``cmd`` run by sh, then the end line with its exit code."""
    return ["sh", "-c", _SCRIPT, "sh", *cmd]


def unwrap(text: str) -> tuple[int, str] | None:
    """(exit code, the command's own output) from a wrapped run, or None when the end line
    is missing (the output was lost)."""
    marker = f"\n{END} "
    at = text.rfind(marker)
    if at < 0:
        return None
    code = text[at + len(marker):].strip()
    if not code.lstrip("-").isdigit():
        return None
    return int(code), text[:at]


def read(exec_fn: Callable[..., tuple[int, str]], cmd: list[str], user: str = "",
         attempts: int = ATTEMPTS) -> tuple[int, str]:
    """(exit code, output) of a read-only ``cmd`` through ``exec_fn(cmd, user=, check=False)``,
    proven complete by its end line; OutputLost after ``attempts`` runs without it."""
    def once() -> tuple[int, str]:
        _, text = exec_fn(wrap(cmd), user=user, check=False)
        got = unwrap(text)
        if got is None:
            raise OutputLost(f"`{shlex.join(cmd)}`: output lost {attempts} times in a row "
                             f"(last: {text.strip()[:200]!r})")
        return got

    for attempt in Retrying(stop=stop_after_attempt(attempts), wait=wait_fixed(0.2),
                            retry=retry_if_exception_type(OutputLost), reraise=True):
        with attempt:
            return once()
    raise AssertionError("unreachable")  # pragma: no cover

"""Wait objects: poll a readiness probe until it passes or a deadline expires.

A timeout raises ``NotReady`` whose single message names the component, what was
awaited, the last probe answer, the container status and the tail of its log, and a
hint, with credentials masked (``kfchaos.redact``). Retrying lives here (tenacity),
never around assertions.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from kfchaos.redact import redact

from .node import Node


class NotReady(RuntimeError):
    """Something did not become ready in time; its message never holds a registered secret."""

    def __init__(self, message: str):
        super().__init__(redact(str(message)))


@dataclass
class Wait:
    what: str                                  # "3 brokers and an active controller in metadata"
    probe: Callable[[], tuple[bool, str]]      # -> (ready, detail)
    timeout: float = 120.0
    interval: float = 0.5
    node: Node | None = None
    hint: str = ""

    def until_ready(self) -> float:
        """Block until ready; returns the seconds waited."""
        started = time.monotonic()
        last = {"detail": "not probed yet"}

        def attempt() -> bool:
            try:
                ok, detail = self.probe()
            except Exception as exc:  # a probe error is just "not ready yet"
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            last["detail"] = detail
            if not ok and self.node is not None and self.node.status() in ("exited", "dead", "removed"):
                raise NotReady(self._message(time.monotonic() - started, detail, early=True))
            return ok

        retrying = Retrying(stop=stop_after_delay(self.timeout), wait=wait_fixed(self.interval),
                            retry=retry_if_result(lambda ok: not ok))
        try:
            retrying(attempt)
        except RetryError:
            raise NotReady(self._message(time.monotonic() - started, last["detail"])) from None
        return time.monotonic() - started

    def _message(self, waited: float, detail: str, early: bool = False) -> str:
        who = self.node.container_name if self.node else self.what
        msg = (f"{who}: {'container stopped' if early else f'not ready after {waited:.0f}s'} "
               f"waiting for {self.what} (last answer: {detail})")
        if self.node is not None:
            tail = redact(self.node.logs(tail=25).rstrip())
            msg += f"; container status: {self.node.state()}; last log lines:\n{tail}"
        if self.hint:
            msg += f"\nhint: {self.hint}"
        return msg

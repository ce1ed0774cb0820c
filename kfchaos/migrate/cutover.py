"""Moving one consumer group from the source platform to the target, recorded.

:class:`GroupMove` drives the group through three phases in its own thread:

1. on the source: a recording consumer of the group reads the source topic live and
   commits every second, until the move starts (``stop_source`` or ``move_after_s``);
   it then commits and leaves the group: ``stopped_at`` and its committed offsets;
2. translation: it waits until MirrorMaker 2 has written offsets of the group for the
   mirrored topic into the target's group coordinator (every partition) and they stopped
   moving, as a team waits before starting its consumers on the new platform;
3. on the target: a recording consumer of the same group reads the mirrored topic from
   those offsets, live, until ``finish()`` asks it to read to the end offsets and stop.

Then :meth:`record` appends the ``cutover`` op :mod:`kfchaos.checkers.cutover` reads. The
consumers' own ops (assign with the committed positions, polls, commits) are in the
history too, so the group checker sees both sides.
"""
from __future__ import annotations

import logging
import threading
import time

from kfchaos import observe
from kfchaos.clients import RecordingConsumer
from kfchaos.platform.kafka_config import RDKAFKA_LOGGER
from kfchaos.workload import committed_offsets, high_watermarks

log = logging.getLogger("chaos.migrate")
TRANSLATION_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 60.0
STABLE_READS = 3          # translated offsets unchanged this many reads in a row: the move goes on
#: how the group moves: on MirrorMaker's translated offsets (the sound way), or as a new group
#: on the target starting at its end, after a reconfiguration pause (the detection matrix's
#: weakened cut-over: what a team gets that moves consumers without offset translation)
MODES = ("translated", "latest")
LATEST_PAUSE_S = 5.0
SOURCE_PROCESS, TARGET_PROCESS = "source-consumer", "target-consumer"


class GroupMove:
    def __init__(self, source, target, history, group: str, source_topic: str, target_topic: str,
                 move_after_s: float, settings: dict | None = None, mode: str = "translated"):
        self.source, self.target, self.history, self.group = source, target, history, group
        self.mode = mode
        self.target_group = group if mode == "translated" else f"{group}-new"
        self.source_topic, self.target_topic, self.move_after_s = source_topic, target_topic, move_after_s
        self.settings = {"session.timeout.ms": 10000, "heartbeat.interval.ms": 1000, **(settings or {}),
                         "logger": RDKAFKA_LOGGER, "log.connection.close": False}
        self._finish = threading.Event()
        self._thread = threading.Thread(target=self._run, name="group-move", daemon=True)
        self.stopped_at: int | None = None
        self.source_committed: dict[int, int] = {}
        self.translated: dict[int, int] = {}
        self.translated_at: int | None = None
        self.errors: list[str] = []

    def start(self) -> "GroupMove":
        self._thread.start()
        return self

    def finish(self, timeout: float = DRAIN_TIMEOUT_S + TRANSLATION_TIMEOUT_S) -> None:
        """Let the target consumer read to the end offsets, then wait for the thread."""
        self._finish.set()
        self._thread.join(timeout=timeout)
        if self._thread.is_alive():
            self.errors.append("the group move did not finish in time")

    def _consumer(self, platform, topic: str, process: str, group: str | None = None,
                  **extra) -> RecordingConsumer:
        cfg = {**self.settings, **extra}
        isolation = cfg.pop("isolation.level", "read_committed")
        return RecordingConsumer(platform.bootstrap_servers, topic, group or self.group, self.history, process,
                                 isolation=isolation, config=cfg)

    def _run(self) -> None:
        try:
            self._on_source()
            if self.mode == "translated":
                self._translation()
            else:
                time.sleep(LATEST_PAUSE_S)
                self.translated_at = time.monotonic_ns()
            self._on_target()
        except Exception as exc:      # recorded as a harness error: the verdicts become unknown
            self.errors.append(f"group move: {type(exc).__name__}: {exc}")
            log.warning("group move failed: %s", exc)

    def _on_source(self) -> None:
        c = self._consumer(self.source, self.source_topic, SOURCE_PROCESS)
        deadline = time.monotonic() + self.move_after_s
        try:
            c.open()
            last = time.monotonic()
            while time.monotonic() < deadline and not self._finish.is_set():
                c.poll_batch(500, timeout=0.5)
                if time.monotonic() - last >= 1.0:
                    c.commit()
                    last = time.monotonic()
            c.commit()
        finally:
            c.close()
        self.stopped_at = time.monotonic_ns()
        self.source_committed = committed_offsets(self.source.bootstrap_servers, self.source_topic, self.group)
        log.info("group %s stopped on the source at %s; waiting for translated offsets on the target",
                 self.group, self.source_committed)

    def _translation(self) -> None:
        """Wait for translated offsets of every partition that stay the same for `STABLE_READS`
        reads a second apart: MirrorMaker writes the group's checkpoints as they come, so the
        first offsets seen can be those of an earlier commit (measured: partition 1 at offset 1
        for a commit at 647), and starting from them redelivers what the group had read."""
        deadline = time.monotonic() + TRANSLATION_TIMEOUT_S
        got: dict[int, int] = {}
        same = 0
        while time.monotonic() < deadline and same < STABLE_READS:
            time.sleep(1.0)
            try:
                now = committed_offsets(self.target.bootstrap_servers, self.target_topic, self.group)
            except Exception as exc:    # a target broker down (the fault): ask again
                log.info("translated offsets not readable yet: %s", exc)
                continue
            complete = bool(now) and all(o >= 0 for o in now.values())
            same = same + 1 if complete and now == got else 0
            got = now
        self.translated_at = time.monotonic_ns()
        self.translated = {p: o for p, o in got.items() if o >= 0}
        log.info("translated offsets on the target: %s", self.translated)

    def _on_target(self) -> None:
        extra = {} if self.mode == "translated" else {"auto.offset.reset": "latest"}
        c = self._consumer(self.target, self.target_topic, TARGET_PROCESS, self.target_group, **extra)
        try:
            c.open()
            last = time.monotonic()
            while not self._finish.is_set():
                c.poll_batch(500, timeout=0.5)
                if time.monotonic() - last >= 1.0:
                    c.commit()
                    last = time.monotonic()
            self._drain(c)
            c.commit()
        finally:
            c.close()

    def _drain(self, c: RecordingConsumer) -> None:
        """Read until the target consumer has polled up to the topic's end offsets."""
        ends = high_watermarks(self.target.bootstrap_servers, self.target_topic)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            c.poll_batch(500, timeout=0.5)
            at = {**c.next_offsets(), **{p: o for p, o in c.positions().items() if o > c.next_offsets().get(p, -1)}}
            # the fetch position counts too: a transactional mirror ends partitions with a commit marker
            if all(at.get(p, self.translated.get(p, 0)) >= end for p, end in ends.items() if end > 0):
                return
        self.errors.append(f"target consumer did not reach the end offsets {ends} in {DRAIN_TIMEOUT_S:.0f}s")

    def record(self) -> None:
        """The ``cutover`` op (and any error as a harness error)."""
        for e in self.errors:
            observe.harness_error(self.history, e)
        if self.stopped_at is None:
            return
        self.history.ok(observe.PROCESS, "cutover", {
            "group": self.group, "target_group": self.target_group, "mode": self.mode,
            "source_topic": self.source_topic, "target_topic": self.target_topic,
            "process": TARGET_PROCESS, "stopped_at": self.stopped_at, "translated_at": self.translated_at,
            "source_committed": {str(p): o for p, o in self.source_committed.items()},
            "translated": {str(p): o for p, o in self.translated.items()}})

"""MirrorMaker 2 between two platforms, in dedicated mode, in its own container.

``MirrorMaker(source, target, topics, groups)`` mirrors ``topics`` of the source platform to
the target one (``DefaultReplicationPolicy``: ``<topic>`` on the source is
``source.<topic>`` on the target), emits checkpoints of ``groups`` every second and writes
their translated offsets into the target's group coordinator
(``sync.group.offsets.enabled``), so a group that stops on the source resumes on the target
from what it committed. Topic configurations are not copied: the target topic is created
beforehand with the target profile's own settings (tiered storage, say), as a team moving
to a new platform designs its topics there.

The container runs the image ``mirror`` (the kafka image of the same release plus
``connect-mirror`` from Maven Central, see :mod:`kfchaos.images.build`) on the host's
network namespace: both platforms name their brokers ``kafka-<zone>`` on their own Docker
networks, so MirrorMaker reaches each through its host listeners on 127.0.0.1, as the
harness's own clients do. It listens on no port (dedicated mode without the internal REST
server). With ``exactly_once`` (:data:`DELIVERY`), the source connector writes each batch and
its source offsets in one transaction on the target (``exactly.once.source.support``, which
dedicated mode supports since Kafka 3.5, with the internal REST server on a free 127.0.0.1
port) and reads the source ``read_committed``: a re-sent batch is aborted, so a
``read_committed`` reader of the target sees each record once. It carries the run labels of the source platform, so its ``stop()`` and
``kfchaos clean`` remove it too; ``stop()`` here removes it at once (idempotent) and is
registered for Ctrl-C/SIGTERM.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from testcontainers.core.container import DockerContainer

from kfchaos.images.build import ASSETS
from kfchaos.platform import cleanup
from kfchaos.platform.node import Node
from kfchaos.platform.waits import Wait

SOURCE, TARGET = "source", "target"
CONFIG_PATH = "/etc/kafka/mm2.properties"
HEAP = "-Xms128m -Xmx384m"
#: how MirrorMaker delivers: Connect's default (a restarted task re-sends what its last offset
#: commit did not cover), or in transactions on the target
DELIVERY = ("at-least-once", "exactly-once")
CHECKPOINTS = f"{SOURCE}.checkpoints.internal"     # on the target, MirrorCheckpointConnector's topic
log = logging.getLogger("chaos.migrate")


def mirrored(topic: str) -> str:
    """The name MirrorMaker gives ``topic`` on the target (DefaultReplicationPolicy)."""
    return f"{SOURCE}.{topic}"


def render_config(source_bootstrap: str, target_bootstrap: str, topics: list[str], groups: list[str],
                  replication_factor: int = 3, rest_port: int | None = None) -> str:
    """mm2.properties: one flow source->target, checkpoints and offset sync every second;
    with ``rest_port``, exactly-once delivery to the target (its internal REST server there)."""
    flow = f"{SOURCE}->{TARGET}"
    rf = str(replication_factor)
    props = {
        "clusters": f"{SOURCE}, {TARGET}",
        f"{SOURCE}.bootstrap.servers": source_bootstrap,
        f"{TARGET}.bootstrap.servers": target_bootstrap,
        f"{flow}.enabled": "true",
        f"{TARGET}->{SOURCE}.enabled": "false",
        f"{flow}.topics": "|".join(topics),
        f"{flow}.groups": "|".join(groups),
        f"{flow}.emit.checkpoints.enabled": "true",
        f"{flow}.emit.checkpoints.interval.seconds": "1",
        f"{flow}.sync.group.offsets.enabled": "true",
        f"{flow}.sync.group.offsets.interval.seconds": "1",
        f"{flow}.refresh.topics.interval.seconds": "5",
        f"{flow}.refresh.groups.interval.seconds": "5",
        f"{flow}.sync.topic.configs.enabled": "false",
        f"{flow}.sync.topic.acls.enabled": "false",
        "tasks.max": "1",
        "replication.factor": rf,
        **{f"{t}.replication.factor": rf for t in ("checkpoints.topic", "heartbeats.topic", "offset-syncs.topic",
                                                   "offset.storage", "status.storage", "config.storage")},
    }
    if rest_port is not None:
        props.update({f"{TARGET}.exactly.once.source.support": "enabled",
                      f"{SOURCE}.consumer.isolation.level": "read_committed",
                      "dedicated.mode.enable.internal.rest": "true",
                      "listeners": f"http://127.0.0.1:{rest_port}"})
    return "".join(f"{k} = {v}\n" for k, v in props.items())


def free_port() -> int:
    """A port free on 127.0.0.1 now (for MirrorMaker's internal REST server)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MirrorMaker:
    """One dedicated MirrorMaker 2 process (source -> target) in a container."""

    def __init__(self, source, target, topics: list[str], groups: list[str], image: str,
                 delivery: str = DELIVERY[0]):
        self.source, self.target = source, target
        self.topics, self.groups, self.image = list(topics), list(groups), image
        self.exactly_once = delivery == "exactly-once"
        self.config = render_config(source.bootstrap_servers, target.bootstrap_servers, self.topics, self.groups,
                                    min(3, len(target.zones)), free_port() if self.exactly_once else None)
        self.node: Node | None = None
        self._unregister = None

    def start(self, timeout: float = 300.0) -> float:   # its plugin scan alone took 20 s at load 56
        """Start MirrorMaker and wait until every mirrored topic exists on the target with as
        many partitions as on the source; returns the seconds waited."""
        self._unregister = cleanup.register(self.stop)
        c = DockerContainer(self.image, name=f"chaos-{self.source.run_id}-mirror-maker",
                            labels=cleanup.run_labels(self.source.run_id, "mirror-maker"), network_mode="host",
                            mem_limit="768m")
        c.with_copy_into_container(self.config.encode(), CONFIG_PATH, 0o644)
        c.with_copy_into_container((ASSETS / "kafka-log4j2.properties").read_bytes(), "/etc/kafka/log4j2.properties",
                                   0o644)
        c.with_command(["sh", "-c", f"exec java {HEAP} -Dlog4j2.configurationFile=/etc/kafka/log4j2.properties "
                                    f"-cp '/opt/kafka/libs/*' org.apache.kafka.connect.mirror.MirrorMaker "
                                    f"{CONFIG_PATH} --clusters {TARGET}"])
        self.node = Node(name="mirror-maker", role="mirror-maker", zone=None, container=c)
        t0 = time.monotonic()
        self.node.create_and_start()
        Wait(f"MirrorMaker 2 to create {', '.join(map(mirrored, self.topics))} on the target", self._mirrored,
             timeout=timeout, node=self.node, interval=1.0,
             hint="see the mirror-maker log; both platforms' host listeners must answer").until_ready()
        return time.monotonic() - t0

    def _mirrored(self) -> tuple[bool, str]:
        want = {mirrored(t): len(self.source.admin.list_topics(t, timeout=5).topics[t].partitions)
                for t in self.topics}
        want[CHECKPOINTS] = None              # the checkpoint connector has started
        md = self.target.admin.list_topics(timeout=5).topics
        have = {t: (None if t == CHECKPOINTS else len(md[t].partitions))
                for t in want if t in md and md[t].error is None}
        return have == want, f"on the target: {have or 'none yet'} of {want}"

    def save_logs(self, directory: Path, redact=lambda s: s) -> None:
        if self.node is not None:
            self.node.save_logs(directory, redact)

    def stop(self) -> None:
        """Remove the container (idempotent)."""
        if self._unregister:
            self._unregister()
            self._unregister = None
        if self.node is not None:
            try:
                self.node.container.get_wrapped_container().remove(force=True)
            except Exception as exc:   # already gone, or the daemon is away: `kfchaos clean` finds it by label
                log.debug("mirror-maker removal: %s", exc)

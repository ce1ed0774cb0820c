"""Create topics and wait until every broker's metadata has them with a leader per partition."""
from __future__ import annotations

from confluent_kafka.admin import NewTopic

from .waits import Wait


def create_topic(platform, name: str, partitions: int = 3, replication_factor: int = 3,
                 config: dict[str, str] | None = None, timeout: float = 60.0) -> str:
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor, config=config or {})
    platform.admin.create_topics([topic], operation_timeout=30)[name].result(timeout=timeout)

    def probe():
        md = platform.admin.list_topics(name, timeout=5)
        t = md.topics.get(name)
        if t is None or t.error is not None:
            return False, f"topic error {t.error if t else 'absent'}"
        leaders = [p.leader for p in t.partitions.values()]
        return len(leaders) == partitions and min(leaders) >= 0, f"leaders {leaders}"
    Wait(f"topic {name} to have a leader for each of {partitions} partitions", probe, timeout=timeout).until_ready()
    return name

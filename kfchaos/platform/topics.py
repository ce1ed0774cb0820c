"""Create topics and wait until every broker's own metadata has them with a leader per partition.

Each broker is asked separately (an admin client bootstrapped to that broker alone): stateless
brokers such as Tansu learn of a new topic one by one, and a consumer whose group join lands on a
broker that does not know the topic yet keeps an empty assignment until its next metadata refresh
(librdkafka: topic.metadata.refresh.interval.ms, 5 min by default).
"""
from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic

from .waits import Wait


def create_topic(platform, name: str, partitions: int = 3, replication_factor: int = 3,
                 config: dict[str, str] | None = None, timeout: float = 60.0) -> str:
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor, config=config or {})
    platform.admin.create_topics([topic], operation_timeout=30)[name].result(timeout=timeout)
    admins = {addr: platform.broker_admin(addr) for addr in platform.broker_addresses().values()}

    def probe():
        answered = 0
        for addr, admin in admins.items():
            try:
                md = admin.list_topics(name, timeout=5)
            except KafkaException:
                continue           # a broker that is down now (a fault) is not waited for
            answered += 1
            t = md.topics.get(name)
            if t is None or t.error is not None:
                return False, f"{addr}: topic error {t.error if t else 'absent'}"
            leaders = [p.leader for p in t.partitions.values()]
            if len(leaders) != partitions or min(leaders) < 0:
                return False, f"{addr}: leaders {leaders}"
        if not answered:
            return False, "no broker answered"
        return True, f"{answered} broker(s) list a leader for each partition"
    Wait(f"topic {name} to have a leader for each of {partitions} partitions on every broker", probe,
         timeout=timeout).until_ready()
    authorize = getattr(platform, "authorize_workload", None)    # ACLs: the workload may read and write it
    if authorize is not None:
        authorize(topic=name)
    return name

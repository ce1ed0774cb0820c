"""What a run owns on a shared cluster, and its removal at the end of the run.

Scenario topics are named ``<scenario>-<suffix>-<random>`` and groups ``<scenario>-group``,
names that another run (or a user) may also use. So ownership is not guessed from names:
a run owns the topics it created (recorded by ``ExternalPlatform.admin``), and a consumer
group only if it has no members and every offset it committed is on one of those topics.
"""
from __future__ import annotations

import logging

log = logging.getLogger("chaos.targets")
MAX_GROUPS = 5000


def owned_groups(admin, topics: set[str], timeout: float = 15.0) -> list[str]:
    """Empty groups whose committed offsets are all on ``topics`` (and that have some)."""
    from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions
    listed = admin.list_consumer_groups(request_timeout=timeout).result(timeout=timeout + 5)
    groups = [g.group_id for g in listed.valid
              if g.state in (ConsumerGroupState.EMPTY, ConsumerGroupState.UNKNOWN, ConsumerGroupState.DEAD)]
    if len(groups) > MAX_GROUPS:
        log.warning("%d empty groups: only the first %d are checked for this run's offsets", len(groups), MAX_GROUPS)
        groups = groups[:MAX_GROUPS]
    owned = []
    for gid in groups:
        try:
            fut = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(gid)],
                                                    request_timeout=timeout)[gid]
            parts = fut.result(timeout=timeout + 5).topic_partitions or []
        except Exception as exc:       # a group that vanished meanwhile, or we may not read it
            log.debug("group %s: %s", gid, exc)
            continue
        named = {tp.topic for tp in parts}
        if named and named <= topics:
            owned.append(gid)
    return owned


def delete_run_resources(admin, topics: set[str], timeout: float = 30.0) -> list[str]:
    """Delete the run's groups, then its topics; returns what was deleted."""
    if not topics:
        return []
    deleted = []
    groups = owned_groups(admin, topics)
    if groups:
        for gid, fut in admin.delete_consumer_groups(groups, request_timeout=timeout).items():
            try:
                fut.result(timeout=timeout)
                deleted.append(f"group {gid}")
            except Exception as exc:
                log.warning("group %s not deleted: %s", gid, exc)
    existing = set(admin.list_topics(timeout=10).topics)
    mine = sorted(topics & existing)
    if mine:
        for name, fut in admin.delete_topics(mine, operation_timeout=timeout).items():
            try:
                fut.result(timeout=timeout)
                deleted.append(f"topic {name}")
            except Exception as exc:
                log.warning("topic %s not deleted: %s", name, exc)
        _wait_gone(admin, set(mine))
    topics.clear()
    return deleted


def _wait_gone(admin, names: set[str], timeout: float = 15.0) -> None:
    """Deletion is asynchronous: wait (bounded) until metadata no longer lists the topics."""
    import time
    deadline, left = time.monotonic() + timeout, names
    while time.monotonic() < deadline:
        left = names & set(admin.list_topics(timeout=10).topics)
        if not left:
            return
        time.sleep(0.5)
    log.warning("topics %s are still listed %.0fs after their deletion", sorted(left), timeout)

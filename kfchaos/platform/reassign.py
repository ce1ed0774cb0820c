"""Kafka's partition reassignment, log-dir sizes and replication throttles, run inside a broker.

Contract
--------
Every call runs one of Kafka's own command-line tools in a running broker container
(``Platform.run_tool``; the plan files are written into that same container):

* ``generate(platform, topics, broker_ids)``: ``ReassignPartitionsCommand --generate`` --
  Kafka's proposed assignment of ``topics`` over ``broker_ids`` (rack-aware), as a plan
  ``{topic, partition, replicas}`` list;
* ``execute(platform, plan, throttle)``: ``--execute --throttle <bytes/s>`` (the throttle is
  set on every broker and on the moving replicas of the topics);
* ``verify(platform, plan)``: ``--verify``; done when no partition is still in progress
  (the tool clears the throttles it set once everything is complete);
* ``log_dirs(platform, broker_ids, topics)``: ``LogDirsCommand --describe``: broker ->
  ``"<topic>-<partition>"`` -> bytes on that broker's disk (future replicas left out);
* ``clear_throttles`` deletes the four throttle settings wherever they remain and returns
  what is still set afterwards (nothing, when it worked).

``plan_off`` (pure) is the scale-in plan: every replica on a leaving broker goes to a
remaining broker that does not hold the partition yet, in the leaving broker's rack when
one is free there, else the least loaded; replica order (and so the preferred leader) is
kept. Failures raise ``ReassignError`` with the tool's own last lines.
"""
from __future__ import annotations

import json
import shlex
from typing import Any, Iterable


REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
LOG_DIRS = "org.apache.kafka.tools.LogDirsCommand"
BROKER_THROTTLES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
TOPIC_THROTTLES = ("leader.replication.throttled.replicas", "follower.replication.throttled.replicas")


def bootstrap(platform, zone: str) -> str:
    """Where a tool inside the broker of ``zone`` bootstraps: that broker's REPLICATION
    listener, whose advertised addresses every broker container can reach (the other zones'
    through its own zone's Toxiproxy). The INTERNAL listener is not: inside a broker the other
    zones' host names resolve to the zone's Toxiproxy, which forwards only replication and
    controller ports, so a tool on INTERNAL reaches its own broker alone (and times out
    setting a throttle on the others)."""
    return f"localhost:{platform.cfg.replication_port(zone)}"


class ReassignError(RuntimeError):
    pass


def _zone(platform) -> str:
    for z in platform.zones:
        if z in platform.brokers and platform.brokers[z].running():
            return z
    raise ReassignError("no running broker to run Kafka's tools in")


def _tool(platform, tool: str, args: list[str], zone: str | None = None) -> str:
    code, out = platform.run_tool(tool, args, zone=zone)
    if code != 0:
        raise ReassignError(f"{tool.rsplit('.', 1)[-1]} {' '.join(args[:1])} exited {code}: "
                            f"{' | '.join(out.strip().splitlines()[-4:])[-600:]}")
    return out


ADMIN_PROPS = "/tmp/chaos-admin.properties"
ADMIN_SETTINGS = "default.api.timeout.ms=300000\nrequest.timeout.ms=120000\n"


def _write(platform, zone: str, path: str, text: str) -> None:
    platform.brokers[zone].exec(["sh", "-c", f"printf %s {shlex.quote(text)} > {path}"])


def plan_json(plan: list[dict]) -> str:
    return json.dumps({"version": 1, "partitions": [
        {"topic": p["topic"], "partition": p["partition"], "replicas": list(p["replicas"])} for p in plan]})


def _last_json(out: str) -> Any:
    for line in reversed(out.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ReassignError(f"no JSON in the tool's output: {out.strip()[-300:]}")


def generate(platform, topics: Iterable[str], broker_ids: Iterable[int]) -> list[dict]:
    zone = _zone(platform)
    _write(platform, zone, "/tmp/chaos-topics.json",
           json.dumps({"version": 1, "topics": [{"topic": t} for t in topics]}))
    out = _tool(platform, REASSIGN, ["--bootstrap-server", bootstrap(platform, zone), "--generate",
                                     "--topics-to-move-json-file", "/tmp/chaos-topics.json",
                                     "--broker-list", ",".join(map(str, broker_ids))], zone)
    proposed = out.split("Proposed partition reassignment configuration")[-1]
    return sorted(({"topic": p["topic"], "partition": p["partition"], "replicas": p["replicas"]}
                   for p in _last_json(proposed)["partitions"]), key=lambda p: (p["topic"], p["partition"]))


def execute(platform, plan: list[dict], throttle: int | None) -> str:
    zone = _zone(platform)
    _write(platform, zone, "/tmp/chaos-reassign.json", plan_json(plan))
    _write(platform, zone, ADMIN_PROPS, ADMIN_SETTINGS)
    args = ["--bootstrap-server", bootstrap(platform, zone), "--execute", "--reassignment-json-file", "/tmp/chaos-reassign.json",
            "--command-config", ADMIN_PROPS]
    if throttle:
        args += ["--throttle", str(int(throttle))]
    return _tool(platform, REASSIGN, args, zone)


def verify(platform, plan: list[dict]) -> tuple[bool, str]:
    zone = _zone(platform)
    _write(platform, zone, "/tmp/chaos-reassign.json", plan_json(plan))
    code, out = platform.run_tool(REASSIGN, ["--bootstrap-server", bootstrap(platform, zone), "--verify",
                                             "--reassignment-json-file", "/tmp/chaos-reassign.json"], zone=zone)
    done = code == 0 and "in progress" not in out and "is completed" in out
    return done, out


def log_dirs(platform, broker_ids: Iterable[int], topics: Iterable[str]) -> dict[str, dict[str, int]]:
    zone = _zone(platform)
    _write(platform, zone, ADMIN_PROPS, ADMIN_SETTINGS)
    out = _tool(platform, LOG_DIRS, ["--bootstrap-server", bootstrap(platform, zone), "--describe", "--command-config", ADMIN_PROPS,
                                     "--broker-list", ",".join(map(str, broker_ids)),
                                     "--topic-list", ",".join(topics)], zone)
    sizes: dict[str, dict[str, int]] = {}
    for b in _last_json(out).get("brokers", []):
        parts = sizes.setdefault(str(b["broker"]), {})
        for d in b.get("logDirs", []):
            for p in d.get("partitions", []):
                if not p.get("isFuture"):
                    parts[p["partition"]] = parts.get(p["partition"], 0) + int(p.get("size", 0))
    return sizes


def assignment(platform, topics: Iterable[str] | None = None) -> list[dict]:
    """The current replicas of every partition of ``topics`` (all topics when None), from metadata."""
    md = platform.admin.list_topics(timeout=10)
    wanted = set(topics) if topics is not None else None
    return sorted(({"topic": t.topic, "partition": p.id, "replicas": list(p.replicas)}
                   for t in md.topics.values() if wanted is None or t.topic in wanted
                   for p in t.partitions.values()), key=lambda p: (p["topic"], p["partition"]))


def plan_off(current: list[dict], leaving: int, remaining: list[int], racks: dict[int, str]) -> list[dict]:
    """The partitions of ``current`` that have a replica on ``leaving``, moved onto ``remaining``."""
    load = {b: sum(b in p["replicas"] for p in current) for b in remaining}
    plan = []
    for p in current:
        if leaving not in p["replicas"]:
            continue
        free = [b for b in remaining if b not in p["replicas"]]
        if not free:
            raise ReassignError(f"{p['topic']}-{p['partition']}: no remaining broker is free for its replica "
                                f"on {leaving} (replicas {p['replicas']}, remaining {remaining})")
        same = [b for b in free if racks.get(b) == racks.get(leaving)]
        to = min(same or free, key=lambda b: (load[b], b))
        load[to] += 1
        plan.append({"topic": p["topic"], "partition": p["partition"],
                     "replicas": [to if r == leaving else r for r in p["replicas"]]})
    return plan


def _each_call(call, resources: list) -> list:
    """(resource, future) pairs of an admin call made once per broker resource (the protocol
    allows one BROKER resource per request) and once for all topic resources."""
    from confluent_kafka.admin import ConfigResource
    brokers = [r for r in resources if r.restype_int == ConfigResource.Type.BROKER.value]
    topics = [r for r in resources if r.restype_int != ConfigResource.Type.BROKER.value]
    batches = [[r] for r in brokers] + ([topics] if topics else [])
    return [pair for batch in batches for pair in call(batch, request_timeout=60).items()]


def throttles_set(platform, broker_ids: Iterable[int], topics: Iterable[str]) -> dict[tuple[str, str], list[str]]:
    """(BROKER|TOPIC, name) -> the throttle settings dynamically set on it (the host's admin client)."""
    from confluent_kafka.admin import ConfigResource
    resources = [ConfigResource("BROKER", str(b)) for b in broker_ids] + [ConfigResource("TOPIC", t) for t in topics]
    out: dict[tuple[str, str], list[str]] = {}
    for res, fut in _each_call(platform.admin.describe_configs, resources):
        entries = fut.result(timeout=90)
        keys = BROKER_THROTTLES if res.restype_int == ConfigResource.Type.BROKER.value else TOPIC_THROTTLES
        present = [k for k in keys if k in entries and entries[k].value not in (None, "")
                   and "DYNAMIC" in str(entries[k].source)]
        if present:
            out[(res.restype.name if hasattr(res.restype, "name") else str(res.restype), res.name)] = present
    return out


def clear_throttles(platform, broker_ids: Iterable[int], topics: Iterable[str]) -> list[str]:
    """Delete the replication throttles where set; the settings still present afterwards
    (``"<BROKER|TOPIC> <name>: <key>"``)."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
    broker_ids, topics = list(broker_ids), list(topics)
    found = throttles_set(platform, broker_ids, topics)
    if found:
        resources = [ConfigResource(kind, name, incremental_configs=[
            ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in keys])
            for (kind, name), keys in found.items()]
        for _, fut in _each_call(platform.admin.incremental_alter_configs, resources):
            fut.result(timeout=90)
        found = throttles_set(platform, broker_ids, topics)
    return [f"{kind} {name}: {k}" for (kind, name), keys in sorted(found.items()) for k in keys]

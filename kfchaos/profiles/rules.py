"""Rules on the values of a well-typed profile: ranges, names, ports, quotas and budgets.

Names end up in container names, network names and file names, so they are restricted
to a safe alphabet. Every rule raises one ``ProfileError`` line naming the key.
"""
from __future__ import annotations

import re
from typing import Any

from .schema import ProfileError, fail

SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")
CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
IMAGE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}")
MEMORY = re.compile(r"(?i)[1-9][0-9]*\s*(b|k|kb|m|mb|g|gb)?")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
QUOTA_KEYS = ("producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate")
MAX_ZONES = 99                    # replication ports are 9100 + zone index
MIN_DISK_MB = 16                  # smaller ext4 images cannot hold a broker's log directory


def safe_name(value: str, path: str, src: str) -> None:
    if not SAFE_NAME.fullmatch(value):
        raise fail(src, path, f"is {value!r}, not usable in container and file names",
                   "use 1-31 lowercase letters, digits and '-', starting with a letter or digit")


def at_least(data: dict, key: str, low: int | float, path: str, src: str, fix: str) -> None:
    if key in data and data[key] < low:
        raise fail(src, f"{path}.{key}" if path else key, f"is {data[key]!r}, must be at least {low}", fix)


def positive(data: dict, key: str, path: str, src: str, fix: str) -> None:
    if key in data and data[key] <= 0:
        raise fail(src, f"{path}.{key}", f"is {data[key]!r}, must be greater than 0", fix)


def check_zones(plat: dict, src: str) -> tuple[str, ...]:
    zones = plat.get("zones", ["a", "b", "c"])
    if not zones or len(zones) > MAX_ZONES:
        raise fail(src, "platform.zones", f"has {len(zones)} zones", f"list 1 to {MAX_ZONES} zone names")
    for i, zone in enumerate(zones):
        safe_name(zone, f"platform.zones[{i}]", src)
    dupes = sorted({z for z in zones if zones.count(z) > 1})
    if dupes:
        raise fail(src, "platform.zones", f"names zone(s) {', '.join(dupes)} more than once",
                   "give every zone a distinct name")
    flink_zone = plat.get("flink_zone", zones[0])
    if flink_zone not in zones:
        raise fail(src, "platform.flink_zone", f"{flink_zone!r} is not one of the zones {list(zones)}",
                   "name one of platform.zones")
    return tuple(zones)


def check_images(images: dict, path: str, src: str) -> None:
    from kfchaos.platform.images import BROKER_ROLES, ROLES
    known = ROLES + BROKER_ROLES
    for role, image in images.items():
        if role not in known:
            raise fail(src, f"{path}.{role}", "is not an image role", f"use one of {', '.join(known)}")
        if not isinstance(image, str) or not IMAGE_REF.fullmatch(image):
            raise fail(src, f"{path}.{role}", f"is {image!r}, not an image reference",
                       "write e.g. apache/kafka:4.1.1, or `public` for the public default")


#: reference-job variants a profile may run as its production job ("at-least-once": the sink without
#: Kafka transactions, a weakened delivery guarantee the exactly-once contract must catch)
PRODUCTION_VARIANTS = ("good", "at-least-once", "slow")
FLINK_HA = ("zookeeper", "none")
DURATION = re.compile(r"[1-9][0-9]*\s*(ms|s|min)")


def check_flink(flink: dict, src: str) -> None:
    at_least(flink, "taskmanagers", 1, "platform.flink", src, "the Flink job needs at least 1 TaskManager")
    at_least(flink, "slots", 1, "platform.flink", src, "give each TaskManager at least 1 slot")
    for key in ("jobmanager_memory", "taskmanager_memory"):
        if key in flink and not MEMORY.fullmatch(flink[key].strip()):
            raise fail(src, f"platform.flink.{key}", f"is {flink[key]!r}, not a memory size",
                       "write e.g. 1024m or 2g")
    if flink.get("job_variant", "good") not in PRODUCTION_VARIANTS:
        raise fail(src, "platform.flink.job_variant", f"is {flink['job_variant']!r}",
                   f"use one of {', '.join(PRODUCTION_VARIANTS)} (the reference job as the scenarios deploy it)")
    if flink.get("ha", "zookeeper") not in FLINK_HA:
        raise fail(src, "platform.flink.ha", f"is {flink['ha']!r}",
                   f"use one of {', '.join(FLINK_HA)} (zookeeper: JobManager failover recovers the jobs)")
    if "ha_session_timeout" in flink and not DURATION.fullmatch(flink["ha_session_timeout"].strip()):
        raise fail(src, "platform.flink.ha_session_timeout", f"is {flink['ha_session_timeout']!r}, not a duration",
                   "write e.g. 15 s or 30000 ms")
    if "bucket" in flink and not BUCKET.fullmatch(flink["bucket"]):
        raise fail(src, "platform.flink.bucket", f"is {flink['bucket']!r}, not an S3 bucket name",
                   "use 3-63 lowercase letters, digits, '.' and '-'")


def check_ports(plat: dict, zones: int, kind: str, src: str) -> None:
    base = plat.get("port_base", 0)
    if base == 0:
        return
    from kfchaos.platform.config import host_port_count
    from kfchaos.platform.flavors import flavor_for
    room = host_port_count(zones, len(flavor_for(kind).ports))
    top = 65536 - room
    if not 1024 <= base <= top:
        raise fail(src, "platform.port_base", f"is {base}, but {room} consecutive host ports are needed",
                   f"use 0 (ephemeral ports) or a value from 1024 to {top}")


#: platform kinds whose brokers the harness can serve with SASL_SSL and ACLs (platform.security)
SECURABLE_KINDS = ("kafka", "kafka-tiered")


def check_security(security: dict | None, kind: str, src: str) -> None:
    """``platform.security``: a known protocol and mechanism, on a kind the harness can secure."""
    if security is None:
        return
    from kfchaos.platform.security import MECHANISMS, PROTOCOLS
    if kind not in SECURABLE_KINDS:
        raise fail(src, "platform.security", f"is not available for platform.kind {kind!r}",
                   f"remove it or use kind {' or '.join(SECURABLE_KINDS)}")
    if security.get("protocol", PROTOCOLS[0]) not in PROTOCOLS:
        raise fail(src, "platform.security.protocol", f"is {security['protocol']!r}",
                   f"use {' or '.join(PROTOCOLS)} (remove platform.security for PLAINTEXT)")
    if security.get("mechanism", MECHANISMS[0]) not in MECHANISMS:
        raise fail(src, "platform.security.mechanism", f"is {security['mechanism']!r}",
                   f"use one of {', '.join(MECHANISMS)}")


def check_platform(plat: dict, kind: str, src: str) -> tuple[str, ...]:
    zones = check_zones(plat, src)
    check_security(plat.get("security"), kind, src)
    check_images(plat.get("images", {}), "platform.images", src)
    check_flink(plat.get("flink", {}), src)
    check_ports(plat, len(zones), kind, src)
    positive(plat, "startup_timeout", "platform", src, "give the seconds to wait for each component, e.g. 120")
    for key in ("cross_zone_per_gb", "object_storage_per_gb"):
        at_least(plat.get("cost", {}), key, 0, "platform.cost", src,
                 "give the price of one GB (10**9 bytes) in your currency, e.g. 0.02")
    disk = plat.get("broker_disk_mb", 0)
    if disk != 0 and disk < MIN_DISK_MB:
        raise fail(src, "platform.broker_disk_mb", f"is {disk}",
                   f"use 0 (the container's own disk) or at least {MIN_DISK_MB}")
    return zones


def check_topic(topic: dict, zones: tuple[str, ...], src: str) -> None:
    at_least(topic, "partitions", 1, "topic", src, "a topic needs at least 1 partition")
    at_least(topic, "replication_factor", 1, "topic", src, "a partition needs at least 1 replica")
    rf = topic.get("replication_factor", 1)
    if rf > len(zones):
        raise fail(src, "topic.replication_factor", f"is {rf}, more than the {len(zones)} zone(s) (one broker each)",
                   f"use at most {len(zones)} or add zones")


def check_budgets(budgets: dict, src: str) -> None:
    positive(budgets, "recovery_seconds", "budgets", src, "give the seconds a recovery may take, e.g. 60")
    positive(budgets, "backfill_p99_ratio", "budgets", src, "give the allowed p99 latency ratio, e.g. 2.0")
    positive(budgets, "replay_baseline_p99_ms", "budgets", src,
             "give the live p99 (ms) above which a baseline is too busy to compare with, e.g. 1000")
    at_least(budgets, "replay_p99_allowance_ms", 0, "budgets", src,
             "give the milliseconds a replay may add to live p99 whatever the ratio, e.g. 1000")
    at_least(budgets, "max_redelivery", 0, "budgets", src, "give a count of 0 or more")


def check_workload(workload: dict, src: str) -> None:
    """``workload:``: the load parameters scenarios take when they do not set their own."""
    from kfchaos.workload import rate_value, record_bytes_problem
    if "rate" in workload:
        try:
            rate_value(workload["rate"])
        except ValueError as exc:
            what, _, fix = str(exc).partition("; ")
            raise fail(src, "workload.rate", what, fix) from None
    at_least(workload, "producers", 1, "workload", src, "the workload needs at least 1 producer")
    at_least(workload, "keys", 1, "workload", src, "the producers need at least 1 key")
    at_least(workload, "consumers", 0, "workload", src, "give 0 (no live consumers) or more")
    positive(workload, "final_read_page_records", "workload", src,
             "give the records per page op of the final read, e.g. 100000")
    if "record_bytes" in workload:
        problem = record_bytes_problem(workload["record_bytes"])
        if problem:
            what, _, fix = problem.partition("; ")
            raise fail(src, "workload.record_bytes", what, fix)


def check_quotas(quotas: dict, src: str) -> None:
    for client_id, settings in quotas.items():
        path = f"quotas.{client_id}"
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            raise fail(src, path, "is not a usable client id", "use letters, digits, '.', '_' and '-' only")
        if not isinstance(settings, dict) or not settings:
            raise fail(src, path, "must be a mapping of quota settings",
                       f"write e.g. `consumer_byte_rate: 1048576` under it (keys: {', '.join(QUOTA_KEYS)})")
        for key, value in settings.items():
            if key not in QUOTA_KEYS:
                raise fail(src, f"{path}.{key}", "is not a client quota", f"use one of {', '.join(QUOTA_KEYS)}")
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise fail(src, f"{path}.{key}", f"is {value!r}, must be a whole number greater than 0",
                           "write e.g. 1048576 (bytes per second)")


def check_secrets_env(names: list, src: str) -> None:
    for i, name in enumerate(names):
        if not ENV_NAME.fullmatch(name):
            raise fail(src, f"secrets_env[{i}]", f"is {name!r}, not an environment variable name",
                       "use letters, digits and '_', not starting with a digit")


def check_versions(versions: dict, src: str, where: str = "platform.versions") -> None:
    from kfchaos.images.versions import VersionError, platform_versions
    for key in versions:
        try:
            platform_versions({key: versions[key]})
        except VersionError as e:
            what, _, fix = str(e).partition("; ")
            raise fail(src, f"{where}.{key}", what.split(" ", 1)[1], fix) from None


def check_replay(section: Any, src: str) -> None:
    """The ``replay:`` section of backfill-isolation (link rate, preload size, record size)."""
    from kfchaos.scenarios.replay_load import section_problem
    problem = section_problem(section)
    if problem:
        raise ProfileError(f"{src}: {problem}")


def check_all(data: dict[str, Any], kind: str, src: str) -> tuple[str, ...]:
    """Every value rule; returns the zones."""
    if "name" not in data:
        raise ProfileError(f"{src}: missing key `name`; add e.g. `name: my-profile`")
    if "platform" not in data:
        raise ProfileError(f"{src}: missing key `platform`; add a `platform:` mapping with at least `kind: kafka`")
    safe_name(data["name"], "name", src)
    zones = check_platform(data["platform"], kind, src)
    check_versions(data["platform"].get("versions", {}), src)
    check_versions(data["platform"].get("upgrade", {}), src, "platform.upgrade")
    check_topic(data.get("topic", {}), zones, src)
    check_budgets(data.get("budgets", {}), src)
    check_quotas(data.get("quotas", {}), src)
    check_workload(data.get("workload", {}), src)
    check_replay(data.get("replay", {}), src)
    check_secrets_env(data.get("secrets_env", []), src)
    return zones

"""The shape of a profile: which keys exist and the type of each value.

Checked before anything else, so that later rules see well-typed values. Every error is
one ``ProfileError`` line: the file, the key, what is wrong and how to fix it.
"""
from __future__ import annotations

import math
import re
from typing import Any

from kfchaos.yamlfile import kind_of, walk_schema


class ProfileError(ValueError):
    """A profile that cannot be used; the message is always one line."""

    def __init__(self, message: str):
        super().__init__(re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip())


INT, NUMBER, TEXT, LINE, BOOL = "integer", "number", "text", "single-line text", "boolean"
RATE = "rate"              # sends per second (a number >= 0) or `max`; 0 and max: unthrottled
SETTINGS = "settings"      # mapping of config key -> scalar (str, number, bool)
NAMES = "names"            # list of single-line strings
MAPPING = "mapping"        # any mapping; its content is checked by rules

#: a team's own Flink job (see kfchaos.flink.userjob)
JOB: dict[str, Any] = {
    "jar": LINE, "maven": LINE, "next_jar": LINE, "next_maven": LINE, "entry_class": LINE, "args": NAMES,
    "parallelism": INT,
    "input": {"id_field": LINE, "key_field": LINE, "template": MAPPING},
    "output": {"contract": LINE, "id_field": LINE, "id_header": LINE, "key_field": LINE,
               "sequence_field": LINE},
}
SCHEMA: dict[str, Any] = {
    "name": LINE, "description": TEXT, "secrets_env": NAMES,
    "platform": {"kind": LINE, "zones": NAMES, "images": SETTINGS, "versions": {"kafka": LINE, "flink": LINE},
                 "upgrade": {"kafka": LINE, "flink": LINE}, "broker_config": SETTINGS, "kafka_heap": LINE,
                 "flink": {"taskmanagers": INT, "slots": INT, "jobmanager_memory": LINE,
                           "taskmanager_memory": LINE, "bucket": LINE, "extra": SETTINGS,
                           "job_variant": LINE, "ha": LINE, "ha_session_timeout": LINE},
                 "flink_zone": LINE, "port_base": INT, "broker_disk_mb": INT, "startup_timeout": NUMBER,
                 "image_hint": LINE,
                 "cost": {"cross_zone_per_gb": NUMBER, "object_storage_per_gb": NUMBER},
                 "security": {"protocol": LINE, "mechanism": LINE, "acls": BOOL}},
    "topic": {"partitions": INT, "replication_factor": INT, "config": SETTINGS},
    "quotas": MAPPING,
    "clients": {"producer": SETTINGS, "consumer": SETTINGS},
    "budgets": {"recovery_seconds": NUMBER, "backfill_p99_ratio": NUMBER, "replay_baseline_p99_ms": NUMBER,
                "replay_p99_allowance_ms": NUMBER, "max_redelivery": INT, "ramp_p99_ms": NUMBER, "ramp_lag_p99_ms": NUMBER},
    "job": JOB,
    "elasticity": {"throttle_bytes_per_s": INT, "balance_timeout_s": NUMBER, "prefill_mb": INT},
    # backfill-isolation's replay load (kfchaos.scenarios.replay_load)
    "replay": {"link_rate": LINE, "preload_mb": INT, "record_bytes": INT, "link_burst_mb": INT},
    # the recorded workload's defaults where a scenario does not set them (kfchaos.workload)
    "workload": {"rate": RATE, "record_bytes": INT, "keys": INT, "producers": INT, "consumers": INT,
                 "final_read_page_records": INT},
}
CONFIG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def fail(src: str, path: str, problem: str, fix: str) -> ProfileError:
    return ProfileError(f"{src}: `{path}` {problem}; {fix}")


def validate(data: Any, schema: dict = SCHEMA, where: str = "", src: str = "<profile>") -> None:
    walk_schema(data, schema, where, src, ProfileError, check_value, "name, platform, topic, ...")


def check_value(value: Any, expected: str, path: str, src: str) -> None:
    if expected == INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail(src, path, f"must be an integer, got {value!r}", "write a whole number without quotes")
    elif expected == NUMBER:
        check_number(value, path, src)
    elif expected == RATE:
        if not (isinstance(value, str) and value.strip().lower() == "max"):
            if isinstance(value, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
                raise fail(src, path, f"must be a number or `max`, got {value!r}",
                           "write sends per second, e.g. 200, or `max` for as fast as possible")
            check_number(value, path, src)
    elif expected == BOOL:
        if not isinstance(value, bool):
            raise fail(src, path, f"must be true or false, got {value!r}", "write true or false without quotes")
    elif expected in (TEXT, LINE):
        if not isinstance(value, str):
            raise fail(src, path, f"must be text, got {kind_of(value)} {value!r}", "quote it")
        if expected == LINE and ("\n" in value or "\r" in value or "\0" in value):
            raise fail(src, path, "must be a single line", "remove the line breaks")
    elif expected == NAMES:
        if not isinstance(value, list):
            raise fail(src, path, f"must be a list, got {kind_of(value)} {value!r}", "write it as [x, y, ...]")
        for i, item in enumerate(value):
            check_value(item, LINE, f"{path}[{i}]", src)
    elif expected == SETTINGS:
        check_settings(value, path, src)
    elif expected == MAPPING and not isinstance(value, dict):
        raise fail(src, path, f"must be a mapping, got {kind_of(value)}", "write `key: value` lines under it")


def check_number(value: Any, path: str, src: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise fail(src, path, f"must be a number, got {value!r}", "write a number without quotes")
    if not math.isfinite(value):
        raise fail(src, path, f"must be a finite number, got {value!r}", "write a finite number such as 60")


def check_settings(value: Any, path: str, src: str) -> None:
    """A mapping of config keys to scalars, as rendered into properties files and client configs."""
    if not isinstance(value, dict):
        raise fail(src, path, f"must be a mapping of settings, got {kind_of(value)}", "write `key: value` lines")
    for key, item in value.items():
        if not isinstance(key, str) or not CONFIG_KEY.fullmatch(key):
            raise fail(src, f"{path}.{key}", "is not a config key name",
                       "use letters, digits, '.', '_' and '-' only")
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            check_number(item, f"{path}.{key}", src)
        elif isinstance(item, str):
            check_value(item, LINE, f"{path}.{key}", src)
        elif not isinstance(item, bool):
            raise fail(src, f"{path}.{key}", f"must be text, a number or a boolean, got {kind_of(item)}",
                       "write a single value")

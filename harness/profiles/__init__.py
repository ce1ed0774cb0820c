"""Platform profiles: YAML files that describe a platform, its topics, clients and budgets.

A profile is found by name among the shipped ones (this folder), in ``./profiles/``, or
by path. Unknown or mistyped keys are rejected with an error that names the key.
Scenarios read only the profile, so other Kafka-compatible platforms fit by adding a
``platform.kind`` and a file, not by changing scenarios.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.platform.config import FlinkSettings, PlatformConfig

SHIPPED = Path(__file__).parent
KINDS = ("kafka", "kafka-tiered", "tansu", "automq")


class ProfileError(ValueError):
    pass


@dataclass
class Profile:
    name: str
    description: str
    kind: str
    platform: PlatformConfig
    topic: dict[str, Any]
    producer: dict[str, Any]
    consumer: dict[str, Any]
    budgets: dict[str, float]
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def partitions(self) -> int:
        return int(self.topic.get("partitions", 3))

    @property
    def replication_factor(self) -> int:
        return int(self.topic.get("replication_factor", 3))

    @property
    def topic_config(self) -> dict[str, str]:
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.topic.get("config", {}).items()}

    def producer_config(self) -> dict[str, Any]:
        return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in self.producer.items()}


SCHEMA: dict[str, Any] = {
    "name": str, "description": str,
    "platform": {"kind": str, "zones": list, "images": dict, "broker_config": dict, "kafka_heap": str,
                 "flink": {"taskmanagers": int, "slots": int, "jobmanager_memory": str,
                           "taskmanager_memory": str, "bucket": str, "extra": dict},
                 "flink_zone": str, "port_base": int, "broker_disk_mb": int, "startup_timeout": (int, float), "image_hint": str},
    "topic": {"partitions": int, "replication_factor": int, "config": dict},
    "quotas": dict,
    "clients": {"producer": dict, "consumer": dict},
    "budgets": {"recovery_seconds": (int, float), "backfill_p99_ratio": (int, float),
                "max_redelivery": int},
}


def _validate(data: Any, schema: dict, where: str, src: str) -> None:
    if not isinstance(data, dict):
        raise ProfileError(f"{src}: `{where or 'top level'}` must be a mapping")
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in schema:
            raise ProfileError(f"{src}: unknown key `{path}`; allowed here: {', '.join(schema)}")
        expected = schema[key]
        if isinstance(expected, dict):
            _validate(value, expected, path, src)
        elif not isinstance(value, expected) or isinstance(value, bool) and expected in (int, (int, float)):
            name = expected.__name__ if isinstance(expected, type) else "number"
            raise ProfileError(f"{src}: `{path}` must be a {name}, got {value!r}")


def find(name_or_path: str) -> Path:
    p = Path(name_or_path)
    candidates = [p] if p.suffix in (".yaml", ".yml") else [
        Path("profiles") / f"{name_or_path}.yaml", SHIPPED / f"{name_or_path}.yaml"]
    for c in candidates:
        if c.is_file():
            return c
    raise ProfileError(f"profile `{name_or_path}` not found; known profiles: {', '.join(available())} "
                       "(or give a path to a .yaml file)")


def available() -> list[str]:
    names = {f.stem for f in SHIPPED.glob("*.yaml")}
    if Path("profiles").is_dir():
        names |= {f.stem for f in Path("profiles").glob("*.yaml")}
    return sorted(names)


def load(name_or_path: str) -> Profile:
    path = find(name_or_path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    return from_dict(data, str(path), path)


def from_dict(data: dict, src: str = "<profile>", path: Path | None = None) -> Profile:
    _validate(data, SCHEMA, "", src)
    for required in ("name", "platform"):
        if required not in data:
            raise ProfileError(f"{src}: missing key `{required}`")
    plat = data["platform"]
    kind = plat.get("kind", "kafka")
    if kind not in KINDS:
        raise ProfileError(f"{src}: `platform.kind` is {kind!r}; one of {', '.join(KINDS)}")
    zones = tuple(str(z) for z in plat.get("zones", ("a", "b", "c")))
    if len(zones) != len(set(zones)) or not zones:
        raise ProfileError(f"{src}: `platform.zones` must be distinct zone names, got {list(zones)}")
    cfg = PlatformConfig(name=data["name"], kind=kind, zones=zones, images=dict(plat.get("images", {})),
                         broker_config=dict(plat.get("broker_config", {})),
                         flink=FlinkSettings(**plat.get("flink", {})),
                         flink_zone=plat.get("flink_zone", zones[0]))
    for key in ("kafka_heap", "port_base", "startup_timeout", "broker_disk_mb"):
        if key in plat:
            setattr(cfg, key, plat[key])
    if cfg.flink_zone not in zones:
        raise ProfileError(f"{src}: `platform.flink_zone` {cfg.flink_zone!r} is not one of the zones {list(zones)}")
    clients = data.get("clients", {})
    budgets = {"recovery_seconds": 60.0, "backfill_p99_ratio": 2.0, "max_redelivery": 100000,
               **data.get("budgets", {})}
    return Profile(name=data["name"], description=data.get("description", ""), kind=kind, platform=cfg,
                   topic=dict(data.get("topic", {})), producer=dict(clients.get("producer", {})),
                   consumer=dict(clients.get("consumer", {})), budgets=budgets,
                   quotas={str(k): dict(v) for k, v in data.get("quotas", {}).items()}, source=path, raw=data)


def images_from_env(value: str | None) -> dict[str, str]:
    """Parse CHAOS_IMAGES, e.g. ``kafka=apache/kafka:4.1.1,flink=public``."""
    out: dict[str, str] = {}
    for item in filter(None, (value or "").split(",")):
        role, sep, image = item.partition("=")
        if not sep or not image:
            raise ProfileError(f"CHAOS_IMAGES: `{item}` must look like role=image (e.g. kafka=apache/kafka:4.1.1)")
        out[role.strip()] = image.strip()
    return out

"""Platform profiles: YAML files that describe a platform, its topics, clients and budgets.

A profile is found by name among the shipped ones (this folder), in ``./profiles/``, or
by path. A profile is checked completely before anything starts (``schema`` for keys and
types, ``rules`` for values); each problem is one ``ProfileError`` line naming the file and
the key. ``secrets_env`` lists environment variables whose values are masked in all output.
Scenarios read only the profile, so other Kafka-compatible platforms fit by adding a
``platform.kind`` and a file, not by changing scenarios.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfchaos import redact
from kfchaos.platform import flavors
from kfchaos.platform.config import FlinkSettings, PlatformConfig
from kfchaos.yamlfile import read_yaml

from .rules import SAFE_NAME, check_all, check_images
from .schema import SCHEMA, ProfileError, validate

__all__ = ["Profile", "ProfileError", "SCHEMA", "available", "find", "from_dict", "images_from_env", "load"]

SHIPPED = Path(__file__).parent
KINDS = flavors.KINDS        # the one registry of platform kinds
MAX_BYTES = 256 * 1024


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
    job: Any = None                      # a team's own Flink job (kfchaos.flink.userjob.UserJob)
    workload: dict[str, Any] = field(default_factory=dict)   # load defaults (kfchaos.workload.WorkloadSpec)
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

    @property
    def prices(self) -> dict[str, float]:
        """Per-GB prices of traffic (``platform.cost``), for the traffic figures; none built in."""
        return {k: float(v) for k, v in ((self.raw.get("platform") or {}).get("cost") or {}).items()}

    def producer_config(self) -> dict[str, Any]:
        return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in self.producer.items()}


def find(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml") and not SAFE_NAME.fullmatch(name_or_path):
        raise ProfileError(f"profile `{name_or_path}` is neither a profile name nor a .yaml path; "
                           f"known profiles: {', '.join(available())}")
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
    """Find, read and check a profile; registers the secrets it names with the redactor."""
    path = find(name_or_path)
    profile = from_dict(read_document(path), str(path), path)
    register_secrets(profile)
    return profile


def read_document(path: Path) -> Any:
    """The parsed YAML of a profile file, or one ProfileError line."""
    return read_yaml(path, ProfileError, "profile", MAX_BYTES)


def from_dict(data: Any, src: str = "<profile>", path: Path | None = None) -> Profile:
    validate(data, SCHEMA, "", src)
    kind = data.get("platform", {}).get("kind", "kafka")
    if "platform" in data and kind not in KINDS:
        raise ProfileError(f"{src}: `platform.kind` is {kind!r}; use one of {', '.join(KINDS)}")
    zones = check_all(data, kind, src)
    plat = data["platform"]
    cfg = PlatformConfig(name=data["name"], kind=kind, zones=zones, images=dict(plat.get("images", {})),
                         versions=dict(plat.get("versions", {})), upgrade=dict(plat.get("upgrade", {})),
                         broker_config=dict(plat.get("broker_config", {})),
                         flink=FlinkSettings(**plat.get("flink", {})),
                         flink_zone=plat.get("flink_zone", zones[0]))
    for key in ("kafka_heap", "port_base", "startup_timeout", "broker_disk_mb"):
        if key in plat:
            setattr(cfg, key, plat[key])
    if "security" in plat:
        from kfchaos.platform.security import SecuritySettings
        cfg.security = SecuritySettings(**plat["security"])
    clients = data.get("clients", {})
    budgets = {"recovery_seconds": 60.0, "backfill_p99_ratio": 2.0, "max_redelivery": 100000,
               "replay_baseline_p99_ms": 1000.0, "replay_p99_allowance_ms": 1000.0,
               **data.get("budgets", {})}
    job = None
    if "job" in data:
        from kfchaos.flink.userjob import from_dict as job_from_dict
        job = job_from_dict(data["job"], src, path.parent if path else None)
    return Profile(name=data["name"], description=data.get("description", ""), kind=kind, platform=cfg,
                   topic=dict(data.get("topic", {})), producer=dict(clients.get("producer", {})),
                   consumer=dict(clients.get("consumer", {})), budgets=budgets,
                   quotas={str(k): dict(v) for k, v in data.get("quotas", {}).items()}, job=job,
                   workload=dict(data.get("workload", {})), source=path, raw=data)


def register_secrets(profile: Profile) -> None:
    """Values of secret-looking client and broker settings, and of the env vars in ``secrets_env``."""
    redact.register_env(profile.raw.get("secrets_env", []))
    plat = profile.platform
    for settings in (profile.producer, profile.consumer, plat.broker_config, plat.flink.extra, profile.topic_config):
        for key, value in settings.items():
            if redact.is_secret_key(key):
                redact.register_secret(value)


def images_from_env(value: str | None) -> dict[str, str]:
    """Parse CHAOS_IMAGES, e.g. ``kafka=apache/kafka:4.1.1,flink=public``; roles must be known."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (value or "").split(","))):
        role, sep, image = (p.strip() for p in item.partition("="))
        if not sep or not role or not image:
            raise ProfileError(f"CHAOS_IMAGES: `{item}` must look like role=image (e.g. kafka=apache/kafka:4.1.1)")
        try:
            check_images({role: image}, "images", "CHAOS_IMAGES")
        except ProfileError as exc:
            raise ProfileError(str(exc).replace("CHAOS_IMAGES: `images.", "CHAOS_IMAGES: `", 1)) from None
        if role in out:
            raise ProfileError(f"CHAOS_IMAGES: role `{role}` is given twice; keep one role=image per role")
        out[role] = image
    return out

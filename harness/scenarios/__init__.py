"""The scenario registry: every certification scenario, declared as data, by name.

A scenario module defines ``SCENARIO = Scenario(...)`` (see :mod:`harness.scenario`); the
registry imports the modules listed in ``MODULES`` (no file globbing, no source parsing),
so the name is at once the CLI name (``chaos certify --scenario NAME``), the pytest id and
the report label. Whether a scenario applies to a platform kind is one question: its
``requires``/``only_with`` capabilities against the kind's (``Flavor.missing``).
"""
from __future__ import annotations

from importlib import import_module

from harness.scenario import Scenario

MODULES = ("smoke", "kill_leader", "controller_failover", "isolated_leader", "zone_isolation", "rolling_restart",
           "random_faults", "flink_taskmanager_kill", "object_storage_outage", "object_storage_slowness",
           "bad_deploy_rollback", "backfill_isolation", "broker_storage_outage", "zone_lost_with_disk", "disk_full")


class UnknownScenario(KeyError):
    pass


def _load() -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for mod in MODULES:
        s = import_module(f"{__name__}.{mod}").SCENARIO
        if s.name in out:
            raise RuntimeError(f"two scenarios are named {s.name!r}")
        out[s.name] = s
    return out


REGISTRY: dict[str, Scenario] = _load()


def get(name: str) -> Scenario:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownScenario(f"unknown scenario {name!r}; `chaos list` shows them") from None


def for_kind(flavor, cfg=None) -> tuple[list[str], dict[str, str]]:
    """The scenarios of a full certification of a platform kind (and its configuration), and
    those left out with the reason (a scenario whose ``only_with`` capability the platform
    lacks: an S3 outage under broker-local Kafka cannot touch the brokers; a disk-full fault
    needs bounded disks). A left-out scenario still runs when asked for by name."""
    from harness.scenario import missing_capability
    chosen, left = [], {}
    for name, s in REGISTRY.items():
        reason = missing_capability(flavor, cfg, *s.only_with) if s.only_with else None
        if reason:
            left[name] = reason
        else:
            chosen.append(name)
    return chosen, left

"""Removes what runs left behind: containers, networks, volumes, loop devices and disk images.

Resources are grouped per (owner host, run id). A group whose owner lives is kept (unless
``all_runs``); a group of another host is never touched and reported as foreign. An API
error on one resource is recorded and the rest still removed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import docker

from . import disks
from .owners import ALIVE, DEAD, FOREIGN, LABEL_HOST, LABEL_RUN, owner_state

log = logging.getLogger("chaos.platform")
KINDS = ("container", "network", "volume")       # removal order: users before what they use


@dataclass
class CleanReport:
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)     # "<what>: <why>", each still there
    foreign: list[str] = field(default_factory=list)    # of another host: left alone
    kept: list[str] = field(default_factory=list)       # of a live run: left alone

    def add(self, other: "CleanReport") -> None:
        for name in ("removed", "failed", "foreign", "kept"):
            getattr(self, name).extend(getattr(other, name))


@dataclass
class Resource:
    kind: str
    name: str
    labels: dict
    obj: Any

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


def _labels(kind: str, obj) -> dict:
    if kind == "container":
        return obj.labels or {}
    return obj.attrs.get("Labels") or {}


def list_resources(client, selector: str, report: CleanReport) -> list[Resource]:
    collections = {"container": lambda: client.containers.list(all=True, filters={"label": selector}),
                   "network": lambda: client.networks.list(filters={"label": selector}),
                   "volume": lambda: client.volumes.list(filters={"label": selector})}
    found = []
    for kind in KINDS:
        try:
            found += [Resource(kind, o.name, _labels(kind, o), o) for o in collections[kind]()]
        except docker.errors.DockerException as exc:
            report.failed.append(f"listing {kind}s: {exc}")
    return found


def _remove_one(res: Resource, report: CleanReport) -> None:
    try:
        if res.kind == "container":
            res.obj.remove(force=True, v=True)
        elif res.kind == "volume":
            res.obj.remove(force=True)
        else:
            res.obj.remove()
        report.removed.append(res.label)
    except docker.errors.NotFound:
        pass
    except docker.errors.DockerException as exc:
        report.failed.append(f"{res.label}: {getattr(exc, 'explanation', None) or exc}")


def remove_group(resources: list[Resource], run_id: str) -> CleanReport:
    report = CleanReport()
    for kind in KINDS:
        for res in (r for r in resources if r.kind == kind):
            _remove_one(res, report)
    removed, failed = disks.release_disks(run_id)
    report.removed += removed
    report.failed += failed
    from .security import remove_private_dirs      # certificates of a run that never reached its stop
    report.removed += remove_private_dirs(run_id)
    return report


def remove_resources(client, run_id: str) -> CleanReport:
    """Everything of one run, whoever owns it (the run's own stop)."""
    report = CleanReport()
    found = list_resources(client, f"{LABEL_RUN}={run_id}", report)
    report.add(remove_group(found, run_id))
    return report


def _group_state(resources: list[Resource]) -> str:
    states = {owner_state(r.labels) for r in resources}
    return FOREIGN if FOREIGN in states else ALIVE if ALIVE in states else DEAD


def clean_dead_runs(all_runs: bool = False, client=None, run_id: str | None = None) -> CleanReport:
    """Remove every resource of dead runs of this host (of all its runs if all_runs; of the one
    run ``run_id`` if given)."""
    report = CleanReport()
    client = client or docker.from_env()
    groups: dict[tuple[str, str], list[Resource]] = {}
    for res in list_resources(client, f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN, report):
        groups.setdefault((res.labels.get(LABEL_HOST, ""), res.labels.get(LABEL_RUN, "")), []).append(res)
    judged = {}
    for (host, rid), resources in groups.items():
        judged[rid] = _judge(rid, host, _group_state(resources), resources, all_runs, report)
    for rid, owner in disks.run_dirs().items():
        if rid not in judged and run_id in (None, rid):     # disks whose Docker resources are gone
            state = owner_state(owner) if owner else DEAD
            _judge(rid, owner.get(LABEL_HOST, "?"), state, [], all_runs, report)
    return report


def _judge(run_id: str, host: str, state: str, resources: list[Resource], all_runs: bool,
           report: CleanReport) -> str:
    names = [r.label for r in resources] or [f"disks of run {run_id}"]
    if state == FOREIGN:
        report.foreign += [f"{n} (run {run_id} of host {host})" for n in names]
    elif state == ALIVE and not all_runs:
        report.kept += names
    else:
        report.add(remove_group(resources, run_id))
    return state

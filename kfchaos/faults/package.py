"""A fault package: every fact about one fault in one place (no fault is injected here).

Each fault module declares, next to its fault classes, a ``PACKAGES`` tuple of
``FaultPackage``: the class, the target forms it accepts, the forms a random schedule
draws from (its menu), the platform capabilities it needs, its report colour and its
own parameter check. ``kfchaos.faults.registry`` collects them into one registry.

Target forms are strings with placeholders, matched against a spec's target and
expanded into a schedule menu for the platform's zones:

- ``{zone}``: one zone, e.g. ``zone:{zone}`` -> ``zone:a``, ``zone:b``, ...
- ``{pair}``: two distinct zones ``<src>-<dst>``, e.g. ``a-b``;
- ``{topic}``: a Kafka topic name; ``{partition}``: a partition number.

The empty target always means the fault's ``default_target``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from typing import Callable, Sequence

from .base import Fault, FaultSpec

# Capabilities a target role relies on, whatever the fault (role = text before the first ':').
TARGET_NEEDS: dict[str, tuple[str, ...]] = {
    "controller": ("controller-quorum",),
    "leader": ("partition-leader",),
}

# Every form the broker-process faults accept (see kfchaos.faults.targets.resolve).
BROKER_TARGETS = ("random", "controller", "all", "zone:{zone}", "broker:{zone}", "leader:{topic}:{partition}")

_TOKEN = re.compile(r"\{(zone|pair|topic|partition)\}")
_PATTERNS = {"zone": r"[A-Za-z0-9_.-]+", "pair": r"[A-Za-z0-9_.-]+-[A-Za-z0-9_.-]+",
             "topic": r"[A-Za-z0-9._-]+", "partition": r"\d+"}

# Report colours by family. Every fault window was drawn in #cf222e before colours were per
# fault, so broker process faults (the most common) keep it, as does any unknown name.
DEFAULT_COLOUR = "#cf222e"
PALETTE = {
    "process": DEFAULT_COLOUR,   # kill, pause, freeze, restarts
    "flink": "#bc4c00",          # Flink process kills
    "storage": "#7d4e00",        # broker disks: full, replaced
    "partition": "#6639ba",      # iptables cuts between zones or to object storage
    "network": "#0550ae",        # latency, loss, bandwidth between zones
    "client": "#1b7c83",         # Toxiproxy on client paths
    "s3": "#9e6a03",             # Toxiproxy on object-storage paths
    "load": "#bf3989",           # extra load (backfill)
}

ParamsCheck = Callable[[dict, "Sequence[str] | None"], "str | None"]


def _regex(form: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _TOKEN.finditer(form):
        out.append(re.escape(form[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>{_PATTERNS[m.group(1)]})")
        pos = m.end()
    out.append(re.escape(form[pos:]))
    return re.compile("".join(out) + r"\Z")


def split_pair(text: str, zones: Sequence[str] | None) -> tuple[str, str] | None:
    """``a-b`` as two distinct zones (tries every '-' so zone names may contain one)."""
    for i, ch in enumerate(text):
        if ch == "-":
            src, dst = text[:i], text[i + 1:]
            if src and dst and src != dst and (zones is None or (src in zones and dst in zones)):
                return src, dst
    return None


def form_matches(form: str, target: str, zones: Sequence[str] | None) -> bool:
    """Does ``target`` fit ``form``? With ``zones`` None, any zone name fits (shape only)."""
    m = _regex(form).match(target)
    if m is None:
        return False
    groups = m.groupdict()
    if "zone" in groups and zones is not None and groups["zone"] not in zones:
        return False
    return "pair" not in groups or split_pair(groups["pair"], zones) is not None


def zone_pairs_menu(zones: Sequence[str]) -> list[str]:
    """Neighbouring pairs first (a-b, b-c), then the others (a-c): a stable menu order."""
    near = [(zones[i], zones[i + 1]) for i in range(len(zones) - 1)]
    rest = [p for p in combinations(zones, 2) if p not in near]
    return [f"{s}-{d}" for s, d in near + rest]


def expand(form: str, zones: Sequence[str]) -> list[str]:
    """The concrete targets of one menu form for these zones."""
    if "{pair}" in form:
        return [form.replace("{pair}", p) for p in zone_pairs_menu(zones)]
    if "{zone}" in form:
        return [form.replace("{zone}", z) for z in zones]
    if _TOKEN.search(form):
        raise ValueError(f"menu form {form!r} cannot be expanded without a topic or partition")
    return [form]


@dataclass(frozen=True)
class FaultPackage:
    """One fault: its class and what the nemesis, schedules, flavors and reports need to know."""
    cls: type[Fault]
    targets: tuple[str, ...]             # accepted target forms ("" is always accepted)
    menu: tuple[str, ...] = ()           # forms a random schedule draws from; () = not drawn by default
    needs: tuple[str, ...] = ()          # platform capabilities the fault relies on, whatever the target
    colour: str = DEFAULT_COLOUR         # report colour of its fault windows (see PALETTE)
    family: str = ""                     # what kind of fault, for humans: process, network, ...
    check_params: ParamsCheck | None = None   # (params, zones or None) -> problem or None

    @property
    def name(self) -> str:
        return self.cls.name

    def accepts(self, target: str, zones: Sequence[str] | None = None) -> bool:
        return target == "" or any(form_matches(f, target, zones) for f in self.targets)

    def menu_targets(self, zones: Sequence[str]) -> list[str]:
        return [t for form in self.menu for t in expand(form, zones)]

    def requirements(self, target: str) -> tuple[str, ...]:
        """Capabilities a spec with this target needs (the fault's, then its target role's)."""
        role = (target or self.cls.default_target).partition(":")[0]
        return self.needs + tuple(n for n in TARGET_NEEDS.get(role, ()) if n not in self.needs)

    def problem(self, spec: FaultSpec, zones: Sequence[str] | None = None) -> str | None:
        """What is wrong with a spec of this fault (target, params), or None."""
        if not self.accepts(spec.target, zones):
            where = f" with zones {list(zones)}" if zones is not None else ""
            return (f"target {spec.target!r} is not one {self.name} accepts{where}; "
                    f"use one of {', '.join(self.targets)} (or \"\" for {self.cls.default_target or 'none'})")
        if self.check_params is not None:
            return self.check_params(spec.params, zones)
        return None

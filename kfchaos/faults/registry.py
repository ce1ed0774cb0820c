"""Every fault by name: the name is the test id, the CLI/schedule name and the report label.

One registry of fault packages (``kfchaos.faults.package``), collected from the modules
that declare them next to their fault classes. It answers, per fault name: the class
(``create``), the targets it accepts and a random schedule's menu (``package``), the
platform capabilities a spec needs (``requirements``) and the report colour (``colour``).
No fault is injected here.
"""
from __future__ import annotations

from typing import Sequence

from . import degrade, disk, egress, load, partition, process, replace, toxics, upgrade
from .base import Fault, FaultError, FaultSpec
from .package import DEFAULT_COLOUR, FaultPackage

_MODULES = (process, replace, disk, partition, degrade, egress, load, toxics, upgrade)

PACKAGES: dict[str, FaultPackage] = {}
for _module in _MODULES:
    for _pkg in _module.PACKAGES:
        if _pkg.name in PACKAGES:
            raise RuntimeError(f"fault {_pkg.name!r} is declared twice ({_module.__name__})")
        PACKAGES[_pkg.name] = _pkg

# Name -> class, as before packages existed.
FAULTS: dict[str, type[Fault]] = {name: pkg.cls for name, pkg in PACKAGES.items()}


def known() -> list[str]:
    return sorted(PACKAGES)


def package(name: str) -> FaultPackage:
    pkg = PACKAGES.get(name)
    if pkg is None:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(known())}")
    return pkg


def create(platform, spec: FaultSpec, rng) -> Fault:
    """The fault's class, or the platform's own for it (a Kubernetes target's Chaos Mesh faults)."""
    own = getattr(platform, "fault_class", None)
    cls = (own(spec.fault) if callable(own) else None) or package(spec.fault).cls
    return cls(platform, spec, rng)


def colour(fault_name: str) -> str:
    """The report colour (``#rrggbb``) of a fault's windows; unknown names get the default."""
    pkg = PACKAGES.get(fault_name)
    return pkg.colour if pkg is not None else DEFAULT_COLOUR


def requirements(spec: FaultSpec) -> tuple[str, ...]:
    """Platform capabilities a spec relies on (the fault's own, then its target role's).
    An unknown fault needs nothing here; creating it fails with the list of known ones."""
    pkg = PACKAGES.get(spec.fault)
    return pkg.requirements(spec.target) if pkg is not None else ()


def default_menu() -> list[str]:
    """Faults a random schedule draws from when no menu is given."""
    return sorted(name for name, pkg in PACKAGES.items() if pkg.menu)


def menu_targets(name: str, zones: Sequence[str]) -> list[str]:
    """The targets a random schedule may give ``name`` ([""] when it has no menu: the default)."""
    pkg = PACKAGES.get(name)
    return (pkg.menu_targets(zones) if pkg is not None and pkg.menu else None) or [""]

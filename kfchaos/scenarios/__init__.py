"""The scenario registry: every certification scenario, declared as data, by name.

A scenario module defines ``SCENARIO = Scenario(...)`` (see :mod:`kfchaos.scenario`); the
registry imports the modules listed in ``MODULES`` (no file globbing, no source parsing),
so the name is at once the CLI name (``kfchaos certify --scenario NAME``), the pytest id and
the report label. Whether a scenario applies to a platform kind is one question: its
``requires``/``only_with`` capabilities against the kind's (``Flavor.missing``).

``DEFAULT`` is the shipped Python scenarios: a full certification chooses among those only.
Other scenarios join ``REGISTRY`` by ``register(scenario)`` or ``load_dir(path)`` (a user's
Python modules and YAML files, :mod:`kfchaos.scenarios.yaml_scenarios`); they run when
asked for by name, or as the pool of ``for_kind(..., names=...)``. The YAML twins of some
shipped scenarios (``DATA_DIR``, e.g. ``kill-leader-yaml``) are found by ``get`` but stay
out of ``REGISTRY``, so they never join a default certification or ``kfchaos list``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
from importlib import import_module
from pathlib import Path

from kfchaos.scenario import Scenario

MODULES = ("smoke", "kill_leader", "controller_failover", "isolated_leader", "zone_isolation", "rolling_restart",
           "random_faults", "flink_taskmanager_kill", "object_storage_outage", "object_storage_slowness",
           "bad_deploy_rollback", "backfill_isolation", "broker_storage_outage", "zone_lost_with_disk", "disk_full",
           "jobmanager_failover", "rolling_upgrade", "load_ramp", "access_control", "flink_upgrade",
           "upgrade_rollback", "scale_out_in", "soak")

#: the YAML twins of shipped scenarios (not part of a default certification)
DATA_DIR = Path(__file__).resolve().parent / "data"
YAML_SUFFIXES = (".yaml", ".yml")

log = logging.getLogger("chaos.scenarios")


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
DEFAULT: tuple[str, ...] = tuple(REGISTRY)
#: where each registered scenario came from (a module name or a file path)
SOURCES: dict[str, str] = {name: f"{__name__}.{mod}" for name, mod in zip(DEFAULT, MODULES)}


def register(scenario: Scenario, *, source: str | None = None) -> Scenario:
    """Add ``scenario`` to the registry (``get``, ``Certification.run`` and ``kfchaos certify
    --scenario`` find it by name). Registering the same name again from the same source
    replaces it (a file loaded twice); from another source it is a ValueError."""
    if not isinstance(scenario, Scenario):
        raise ValueError(f"{source or '<register>'}: {scenario!r} is not a kfchaos.scenario.Scenario")
    source = (source or getattr(scenario.steps, "source", None) or getattr(scenario.steps, "__module__", None)
              or "<register>")
    known = SOURCES.get(scenario.name)
    if scenario.name in REGISTRY and known != source:
        raise ValueError(f"{source}: scenario name {scenario.name!r} is taken (by {known}); give it another name")
    REGISTRY[scenario.name] = scenario
    SOURCES[scenario.name] = source
    return scenario


def unregister(name: str) -> None:
    """Remove a scenario that was registered (the shipped Python ones stay)."""
    if name in DEFAULT:
        raise ValueError(f"{name!r} is a shipped scenario and cannot be removed")
    REGISTRY.pop(name, None)
    SOURCES.pop(name, None)


def get(name: str) -> Scenario:
    """A registered scenario, or a shipped YAML twin (which stays out of ``REGISTRY``)."""
    try:
        return REGISTRY[name]
    except KeyError:
        pass
    twin = shipped_yaml().get(name)
    if twin is not None:
        return twin
    raise UnknownScenario(f"unknown scenario {name!r}; `kfchaos list` shows them") from None


_SHIPPED_YAML: dict[str, Scenario] | None = None


def shipped_yaml() -> dict[str, Scenario]:
    """The shipped YAML twins (e.g. ``kill-leader-yaml``), loaded once, not registered:
    ``get`` finds them by name; ``REGISTRY`` and a default certification do not hold them."""
    global _SHIPPED_YAML
    if _SHIPPED_YAML is None:
        _SHIPPED_YAML = load_dir(DATA_DIR, register_them=False) if DATA_DIR.is_dir() else {}
    return _SHIPPED_YAML


def _scenario_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ValueError(f"{path}: no such file or directory; give a directory of scenario modules (.py) "
                         "and files (.yaml), or one of them")
    out = []
    for f in sorted(path.iterdir()):
        if not f.is_file() or f.name.startswith((".", "_")):
            continue
        if f.suffix in YAML_SUFFIXES:
            out.append(f)
        elif f.suffix == ".py" and not (f.name.startswith("test_") or f.name.endswith("_test.py")
                                        or f.name == "conftest.py"):
            out.append(f)
    return out


def _module_scenarios(path: Path) -> list[Scenario]:
    """The Scenario(s) a Python file defines: ``SCENARIO`` or ``SCENARIOS`` (a list)."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    modname = f"_chaos_user_scenarios_{digest}_{path.stem.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: cannot be imported as a Python module; name it <something>.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(modname, None)
        raise ValueError(f"{path}: importing it failed: {type(exc).__name__}: {exc}".replace("\n", " ")) from exc
    found = []
    if hasattr(module, "SCENARIO"):
        found.append(module.SCENARIO)
    found += list(getattr(module, "SCENARIOS", ()) or ())
    if not found:
        raise ValueError(f"{path}: defines no SCENARIO; add `SCENARIO = Scenario(name, __doc__, contracts, steps)` "
                         "(kfchaos.scenario.Scenario)")
    bad = [s for s in found if not isinstance(s, Scenario)]
    if bad:
        raise ValueError(f"{path}: SCENARIO is a {type(bad[0]).__name__}, not a kfchaos.scenario.Scenario")
    return found


def load_dir(path: str | Path, *, register_them: bool = True) -> dict[str, Scenario]:
    """The scenarios of a directory (its ``*.py`` modules, except ``_*``, ``test_*`` and
    ``conftest.py``, and its ``*.yaml``/``*.yml`` files; not recursive) or of one file,
    checked, by name, and registered unless ``register_them`` is false. A bad file or a name
    clash is one ValueError line naming the file and the field."""
    from .yaml_scenarios import check_scenario, load_file
    path = Path(path)
    out: dict[str, Scenario] = {}
    for f in _scenario_files(path):
        if f.suffix in YAML_SUFFIXES:
            found = [load_file(f)]
        elif f.suffix == ".py":
            found = _module_scenarios(f)
        else:
            raise ValueError(f"{f}: is neither a Python module (.py) nor a YAML scenario (.yaml)")
        for s in found:
            check_scenario(s, str(f))
            if s.name in out:
                raise ValueError(f"{f}: scenario name {s.name!r} is also used by {SOURCES.get(s.name, 'another file')}"
                                 "; give each scenario its own name")
            if register_them:
                register(s, source=str(f))
            out[s.name] = s
    log.debug("loaded %d scenarios from %s", len(out), path)
    return out


def for_kind(flavor, cfg=None, names=None) -> tuple[list[str], dict[str, str]]:
    """The scenarios of a full certification of a platform kind (and its configuration), and
    those left out with the reason (a scenario whose ``only_with`` capability the platform
    lacks: an S3 outage under broker-local Kafka cannot touch the brokers; a disk-full fault
    needs bounded disks). A left-out scenario still runs when asked for by name. The pool is
    ``DEFAULT`` (the shipped Python scenarios) unless ``names`` (e.g. those ``load_dir``
    returned) is given."""
    from kfchaos.scenario import missing_capability
    chosen, left = [], {}
    for name in (DEFAULT if names is None else list(names)):
        s = get(name)
        reason = missing_capability(flavor, cfg, *s.only_with) if s.only_with else None
        if reason:
            left[name] = reason
        else:
            chosen.append(name)
    return chosen, left

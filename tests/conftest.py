"""How the suite is split between pytest-xdist workers (``./run.sh test`` runs two, with
``--dist loadscope --no-loadscope-reorder``).

Every module that uses the session platform (the harness's ``platform`` fixture, directly
or through another fixture) is listed in :data:`SESSION_PLATFORM_MODULES`; together they
are one unit of work, so that platform starts once, on one worker. Every other test module
is a unit of its own, so a module-scoped platform of its own starts once too. The two
workers therefore run at most two of the suite's platforms at a time (three during the
migration rehearsal, which brings two). ``tests/unit/test_suite_split.py`` checks the list
against the fixtures each test really uses.

The split is a scheduler of our own (xdist's ``pytest_xdist_make_scheduler`` hook) rather
than ``xdist_group`` markers: xdist 3.8 groups by rewriting ``Item._nodeid``, which pytest
9.2 no longer reads, so the markers silently split a group across workers.

Units are handed out in collection order, which is set here to longest first: the session
platform's modules, the system tests, the other integration modules and the unit tests,
which fill the gaps at the end. Run without ``-n`` only the order changes.
"""
from __future__ import annotations

import pytest

SESSION_PLATFORM_UNIT = "session-platform"

#: the modules whose tests use the session platform (one unit of work)
SESSION_PLATFORM_MODULES = frozenset(f"tests/integration/{name}.py" for name in (
    "test_clients", "test_faults", "test_flink_pipeline", "test_load_ramp", "test_platform",
    "test_recorded_load", "test_soak", "test_traffic"))


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def unit_of(nodeid: str) -> str:
    """The unit of work of a test: the session platform's, or its own module."""
    module = module_of(nodeid)
    return SESSION_PLATFORM_UNIT if module in SESSION_PLATFORM_MODULES else module


def run_order(unit: str) -> int:
    """Longest units first: the session platform, the system tests (each brings whole
    certifications), the other integration modules, the unit tests."""
    if unit == SESSION_PLATFORM_UNIT:
        return 0
    for rank, prefix in enumerate(("tests/system/", "tests/integration/", "tests/unit/"), start=1):
        if unit.startswith(prefix):
            return rank
    return 4


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: run_order(unit_of(item.nodeid)))     # stable: module order kept within


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With ``--dist loadscope``: xdist's scope scheduler, with our units as its scopes."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SuiteScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return SuiteScheduling(config, log)

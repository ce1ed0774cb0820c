"""How the suite is split between pytest-xdist workers (``./run.sh test`` runs two, with
``--dist loadgroup --no-loadscope-reorder``).

Every module with a test that uses the session platform (the ``platform`` fixture,
directly or through another fixture) runs on one worker, so that platform starts once.
Every other test module is one unit of work, so a module-scoped platform of its own starts
once too. The two workers therefore run at most two of the suite's platforms at a time
(three during the migration rehearsal, which brings two).

Units are handed out in collection order, which is set here to longest first: the session
platform's group, then the system tests, the other integration modules, and the unit
tests, which fill the gaps at the end. Run without ``-n`` the markers change nothing and
the order is the same.
"""
from __future__ import annotations

import pytest

SESSION_PLATFORM_GROUP = "session-platform"


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def uses_session_platform(item: pytest.Item) -> bool:
    return "platform" in getattr(item, "fixturenames", ())


def xdist_groups(items: list[pytest.Item]) -> dict[str, str]:
    """Module path -> its unit of work: the session platform's group or the module itself."""
    shared = {module_of(i) for i in items if uses_session_platform(i)}
    return {module_of(i): SESSION_PLATFORM_GROUP if module_of(i) in shared else module_of(i) for i in items}


def run_order(group: str) -> int:
    """Longest units first: the session platform, the system tests (each brings whole
    certifications), the other integration modules, the unit tests."""
    if group == SESSION_PLATFORM_GROUP:
        return 0
    for rank, prefix in enumerate(("tests/system/", "tests/integration/", "tests/unit/"), start=1):
        if group.startswith(prefix):
            return rank
    return 4


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = xdist_groups(items)
    items.sort(key=lambda i: run_order(groups[module_of(i)]))     # stable: module order kept within
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[module_of(item)]))

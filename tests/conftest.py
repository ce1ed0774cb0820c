"""How the suite is split between pytest-xdist workers (``./run.sh test`` runs two, with
``--dist loadgroup``).

Every test that uses the session platform (the ``platform`` fixture, directly or through
another fixture) runs on one worker, so that platform starts once. Every other test
module is one unit of work, so a module-scoped platform of its own starts once too. The
two workers therefore run at most two platforms of the suite at a time (three during the
migration rehearsal, which brings two). Run without ``-n`` the markers change nothing.
"""
from __future__ import annotations

import pytest

SESSION_PLATFORM_GROUP = "session-platform"


def xdist_group_of(item: pytest.Item) -> str:
    """The unit of work a test belongs to: the session platform's group, or its module."""
    if "platform" in getattr(item, "fixturenames", ()):
        return SESSION_PLATFORM_GROUP
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))

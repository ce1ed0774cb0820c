"""pytest plugin (entry point ``chaos``): options in the ``chaos`` group, markers, the
harness's fixtures (:mod:`kfchaos.pytest_fixtures`), the seed and profile in the output,
and the exact re-run command on failure.

A session that uses none of it is left alone: the options and markers are registered and
the fixtures are available, but nothing else happens (no environment variable set, no
header line, no logging handler, no re-run section, no Docker call) unless the session
*uses* the harness: a ``--chaos-*`` option on the command line (or in addopts), or a
selected test that requests one of the harness's fixtures or carries one of its markers.
Only those tests get the re-run section.
"""
from __future__ import annotations

import os
import random
import shlex
import sys

import pytest

from kfchaos.pytest_fixtures import FIXTURES

pytest_plugins = ["kfchaos.pytest_fixtures"]

MARKERS = {
    "platform": "needs the real container platform (Docker)",
    "fault": "injects a fault into the platform",
    "flink": "runs a Flink job on the platform",
    "scenario": "a certification scenario (recorded workload, fault, checkers)",
}

USED = pytest.StashKey[bool]()           # the session uses the harness
HEADER = pytest.StashKey[bool]()         # the chaos line was printed in the report header
PLATFORM = pytest.StashKey[bool]()       # a platform fixture ran in this session


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("chaos", "Kafka + Flink chaos harness")
    g.addoption("--chaos-profile", default=os.environ.get("CHAOS_PROFILE", "kafka-3az"),
                help="platform profile name or path to a profile file (default: kafka-3az)")
    g.addoption("--chaos-seed", type=int, default=None,
                help="seed for fault schedules and workloads (default: random, printed in the header)")
    g.addoption("--chaos-command", default=None,
                help="the command line recorded in results.json to re-run this certification")
    g.addoption("--chaos-run-dir", default=None,
                help="write this session's run output here instead of a new reports/<time>-<profile>/")
    g.addoption("--chaos-reports", default=os.environ.get("CHAOS_REPORTS_DIR", "reports"),
                help="directory for run output (default: reports/)")
    g.addoption("--chaos-scenarios", action="append", default=[], metavar="DIR",
                help="also register the scenarios (Python modules, YAML files) of DIR or of one file, "
                     "so the certification fixture can run them by name (repeatable)")


def explicit_options(config: pytest.Config) -> bool:
    """Whether a ``--chaos-*`` option was given (command line, PYTEST_ADDOPTS or ini addopts)."""
    args = [str(a) for a in config.invocation_params.args]
    args += shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    try:
        args += [str(a) for a in config.getini("addopts")]
    except (ValueError, KeyError):
        pass
    return any(a.startswith("--chaos-") for a in args)


def item_uses_harness(item: pytest.Item) -> bool:
    """A test that carries one of the harness's markers or requests one of its fixtures
    (directly or through another fixture), the harness's own definition of it, not a
    same-named fixture of the user's."""
    if any(item.get_closest_marker(m) is not None for m in MARKERS):
        return True
    names = set(getattr(item, "fixturenames", ())) & set(FIXTURES)
    if not names:
        return False
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", None)
    if defs is None:
        return True
    for name in names:
        chain = defs.get(name) or ()
        if chain and getattr(getattr(chain[-1], "func", None), "__module__", "") == "kfchaos.pytest_fixtures":
            return True
    return False


def mark_platform_used(config: pytest.Config) -> None:
    """Called by the ``platform`` fixture: the session started (or tried to start) a platform."""
    config.stash[PLATFORM] = True
    _activate(config)


def _activate(config: pytest.Config) -> None:
    if config.stash.get(USED, False):
        return
    config.stash[USED] = True
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    from kfchaos.cli import setup_logging
    setup_logging()


def _header(config: pytest.Config) -> str:
    return f"chaos: profile={config.getoption('--chaos-profile')} seed={config.getoption('--chaos-seed')}"


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")
    if config.getoption("--chaos-seed", None) is None:
        config.option.chaos_seed = random.SystemRandom().randrange(1, 2**31)
    if explicit_options(config):
        _activate(config)
    for path in config.getoption("--chaos-scenarios", None) or []:
        from kfchaos.scenarios import load_dir
        try:
            load_dir(path)
        except (ValueError, OSError) as exc:
            raise pytest.UsageError(f"--chaos-scenarios {path}: {exc}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not config.stash.get(USED, False):
        return []
    config.stash[HEADER] = True
    return [_header(config)]


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if not config.stash.get(USED, False) and any(item_uses_harness(i) for i in session.items):
        _activate(config)
    if config.stash.get(USED, False) and not config.stash.get(HEADER, False):
        config.stash[HEADER] = True
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(_header(config))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not item.config.stash.get(USED, False) or not item_uses_harness(item):
        return
    if report.failed:
        cfg = item.config
        cmd = [sys.executable, "-m", "pytest", item.nodeid, f"--chaos-seed={cfg.getoption('--chaos-seed')}",
               f"--chaos-profile={cfg.getoption('--chaos-profile')}"]
        cmd += [f"--chaos-scenarios={p}" for p in cfg.getoption("--chaos-scenarios") or []]
        report.sections.append(("re-run", " ".join(shlex.quote(c) for c in cmd)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """Nothing of this process may be left running: remove and fail if anything is (only in
    a session that used the harness)."""
    if not session.config.stash.get(USED, False):
        return
    try:
        import docker

        from kfchaos.platform.cleanup import LABEL_PID, remove_run
        client = docker.from_env(timeout=10)
        mine = f"{LABEL_PID}={os.getpid()}"
        left = [c.name for c in client.containers.list(all=True, filters={"label": mine})]
        left += [n.name for n in client.networks.list(filters={"label": mine})]
    except Exception:
        return
    if left:
        runs = {c.labels.get("io.chaos-harness.run") for c in client.containers.list(all=True, filters={"label": mine})}
        runs |= {(n.attrs.get("Labels") or {}).get("io.chaos-harness.run")
                 for n in client.networks.list(filters={"label": mine})}
        for run in filter(None, runs):
            remove_run(run)
        print(f"\nchaos: left behind and now removed: {', '.join(left)}", file=sys.stderr)
        session.exitstatus = 1

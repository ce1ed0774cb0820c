"""pytest plugin (entry point ``chaos``): options in the ``chaos`` group, markers, the
seed and profile in the report header, and the exact re-run command on failure."""
from __future__ import annotations

import os
import random
import shlex
import sys

import pytest

MARKERS = {
    "platform": "needs the real container platform (Docker)",
    "fault": "injects a fault into the platform",
    "flink": "runs a Flink job on the platform",
    "scenario": "a certification scenario (recorded workload, fault, checkers)",
}


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


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    if config.getoption("--chaos-seed", None) is None:
        config.option.chaos_seed = random.SystemRandom().randrange(1, 2**31)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"chaos: profile={config.getoption('--chaos-profile')} seed={config.getoption('--chaos-seed')}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.chaos_call_report = report
    if report.when == "call" and report.failed:
        cfg = item.config
        cmd = [sys.executable, "-m", "pytest", item.nodeid, f"--chaos-seed={cfg.getoption('--chaos-seed')}",
               f"--chaos-profile={cfg.getoption('--chaos-profile')}"]
        report.sections.append(("re-run", " ".join(shlex.quote(c) for c in cmd)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """Nothing of this process may be left running: remove and fail if anything is."""
    try:
        import docker

        from harness.platform.cleanup import LABEL_PID, remove_run
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

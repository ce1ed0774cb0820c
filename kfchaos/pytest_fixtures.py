"""The pytest fixtures of the harness, loaded by its plugin (:mod:`kfchaos.pytest_plugin`).

- ``profile``: the platform profile chosen with --chaos-profile.
- ``run_dir``: the session's run directory (reports/<time>-<profile>/).
- ``platform``: the session's running Platform (started once, removed at session end).
- ``new_topic``: factory for a unique topic with the profile's partitions, RF and configs.
- ``new_bucket``: factory for a unique bucket in the platform's object storage.
- ``certification``: one ``Certification`` for every scenario test of the session; its
  results.json, report.html, summary.md, junit.xml and Allure results are written when the
  session ends, as ``kfchaos certify`` writes them.

Nothing heavy is imported until a fixture runs: a session that uses none of them does not
import Docker or the platform code.
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

#: every fixture this module defines (the plugin's test of "does this test use the harness")
FIXTURES = ("profile", "run_dir", "platform", "new_topic", "new_bucket", "certification")


@pytest.fixture(scope="session")
def profile(pytestconfig):
    """The platform profile (``kfchaos.profiles.Profile``) named by --chaos-profile (a shipped
    name, a file in ./profiles/ or a path), with CHAOS_IMAGES overrides applied."""
    from kfchaos import profiles
    p = profiles.load(pytestconfig.getoption("--chaos-profile"))
    p.platform.images.update(profiles.images_from_env(os.environ.get("CHAOS_IMAGES")))
    return p


@pytest.fixture(scope="session")
def run_dir(pytestconfig, profile) -> Path:
    """The session's run directory: --chaos-run-dir if given, else a new
    <--chaos-reports>/<time>-<profile>/ (container logs are saved there at session end)."""
    given = pytestconfig.getoption("--chaos-run-dir")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return Path(given)
    from kfchaos.rundir import new_run_dir
    return new_run_dir(profile.name, Path(pytestconfig.getoption("--chaos-reports")))


@pytest.fixture(scope="session")
def platform(pytestconfig, profile, run_dir):
    """The running platform of the profile (brokers, object storage, Flink, Toxiproxies in
    Docker), started once per session; its logs are saved to run_dir/logs and every
    container and network is removed when the session ends."""
    from kfchaos.pytest_plugin import mark_platform_used
    mark_platform_used(pytestconfig)
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")   # before testcontainers is imported
    from kfchaos.platform.platform import Platform
    plat = Platform(profile.platform, log_dir=run_dir / "logs")
    plat.start()
    try:
        yield plat
    finally:
        try:
            plat.save_logs(run_dir / "logs")
        finally:
            plat.stop()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:60].strip("-")


def create_topic(platform, profile, name: str, partitions: int | None = None, config: dict | None = None,
                 replication_factor: int | None = None) -> str:
    """Create ``name`` with the profile's partitions, replication factor and topic configs
    (each overridable); returns the name."""
    from kfchaos.platform import topics
    return topics.create_topic(platform, name, partitions or profile.partitions,
                               replication_factor or profile.replication_factor,
                               {**profile.topic_config, **(config or {})})


@pytest.fixture
def new_topic(platform, profile, request):
    """Factory: ``new_topic(suffix="", partitions=None, config=None, replication_factor=None)``
    creates a topic named after the test (the profile's settings unless overridden) and
    returns its name."""
    def make(suffix: str = "", **kw) -> str:
        name = f"t-{_safe(request.node.name)}-{suffix or uuid.uuid4().hex[:6]}"
        return create_topic(platform, profile, name, **kw)
    return make


@pytest.fixture
def new_bucket(platform):
    """Factory: ``new_bucket()`` creates a uniquely named bucket in the platform's object
    storage and returns its name."""
    s3 = platform.s3_client()

    def make() -> str:
        name = f"b-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=name)
        return name
    return make


@pytest.fixture(scope="session")
def certification(pytestconfig, profile, run_dir, platform):
    """The session's ``kfchaos.certify.Certification``: ``certification.run(name)`` runs a
    registered scenario (shipped, or loaded with --chaos-scenarios DIR) on the session's
    platform and returns its ``ScenarioResult``; the run directory's reports are written at
    session end."""
    from kfchaos.certify import Certification, rerun_command
    seed = pytestconfig.getoption("--chaos-seed")
    command = pytestconfig.getoption("--chaos-command") or rerun_command(profile.name, seed, None)
    session = Certification(profile, platform, run_dir, seed, chosen=[], command=command)
    yield session
    session.finish()

"""Removal of what dead runs left behind, on real Docker networks and volumes (the test
removes its own objects whatever happens)."""
from __future__ import annotations

import secrets

import docker
import pytest

from kfchaos.platform import cleanup, owners
from tests.unit.test_cleanup import dead_owner_labels


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except Exception as e:   # noqa: BLE001 - any failure means the same thing here
        pytest.fail(f"no Docker daemon answers ({e}): start it with scripts/setup.sh")


def test_real_network_and_volume_of_a_dead_run_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_CACHE_DIR", str(tmp_path / "cache"))
    client = docker_client()
    tag = secrets.token_hex(4)
    dead = {owners.LABEL_RUN: f"unit-dead-{tag}", **dead_owner_labels()}
    live = {owners.LABEL_RUN: f"unit-live-{tag}", **owners.owner_labels()}
    made = [client.networks.create(f"chaos-unit-dead-{tag}", labels=dead),
            client.volumes.create(f"chaos-unit-dead-{tag}", labels=dead),
            client.networks.create(f"chaos-unit-live-{tag}", labels=live)]
    try:
        report = cleanup.clean_dead_runs(run_id=f"unit-dead-{tag}")     # only this test's runs
        assert sorted(report.removed) == [f"network chaos-unit-dead-{tag}", f"volume chaos-unit-dead-{tag}"]
        report = cleanup.clean_dead_runs(run_id=f"unit-live-{tag}")
        assert report.kept == [f"network chaos-unit-live-{tag}"] and not report.removed
        assert client.networks.list(names=[f"chaos-unit-live-{tag}"])
        assert cleanup.remove_run(f"unit-live-{tag}") == [f"network chaos-unit-live-{tag}"]
    finally:
        for obj in made:
            try:
                obj.remove()
            except docker.errors.NotFound:
                pass

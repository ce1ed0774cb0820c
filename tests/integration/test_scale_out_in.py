"""Scale-out and scale-in on the real kafka-3az platform, end to end through the CLI: a
fourth broker joins, partitions move onto it under a throttle and off it again, the broker
is decommissioned; the contracts hold, the figures are recomputed from the history, and
nothing of the run is left in Docker afterwards."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from kfchaos.analyze import analyze_scenario
from kfchaos.platform.owners import LABEL_RUN

pytestmark = pytest.mark.platform

REPO = Path(__file__).resolve().parents[2]


def test_scale_out_then_in_balances_moves_bytes_and_leaves_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    reports = tmp_path / "reports"
    proc = subprocess.Popen([sys.executable, "-m", "kfchaos.cli", "certify", "--profile", "kafka-3az",
                             "--scenario", "scale-out-in", "--reports", str(reports)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=1500)
    except subprocess.TimeoutExpired:     # SIGTERM: the CLI heals and removes its platform
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=180)
    run = next(p for p in reports.iterdir() if p.is_dir() and p.name != "latest")
    assert (run / "results.json").exists(), (proc.returncode, stdout[-2000:], stderr[-3000:])
    results = json.loads((run / "results.json").read_text())
    (result,) = results["scenarios"]
    assert proc.returncode == 0 and result["status"] == "held", (stdout[-3000:], stderr[-3000:], result)
    assert {c["contract"]: c["verdict"] for c in result["contracts"]} == {
        "durability": "held", "ordering": "held", "offset-continuity": "held", "recovery": "held"}
    f = result["figures"]
    out, back = f["scale_moves"]
    assert (out["move"], back["move"]) == ("scale-out", "scale-in")
    assert f["time_to_balance_s"] > 0 and f["bytes_moved"] > 0 and out["replicas_moved"] > 0, out
    assert back["time_to_balance_s"] > 0 and f["bytes_moved_scale_in"] > 0, back
    assert f["live_p99_ms_during_move"] is not None and f["consumer_lag_p99_ms_during_move"] is not None
    assert f["throttle_left"] == "none (removed)" and f["decommission_s"] > 0
    assert isinstance(f["cross_zone_bytes"], int) and f["cross_zone_bytes"] > 0
    # the same figures from the stored history alone
    again, _ = analyze_scenario(run / "scale-out-in")
    assert again.figures["scale_moves"] == f["scale_moves"]
    # nothing of the run is left: containers (the added broker too), volumes, networks
    client = docker.from_env()
    label = f"{LABEL_RUN}={results['run_id']}"
    assert not client.containers.list(all=True, filters={"label": label})
    assert not client.volumes.list(filters={"label": label})
    assert not client.networks.list(filters={"label": label})

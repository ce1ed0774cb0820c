"""Owner identification, signal handling and removal of what dead runs left behind.

Owners and signals use real processes; removal of real Docker networks and volumes is
tests/integration/test_cleanup_docker.py."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import docker
import pytest

from kfchaos.platform import cleanup, disks, owners, reaper
from kfchaos.platform.owners import ALIVE, DEAD, FOREIGN, LABEL_HOST, LABEL_PID_START, owner_state

REPO = Path(__file__).resolve().parents[2]


def dead_owner_labels() -> dict[str, str]:
    """Labels of a process that has ended (real pid and start time, now gone)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    labels = owners.owner_labels(proc.pid)
    proc.kill()
    proc.wait()
    return labels


# ---- owners ------------------------------------------------------------------------
def test_own_process_is_alive():
    assert owner_state(owners.owner_labels()) == ALIVE


def test_ended_process_is_dead():
    assert owner_state(dead_owner_labels()) == DEAD


def test_recycled_pid_is_dead():
    labels = owners.owner_labels()
    labels[LABEL_PID_START] = str(int(labels[LABEL_PID_START]) - 1)   # same pid, another process
    assert owner_state(labels) == DEAD


def test_label_without_start_time_falls_back_to_pid():
    labels = {**owners.owner_labels(), LABEL_PID_START: ""}
    assert owner_state(labels) == ALIVE


def test_other_host_is_foreign_even_if_its_pid_is_dead():
    assert owner_state({**dead_owner_labels(), LABEL_HOST: "elsewhere"}) == FOREIGN
    assert owner_state({**owners.owner_labels(), LABEL_HOST: "elsewhere"}) == FOREIGN
    assert owner_state({owners.LABEL_PID: "1"}) == FOREIGN


@pytest.mark.parametrize("pid", ["", "x", "-1", "0"])
def test_bad_pid_label_is_dead(pid):
    assert owner_state({**owners.owner_labels(), owners.LABEL_PID: pid}) == DEAD


def test_start_time_survives_odd_command_names(tmp_path):
    odd = tmp_path / "a) b (c"
    shutil.copy(shutil.which("sleep"), odd)
    proc = subprocess.Popen([str(odd), "30"])
    try:
        time.sleep(0.1)
        started = owners.process_start_time(proc.pid)
        assert started and started.isdigit()
        assert int(started) >= int(owners.process_start_time(os.getpid()))
    finally:
        proc.kill()
        proc.wait()
    assert owners.process_start_time(proc.pid) is None


def test_run_labels_name_host_pid_and_start():
    labels = owners.run_labels("r1", "kafka")
    assert labels[owners.LABEL_RUN] == "r1" and labels[owners.LABEL_ROLE] == "kafka"
    assert labels[owners.LABEL_PID] == str(os.getpid())
    assert labels[LABEL_PID_START] == owners.process_start_time(os.getpid())


# ---- signals -----------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys, threading, time
    from kfchaos.platform import cleanup
    lock = threading.Lock()          # stands for the history writer lock
    mode = sys.argv[1]

    def clean():
        with lock:                   # the old handler ran this while the main thread held the lock
            print("cleaned", flush=True)
        if mode == "slow":
            print("cleaning", flush=True)
            time.sleep(30)

    cleanup.register(clean)
    try:
        if mode == "held":
            with cleanup.signals_held():
                print("ready", flush=True)
                time.sleep(1.5)
                print("block done", flush=True)
        else:
            with lock:
                print("ready", flush=True)
                time.sleep(30)
    except cleanup.Interrupted as exc:
        print(f"interrupted {exc.signum}", flush=True)
        raise
""")


def start_child(tmp_path, mode: str) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO)}      # this tree's harness, not an installed one
    proc = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    assert line(proc) == "ready"
    return proc


def line(proc: subprocess.Popen, timeout: float = 20) -> str:
    """The child's next output line; fails instead of hanging if none comes."""
    if not hasattr(proc, "lines"):
        proc.lines = queue.Queue()

        def pump():
            for text in proc.stdout:
                proc.lines.put(text.strip())
            proc.lines.put(None)
        threading.Thread(target=pump, daemon=True).start()
    try:
        return proc.lines.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        pytest.fail(f"no output from the child within {timeout}s")


def rest(proc: subprocess.Popen) -> tuple[list[str], str]:
    """The child's remaining output lines (until it exits) and its stderr."""
    out = []
    while (text := line(proc)) is not None:
        out.append(text)
    err = proc.stderr.read()
    proc.wait(timeout=10)
    return out, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_unwinds_then_cleans_without_deadlock(tmp_path, sig):
    proc = start_child(tmp_path, "lock")
    proc.send_signal(sig)
    out, err = rest(proc)
    assert out == [f"interrupted {sig}", "cleaned"], err
    assert proc.returncode != 0


def test_second_signal_forces_exit_during_cleanup(tmp_path):
    proc = start_child(tmp_path, "slow")
    proc.send_signal(signal.SIGTERM)
    assert line(proc) == f"interrupted {signal.SIGTERM}"
    assert line(proc) == "cleaned"
    assert line(proc) == "cleaning"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = rest(proc)
    assert out == []
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 128 + signal.SIGTERM
    assert "second signal" in err and "chaos clean" in err


def test_signal_inside_held_block_is_raised_at_its_end(tmp_path):
    proc = start_child(tmp_path, "held")
    proc.send_signal(signal.SIGTERM)
    out, err = rest(proc)
    assert out == ["block done", f"interrupted {signal.SIGTERM}", "cleaned"], err


def test_cleanups_run_without_the_lock(monkeypatch):
    monkeypatch.setattr(cleanup, "_install_handlers", lambda: None)
    monkeypatch.setattr(cleanup, "_cleanups", [])
    ran = []

    def second():
        ran.append("second")

    def first():
        ran.append("first")
        cleanup.register(second)          # takes the lock: would deadlock if run_cleanups held it
        raise RuntimeError("one cleanup fails; the others still run")

    undo = cleanup.register(lambda: ran.append("never"))
    cleanup.register(first)
    undo()
    cleanup.run_cleanups()
    assert ran == ["first", "second"] and cleanup._cleanups == []


# ---- removal -----------------------------------------------------------------------
class FakeObj:
    def __init__(self, name, labels, error=None):
        self.name, self.labels, self.attrs, self.error, self.removed = name, labels, {"Labels": labels}, error, False

    def remove(self, **kwargs):
        if self.error:
            raise self.error
        self.removed = True


class FakeCollection:
    def __init__(self, items):
        self.items = items

    def list(self, **kwargs):
        return self.items


class FakeClient:
    def __init__(self, containers=(), networks=(), volumes=()):
        self.containers, self.networks = FakeCollection(list(containers)), FakeCollection(list(networks))
        self.volumes = FakeCollection(list(volumes))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_api_error_is_reported_and_the_rest_removed(cache):
    dead = {owners.LABEL_RUN: "dead1", **dead_owner_labels()}
    stuck = FakeObj("c-stuck", dead, docker.errors.APIError("device busy"))
    gone = FakeObj("c-gone", dead, docker.errors.NotFound("gone"))
    ok, net = FakeObj("c-ok", dead), FakeObj("n-ok", dead)
    report = reaper.clean_dead_runs(client=FakeClient([stuck, gone, ok], [net]))
    assert ok.removed and net.removed
    assert report.removed == ["container c-ok", "network n-ok"]
    assert len(report.failed) == 1 and report.failed[0].startswith("container c-stuck: ")


def test_live_foreign_and_dead_runs(cache):
    live = FakeObj("live", {owners.LABEL_RUN: "live1", **owners.owner_labels()})
    foreign = FakeObj("far", {owners.LABEL_RUN: "far1", **dead_owner_labels(), LABEL_HOST: "other-host"})
    dead = FakeObj("dead", {owners.LABEL_RUN: "dead1", **dead_owner_labels()})
    client = FakeClient([live, foreign, dead])
    report = reaper.clean_dead_runs(client=client)
    assert report.removed == ["container dead"] and report.kept == ["container live"]
    assert report.foreign == ["container far (run far1 of host other-host)"] and not foreign.removed
    report = reaper.clean_dead_runs(all_runs=True, client=client)
    assert live.removed and not foreign.removed and report.foreign


def test_disks_of_dead_runs_are_removed_live_ones_kept(cache):
    for run_id, labels in (("dead1", dead_owner_labels()), ("live1", owners.owner_labels()), ("anon", None)):
        d = disks.disks_dir(run_id)
        d.mkdir(parents=True)
        (d / "kafka-a.img").write_bytes(b"")
        if labels:
            (d / disks.OWNER_FILE).write_text(json.dumps(labels))
    report = reaper.clean_dead_runs(client=FakeClient())
    assert not disks.disks_dir("dead1").exists() and not disks.disks_dir("anon").exists()
    assert disks.disks_dir("live1").is_dir() and report.kept == ["disks of run live1"]
    assert not report.failed


# ---- bring-up after stop -----------------------------------------------------------
class FakeNode:
    name = "kafka-a"

    def __init__(self, on_create=None):
        self.created, self.on_create = 0, on_create

    def create_and_start(self):
        self.created += 1
        if self.on_create:
            self.on_create()


@pytest.fixture
def stopped_platform(monkeypatch):
    from kfchaos.platform.platform import Platform
    removed = []
    monkeypatch.setattr(cleanup, "remove_run", lambda run_id, *a, **k: removed.append(run_id) or [])
    plat = Platform()
    plat.removed = removed
    return plat


def test_no_container_is_created_after_stop(stopped_platform):
    from kfchaos.platform.platform import PlatformError
    stopped_platform.stop()
    node = FakeNode()
    with pytest.raises(PlatformError, match="stopping"):
        stopped_platform._run(node, wait=None)
    with pytest.raises(PlatformError, match="stopping"):
        stopped_platform._container("kafka-a", "kafka", "a", "img", [])
    assert node.created == 0


def test_container_created_while_stopping_is_removed(stopped_platform):
    from kfchaos.platform.platform import PlatformError
    plat = stopped_platform
    node = FakeNode(on_create=plat.stop)      # stop() runs while this container is being created
    with pytest.raises(PlatformError, match="stopping"):
        plat._run(node, wait=None)
    assert node.created == 1 and plat.removed == [plat.run_id, plat.run_id]

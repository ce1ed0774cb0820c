"""External targets against real components.

- ``chaos platform up``'s function starts the built-in platform in a keeper process; the
  target file it writes is all ``ExternalPlatform`` gets. Discovery and the health gate
  pass; a broker killed through the docker actuator dies (exit 137, gone from metadata)
  and comes back; a zone cut through iptables inside the containers is proved by TCP
  probes and healed; bad targets (wrong bootstrap port, a container that does not exist,
  a Flink URL that is MinIO's) each stop with one line. ``platform down`` removes it all.
- The ssh actuator against an sshd started here on 127.0.0.1 with a per-test key, acting
  on a dummy process with a pid file: pause (state T), resume, kill (gone), start again,
  and an iptables rule tagged with the run id swept by ``clean_target``.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from kfchaos.faults.base import FaultSpec
from kfchaos.targets.actuators import create
from kfchaos.targets.cli import clean_target, load_platform
from kfchaos.targets.discovery import DiscoveryError
from kfchaos.targets.schema import load_target

SSHD = "/usr/sbin/sshd"


# ---- ssh actuator ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


@pytest.fixture
def sshd(tmp_path):
    assert os.path.exists(SSHD) and os.geteuid() == 0, \
        "needs Debian's openssh-server and root: scripts/setup.sh installs it (./run.sh test runs it)"
    d = tmp_path / "ssh"
    d.mkdir(mode=0o700)
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\nAuthorizedKeysFile {d / 'authorized_keys'}\n"
        f"PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"PermitRootLogin prohibit-password\nPidFile {d / 'sshd.pid'}\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=subprocess.DEVNULL,
                            stderr=open(d / "sshd.log", "wb"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    host_pub = (d / "host.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    pid_file = d / "dummy.pid"
    start = f"sleep 600 & echo $! > {pid_file}"
    try:
        yield {"dir": d, "port": port, "pid_file": pid_file, "start": start}
    finally:
        if pid_file.exists() and pid_file.read_text().strip().isdigit():
            pid = int(pid_file.read_text())
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        proc.terminate()
        proc.wait(timeout=10)


def _ssh_target(tmp_path, sshd, **actuator) -> Path:
    doc = {"name": "ssh-dummy", "zones": ["a"], "kafka": {"bootstrap_servers": "127.0.0.1:1"},
           "nodes": [{"name": "dummy", "role": "broker", "zone": "a",
                      "actuator": {"type": "ssh", "host": "127.0.0.1", "port": sshd["port"], "user": "root",
                                   "key_file": str(sshd["dir"] / "client"),
                                   "known_hosts": str(sshd["dir"] / "known_hosts"),
                                   "pid_file": str(sshd["pid_file"]), "start_command": sshd["start"],
                                   **actuator}}]}
    p = tmp_path / "ssh-target.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_ssh_actuator_kills_pauses_and_sweeps(tmp_path, sshd):
    subprocess.run(["sh", "-c", sshd["start"]], check=True)
    path = _ssh_target(tmp_path, sshd)
    t = load_target(path)
    node = t.node("dummy")
    act = create(node.name, node.actuator, node.role)
    try:
        act.connect()
        pid = int(sshd["pid_file"].read_text())
        assert act.status() == "running"
        caps = act.probe()
        assert caps["kill"] is None and caps["pause"] is None
        assert caps["delay"] is None or "netem" in caps["delay"]      # this machine's kernel has no netem
        act.pause()
        assert act.process_state().startswith("T") and act.status() == "paused"
        assert Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"   # proof, seen locally
        act.resume()
        assert act.status() == "running"
        act.kill("SIGKILL")
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid) and act.status() == "exited"
        act.start()
        deadline = time.monotonic() + 5
        while act.status() != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        new_pid = int(sshd["pid_file"].read_text())
        assert new_pid != pid and _alive(new_pid)
        # A rule tagged with a run id, left as a crashed run would leave it, then swept.
        tag = "chaos-sshtest1-kill-0001"
        rule = ["iptables", "-w", "-A", "OUTPUT", "-d", "127.0.0.42", "-p", "tcp", "--dport", "9", "-m", "comment",
                "--comment", tag, "-j", "DROP"]
        code, out = act.exec(rule, user="root", check=False)
        assert code == 0, f"iptables does not work here: {out.strip()}"
        assert tag in act.exec(["iptables", "-w", "-S", "OUTPUT"], user="root")[1]
        lines = clean_target(path, run_id="sshtest1")
        assert any("deleted 1 iptables rules" in ln for ln in lines), lines
        assert tag not in subprocess.run(["iptables", "-w", "-S", "OUTPUT"], capture_output=True, text=True).stdout
    finally:
        act.close()
        subprocess.run(["sh", "-c", "iptables -w -S OUTPUT | grep -F -- '--comment chaos-sshtest1-' | "
                                    "sed 's/^-A /-D /' | while read -r r; do iptables -w $r; done"], check=False)


def test_ssh_wrong_key_and_unknown_host_are_one_line(tmp_path, sshd):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    for actuator, words in (({"key_file": str(tmp_path / "other")}, "authorized_keys"),
                            ({"known_hosts": str(tmp_path / "empty_known_hosts")}, "ssh-keyscan")):
        (tmp_path / "empty_known_hosts").write_text("")
        t = load_target(_ssh_target(tmp_path, sshd, **actuator))
        node = t.node("dummy")
        act = create(node.name, node.actuator, node.role)
        with pytest.raises(Exception) as info:
            act.connect()
        assert words in str(info.value) and "\n" not in str(info.value)


def test_ssh_actuator_streams_standard_input_and_closes_it(tmp_path, sshd):
    """What a Kafka tool's client properties take (kfchaos.targets.tool_security): bytes on the
    channel, then its end, so `cat` ends; nothing of them is on the command line."""
    import hashlib
    subprocess.run(["sh", "-c", sshd["start"]], check=True)
    t = load_target(_ssh_target(tmp_path, sshd))
    act = create("dummy", t.nodes[0].actuator, "broker")
    data = b"sasl.jaas.config=x password=\"planted-secret\";\n" * 2000       # more than a pipe's buffer
    try:
        code, out = act.exec(["sh", "-c", "cat | sha256sum"], check=False, stdin=data)
    finally:
        act.close()
    assert code == 0 and out.split()[0] == hashlib.sha256(data).hexdigest(), out


# ---- the built-in platform as an external target ------------------------------------------
@pytest.fixture(scope="module")
def builtin(tmp_path_factory):
    from kfchaos.platform.docker_engine import ensure_docker
    from kfchaos.targets.builtin import load_env_file, platform_down, platform_up
    ensure_docker(install=False)        # no Docker: fails with the reason
    directory = tmp_path_factory.mktemp("platform")
    t0 = time.monotonic()
    up = platform_up("kafka-3az", directory, startup_timeout=300)    # a loaded 2-core machine is slow
    print(f"platform up in {time.monotonic() - t0:.0f}s")
    saved = {k: os.environ.get(k) for k in load_env_file(up.env_file)}
    os.environ.update(load_env_file(up.env_file))
    try:
        yield up
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        platform_down(up.directory)
        import docker
        left = docker.from_env().containers.list(all=True, filters={"label": f"io.chaos-harness.run={up.run_id}"})
        assert not left, f"left behind: {[c.name for c in left]}"


def test_target_file_holds_no_secret(builtin):
    from kfchaos.targets.builtin import load_env_file
    text = builtin.target.read_text()
    for value in load_env_file(builtin.env_file).values():
        assert value not in text
    assert oct(builtin.env_file.stat().st_mode & 0o777) == "0o600"


def test_discovery_health_kill_and_zone_cut(builtin, tmp_path):
    from kfchaos.faults import registry
    from kfchaos.platform.health import broker_ids
    from confluent_kafka.admin import AdminClient, NewTopic
    p = load_platform(builtin.target)
    p.start()
    other = AdminClient({"bootstrap.servers": p.bootstrap_servers})    # a client that is not the run's
    try:
        assert set(p.discovered.zone_ids) == {"a", "b", "c"}
        assert p.discovered.flink_version and p.discovered.taskmanagers
        caps = p.node_capabilities()
        assert caps["kafka-b"]["kill"] is None and caps["kafka-b"]["zone-cut"] is None
        assert "netem" in (caps["kafka-b"]["delay"] or "netem")
        # kill a broker through the docker actuator: it dies, leaves metadata, and comes back
        kill = registry.create(p, FaultSpec("kill", "zone:b"), None)
        kill.setup()
        started = kill.start()
        assert "exited (exit code 137" in started["proof"]["container_status"]["kafka-b"]
        assert p.discovered.zone_ids["b"] not in broker_ids(p)
        healed = kill.stop()
        assert p.discovered.zone_ids["b"] in broker_ids(p) and p.brokers["b"].running()
        assert healed["proof"]["seconds_until_listed"]
        # a zone cut with iptables inside the containers, proved by probes, then healed
        cut = registry.create(p, FaultSpec("isolate-zone", "zone:c"), None)
        cut.setup()
        proof = cut.start()["proof"]
        assert proof["rules"] > 0 and not any(pr["connected"] for pr in proof["probes"])
        after = cut.stop()["proof"]
        assert all(pr["connected"] for pr in after["probes"])
        left = cut.rules.remaining(p.nodes())
        assert not any(left.values()), left
        # the run's own topic and group are deleted at stop; a same-named-looking foreign one is not
        from kfchaos.platform.topics import create_topic
        mine = create_topic(p, f"target-test-{p.run_id}", 3, 3)
        assert mine in p.created_topics
        foreign = f"target-test-{p.run_id}-foreign"
        other.create_topics([NewTopic(foreign, 1, 3)])[foreign].result(timeout=30)
        _commit(p.bootstrap_servers, mine, f"{mine}-group")
        _commit(p.bootstrap_servers, foreign, f"{foreign}-group")
    finally:
        p.stop()
    try:
        deadline = time.monotonic() + 20     # another broker's metadata may lag the deletion a moment
        while mine in other.list_topics(timeout=10).topics and time.monotonic() < deadline:
            time.sleep(0.5)
        assert mine not in other.list_topics(timeout=10).topics and foreign in other.list_topics(timeout=10).topics
        groups = {g.group_id for g in other.list_consumer_groups().result(timeout=20).valid}
        assert f"{mine}-group" not in groups and f"{foreign}-group" in groups
    finally:
        other.delete_consumer_groups([f"{foreign}-group"])
        other.delete_topics([foreign])


def _commit(bootstrap: str, topic: str, group: str) -> None:
    """Commit offset 0 for ``group``; a retriable answer (the coordinator still loading its
    partition after the zone cut healed: COORDINATOR_LOAD_IN_PROGRESS) is retried for 30 s."""
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed
    coordinator_moving = {KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE,
                          KafkaError.NOT_COORDINATOR, KafkaError._TIMED_OUT}

    def retriable(exc: BaseException) -> bool:
        return isinstance(exc, KafkaException) and (exc.args[0].retriable() or exc.args[0].code() in coordinator_moving)

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        retry(retry=retry_if_exception(retriable), stop=stop_after_delay(30), wait=wait_fixed(1), reraise=True)(
            lambda: c.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False))()
    finally:
        c.close()


def _bad_copy(builtin, tmp_path, edit) -> Path:
    doc = yaml.safe_load(builtin.target.read_text())
    edit(doc)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def _wrong_port(doc):
    doc["kafka"]["bootstrap_servers"] = "127.0.0.1:1"


def _node(doc, name):
    return next(n for n in doc["nodes"] if n["name"] == name)


def _no_container(doc):
    _node(doc, "kafka-b")["actuator"]["container"] = "no-such-container-anywhere"


def _unknown_broker_id(doc):
    _node(doc, "kafka-a")["broker_id"] = 7


def _minio_as_flink(doc):
    doc["flink"]["rest_url"] = doc["s3"]["endpoint"]


@pytest.mark.parametrize("edit,words", [
    (_wrong_port, ["kafka.bootstrap_servers", "no broker answered", "127.0.0.1:1"]),
    (_no_container, ["no-such-container-anywhere", "does not exist"]),
    (_unknown_broker_id, ["broker kafka-a (broker_id 7) is not in the cluster", "lists brokers 1 (rack a)"]),
    (_minio_as_flink, ["flink.rest_url", "not Flink's REST API"]),
])
def test_bad_targets_stop_with_one_line(builtin, tmp_path, edit, words):
    p = load_platform(_bad_copy(builtin, tmp_path, edit))
    t0 = time.monotonic()
    with pytest.raises(DiscoveryError) as info:
        p.start()
    msg = str(info.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    assert time.monotonic() - t0 < 40


def test_clean_sweeps_what_a_crashed_run_left(builtin):
    """A tagged rule, a frozen container and a toxic left as a crashed run would leave them."""
    from kfchaos.platform.toxiproxy import Toxic
    p = load_platform(builtin.target)
    p.start()
    try:
        tag = "chaos-crashed1-isolate-zone-0001"
        node = p.brokers["c"]
        node.exec(["iptables", "-w", "-A", "INPUT", "-s", "192.0.2.1", "-m", "comment", "--comment", tag,
                   "-j", "DROP"], user="root")
        p.toxiproxy["a"].add_toxic("client-a", Toxic("chaos-latency-crashed1", "latency", attributes={"latency": 5}))
        p.flink_taskmanagers[0].pause()
        lines = clean_target(builtin.target, run_id="crashed1")
        assert any(ln.startswith("kafka-c: deleted 1 iptables rules") for ln in lines), lines
        assert any("removed toxic chaos-latency-crashed1" in ln for ln in lines), lines
        assert any("flink-taskmanager: unpaused" in ln for ln in lines), lines
        assert tag not in node.exec(["iptables", "-w", "-S"], user="root")[1]
        assert p.flink_taskmanagers[0].running() and not p.toxiproxy["a"].toxics("client-a")
    finally:
        p.flink_taskmanagers[0].resume() if p.flink_taskmanagers[0].status() == "paused" else None
        p.stop()

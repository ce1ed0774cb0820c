"""Certify a secured platform through the external path: SASL_SSL and mutual TLS, one
`kfchaos platform up` per mode (profiles kafka-3az-sasl and kafka-3az-mtls).

- `certify --target` of smoke and controller-failover holds; controller-failover finds the
  active controller with Kafka's metadata-quorum tool run on a broker node against the
  in-network SECURE listener, which serves only the target's security, so the tool logged in;
- the same tool without the target's security is refused there (the listener is secured);
- the planted secret (the SASL password; the client key) is in no file the run wrote, nor in
  any file of the broker containers' writable paths, nor in a new file of the temp dir;
- mutual TLS: a client certificate the brokers do not trust, or a CA that did not sign the
  brokers, is one line and exit 2 before any fault.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = [pytest.mark.platform, pytest.mark.scenario]
ROOT = Path(__file__).resolve().parents[2]
#: SASL_SSL: a scenario whose fault needs Kafka's tools (the active controller); mutual TLS: the baseline
#: (its tools log in in test_tools_log_in_with_the_targets_security; each certify run takes 2-4 minutes here)
SCENARIOS = {"sasl": ("controller-failover",), "mtls": ("smoke",)}
PROFILES = {"sasl": "kafka-3az-sasl", "mtls": "kafka-3az-mtls"}


def cli(*args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "kfchaos.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    sys.stderr.write(proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module", params=sorted(PROFILES))
def platform(request, tmp_path_factory):
    from kfchaos.targets.builtin import load_env_file
    where = tmp_path_factory.mktemp(f"platform-{request.param}")
    up = cli("platform", "up", "--profile", PROFILES[request.param], "--dir", str(where), "--startup-timeout", "300",
             timeout=900)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        doc = yaml.safe_load((where / "target.yaml").read_text())
        yield request.param, where / "target.yaml", load_env_file(where / "credentials.env"), doc
    finally:
        down = cli("platform", "down", str(where), timeout=300)
        assert down.returncode == 0, down.stderr[-2000:]


def planted(mode: str, env: dict, doc: dict) -> list[str]:
    """The secrets of the mode: the SASL password, or the lines of the client key's PEM body."""
    if mode == "sasl":
        return [env["CHAOS_KAFKA_PASSWORD"]]
    body = Path(doc["kafka"]["security"]["key_file"]).read_text().splitlines()[1:-1]
    return [line for line in body if len(line) > 20]


def files_with(secrets: list[str], files) -> list[str]:
    found = []
    for f in files:
        try:
            if f.is_file() and any(s.encode() in f.read_bytes() for s in secrets):
                found.append(str(f))
        except FileNotFoundError:       # another process's temp file, gone meanwhile
            pass
    return found


def new_temp_files(before: set, since: float) -> list[Path]:
    out = []
    for p in set(Path(tempfile.gettempdir()).iterdir()) - before:
        try:
            if p.stat().st_mtime >= since:
                out += [p] if p.is_file() else list(p.rglob("*"))
        except (FileNotFoundError, PermissionError):
            pass
    return out


def test_certify_holds_and_the_tools_log_in(platform, tmp_path):
    mode, path, env, doc = platform
    assert doc["kafka"]["security"]["protocol"] == {"sasl": "SASL_SSL", "mtls": "SSL"}[mode]
    assert doc["kafka"]["tools_bootstrap_servers"].endswith(":9096")
    started = time.time()
    before = set(Path(tempfile.gettempdir()).iterdir())
    proc = cli("certify", "--target", str(path), "--seed", "5", "--reports", str(tmp_path),
               *[a for s in SCENARIOS[mode] for a in ("--scenario", s)], env=env)
    run = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    results = json.loads((run / "results.json").read_text())
    not_held = [(s["name"], c["contract"], c["verdict"], c["reason"]) for s in results["scenarios"]
                for c in s["contracts"] if c["verdict"] != "held"]
    assert proc.returncode == 0 and results["overall"] == "held", (proc.stdout[-3000:], not_held)
    assert [s["name"] for s in results["scenarios"]] == list(SCENARIOS[mode])
    if mode == "sasl":
        history = (run / "controller-failover" / "history.jsonl").read_text().splitlines()
        kills = [json.loads(line) for line in history if '"fault-start"' in line and '"ok"' in line]
        assert kills and kills[0]["value"]["target"], history[:5]        # the tool found the active controller
    secrets = planted(mode, env, doc)
    assert secrets
    assert not files_with(secrets, run.rglob("*"))
    assert not files_with(secrets, new_temp_files(before, started))
    for node in doc["nodes"]:
        if node["role"] == "broker+controller":
            found = _grep_container(node["actuator"]["container"], secrets)
            assert not found, (node["name"], found)


def _grep_container(container: str, secrets: list[str]) -> list[str]:
    """Files of a container's writable paths that hold any of ``secrets`` (streamed on stdin, never a file)."""
    from kfchaos.targets.docker_actuator import DockerActuator
    from kfchaos.targets.schema import ActuatorSpec
    act = DockerActuator(container, ActuatorSpec("docker", container=container), "broker")
    code, out = act.exec(["sh", "-c", "cat | grep -rlF -f /dev/stdin /tmp /var/tmp /opt/kafka/config /etc/kafka "
                          "/home /root /chaos 2>/dev/null; true"], check=False, stdin="\n".join(secrets).encode())
    return [line for line in out.splitlines() if line.startswith("/")]


def test_tools_log_in_with_the_targets_security(platform, monkeypatch):
    """The metadata-quorum tool on a broker node, with the target's security on its standard
    input, finds the active controller through the SECURE listener."""
    from kfchaos.targets.external import ExternalPlatform
    from kfchaos.targets.schema import load_target
    mode, path, env, doc = platform
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    target = load_target(path)
    assert target.kafka.tools_bootstrap == doc["kafka"]["tools_bootstrap_servers"]
    external = ExternalPlatform(target)
    for node in external.nodes():
        node.actuator.connect()
    try:
        assert external.controller_id() in {n["broker_id"] for n in doc["nodes"] if "broker_id" in n}
    finally:
        for node in external.nodes():
            node.actuator.close()


def test_the_secure_listener_refuses_the_tool_without_security(platform):
    from kfchaos.targets.docker_actuator import DockerActuator
    from kfchaos.targets.schema import ActuatorSpec
    from kfchaos.targets.tool_security import tool_script
    mode, path, env, doc = platform
    broker = next(n for n in doc["nodes"] if n["role"] == "broker+controller")
    act = DockerActuator(broker["name"], ActuatorSpec("docker", container=broker["actuator"]["container"]), "broker")
    line = tool_script(doc["kafka"]["tools_classpath"], "org.apache.kafka.tools.MetadataQuorumCommand",
                       ["--bootstrap-server", doc["kafka"]["tools_bootstrap_servers"], "describe", "--status"],
                       "metadata-quorum", secured=True)
    unsecured = b"security.protocol=PLAINTEXT\ndefault.api.timeout.ms=8000\nrequest.timeout.ms=4000\n"
    code, out = act.exec(["sh", "-c", line], check=False, stdin=unsecured)
    assert code != 0 and "LeaderId" not in out, out[-500:]


def _self_signed(d: Path, name: str) -> tuple[Path, Path]:
    now = dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(hours=1)).sign(key, hashes.SHA256()))
    (d / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / f"{name}-key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return d / f"{name}.pem", d / f"{name}-key.pem"


def test_wrong_credentials_are_one_line_before_any_fault(platform, tmp_path):
    """mutual TLS: a client certificate the brokers do not trust, then a CA that did not sign
    them; SASL_SSL: a wrong password."""
    mode, path, env, doc = platform
    cert, key = _self_signed(tmp_path, "admin")
    ca, _ = _self_signed(tmp_path, "other-ca")
    cases = ([({"cert_file": str(cert), "key_file": str(key)}, {}), ({"ca_file": str(ca)}, {})] if mode == "mtls"
             else [({}, {"CHAOS_KAFKA_PASSWORD": "not-the-password"})])
    for i, (change, wrong_env) in enumerate(cases):
        bad = json.loads(json.dumps(doc))
        bad["kafka"]["security"].update(change)
        target = tmp_path / f"bad-{i}.yaml"
        target.write_text(yaml.safe_dump(bad))
        reports = tmp_path / f"reports-{i}"
        proc = cli("certify", "--target", str(target), "--scenario", "controller-failover", "--reports",
                   str(reports), env={**env, **wrong_env}, timeout=300)
        lines = [x for x in proc.stderr.splitlines() if "TLS handshake" in x or "rejected" in x]
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
        if mode == "mtls":
            assert "cert_file" in lines[0] and "ca_file" in lines[0], lines[0]
        else:
            assert "CHAOS_KAFKA_PASSWORD" in lines[0] and "not-the-password" not in proc.stderr, lines[0]
        assert not list(reports.rglob("history.jsonl"))          # no scenario, so no fault, ran

"""Kafka's tools under a target's client security (``kfchaos.targets.tool_security``), without
a broker: the client properties streamed on standard input, the command line that carries no
secret, and the checks of the client certificate files that come before any fault."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kfchaos.targets.flavor import TargetFlavor
from kfchaos.targets.schema import TargetError, from_dict
from kfchaos.targets.tool_security import escape, tool_properties, tool_script

PASSWORD = 'pl4nted"pass\\word'


def props(text: str) -> dict[str, str]:
    """The subset of java.util.Properties' reading that ``escape`` produces."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        chars, i, val = value, 0, []
        while i < len(chars):
            if chars[i] == "\\":
                i += 1
                val.append({"n": "\n", "r": "\r", "t": "\t"}.get(chars[i], chars[i]))
            else:
                val.append(chars[i])
            i += 1
        out[key] = "".join(val)
    return out


def write_pki(d, password: bytes | None = None):
    """A CA certificate, a client certificate and its key (encrypted with ``password``)."""
    now = dt.datetime.now(dt.timezone.utc)

    def cert(name: str, key, issuer_key=None):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now)
                .not_valid_after(now + dt.timedelta(hours=1)).sign(issuer_key or key, hashes.SHA256()))
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    (d / "ca.pem").write_bytes(cert("ca", ca_key).public_bytes(serialization.Encoding.PEM))
    (d / "client.pem").write_bytes(cert("admin", key, ca_key).public_bytes(serialization.Encoding.PEM))
    (d / "client-key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.TraditionalOpenSSL, enc))
    (d / "other-key.pem").write_bytes(ca_key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8, enc))
    return key


def target(security: dict) -> dict:
    return {"name": "t", "zones": ["a"],
            "kafka": {"bootstrap_servers": "b:9094", "internal_bootstrap_servers": "k:9092",
                      "tools_classpath": "/opt/kafka/libs", "security": security},
            "nodes": [{"name": "kafka-a", "role": "broker", "zone": "a",
                       "actuator": {"type": "docker", "container": "kafka-a"}}]}


def test_escaped_values_read_back_unchanged():
    for value in ("plain", " leading", "a\\b", "two\nlines\r\n", "tab\there", "=:#!"):
        assert props(f"k={escape(value)}\n")["k"] == value
    assert "\n" not in escape("-----BEGIN X-----\nAAA\n-----END X-----")


def test_sasl_ssl_properties_carry_the_password_only_on_standard_input(tmp_path, monkeypatch):
    write_pki(tmp_path)
    monkeypatch.setenv("KU", "admin")
    monkeypatch.setenv("KP", PASSWORD)
    t = from_dict(target({"protocol": "SASL_SSL", "ca_file": str(tmp_path / "ca.pem"),
                          "sasl_mechanism": "SCRAM-SHA-512", "username_env": "KU", "password_env": "KP"}))
    flavor = TargetFlavor(t)
    cmd = flavor.tool_command("metadata-quorum", ["--bootstrap-server", "k:9096", "describe", "--status"])
    p = props(flavor.tool_input().decode())
    assert p["security.protocol"] == "SASL_SSL" and p["sasl.mechanism"] == "SCRAM-SHA-512"
    assert p["sasl.jaas.config"] == ('org.apache.kafka.common.security.scram.ScramLoginModule required '
                                     'username="admin" password="pl4nted\\"pass\\\\word";')
    assert p["ssl.truststore.type"] == "PEM" and p["ssl.truststore.certificates"].startswith("-----BEGIN CERT")
    assert PASSWORD not in " ".join(cmd) and "pl4nted" not in " ".join(cmd)
    line = cmd[-1]
    assert line.startswith("cat | java ") and "--command-config /dev/stdin --bootstrap-server k:9096 describe" in line
    from kfchaos.targets.plan import plan
    assert "  Kafka tools: on a broker node, to b:9094 with SASL_SSL, client properties on standard input " \
           "(--command-config /dev/stdin)" in plan(t, None, ["smoke"])


def test_mutual_tls_key_is_decrypted_in_memory_and_given_inline(tmp_path, monkeypatch):
    key = write_pki(tmp_path, b"key-secret")
    monkeypatch.setenv("KEYPW", "key-secret")
    t = from_dict(target({"protocol": "SSL", "ca_file": str(tmp_path / "ca.pem"),
                          "cert_file": str(tmp_path / "client.pem"), "key_file": str(tmp_path / "client-key.pem"),
                          "key_password_env": "KEYPW"}))
    p = props(tool_properties(t.kafka.security))
    assert p["security.protocol"] == "SSL" and "sasl.jaas.config" not in p
    assert p["ssl.keystore.type"] == "PEM"
    assert p["ssl.keystore.certificate.chain"] == (tmp_path / "client.pem").read_text().strip()
    assert p["ssl.keystore.key"].startswith("-----BEGIN PRIVATE KEY-----")     # PKCS#8, no longer encrypted
    inline = serialization.load_pem_private_key(p["ssl.keystore.key"].encode(), None)
    assert inline.private_numbers() == key.private_numbers()
    assert "key-secret" not in TargetFlavor(t).tool_command("configs", ["--describe"])[-1]


def test_plaintext_tools_read_nothing_and_use_the_internal_address():
    t = from_dict(target({"protocol": "PLAINTEXT"}))
    assert TargetFlavor(t).tool_input() is None
    assert not TargetFlavor(t).tool_command("configs", ["--describe"])[-1].startswith("cat")
    assert t.kafka.tools_bootstrap == "k:9092"
    assert tool_script("/x", "C", ["a b"]) == "java -Xmx128m -cp '/x/*' C 'a b' 2>&1"


@pytest.mark.parametrize("case, expected", [
    ("wrong-key", "is not the key of the certificate"),
    ("wrong-password", "cannot be read as a PEM private key"),
    ("not-a-cert", "holds no PEM certificate"),
])
def test_bad_client_files_are_one_line_before_anything_runs(tmp_path, monkeypatch, case, expected):
    write_pki(tmp_path, b"key-secret")
    monkeypatch.setenv("KEYPW", "wrong" if case == "wrong-password" else "key-secret")
    sec = {"protocol": "SSL", "ca_file": str(tmp_path / "ca.pem"), "cert_file": str(tmp_path / "client.pem"),
           "key_file": str(tmp_path / ("other-key.pem" if case == "wrong-key" else "client-key.pem")),
           "key_password_env": "KEYPW"}
    if case == "not-a-cert":
        sec["ca_file"] = str(tmp_path / "client-key.pem")
    with pytest.raises(TargetError) as err:
        from_dict(target(sec), "t.yaml")
    msg = str(err.value)
    assert expected in msg and "\n" not in msg and msg.startswith("t.yaml: "), msg
    assert "key-secret" not in msg

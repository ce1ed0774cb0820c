"""SASL_SSL + ACL settings of the built-in platform, rendered without Docker: broker
properties, SCRAM format arguments, client settings, certificates, redaction and cleanup."""
from __future__ import annotations

import ipaddress

from cryptography import x509

from kfchaos.platform.config import PlatformConfig, render_server_properties
from kfchaos.platform.flavors import BrokerContext, KafkaFlavor
from kfchaos.platform.security import RunSecurity, SecuritySettings
from kfchaos.redact import redact


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_host_listeners_are_sasl_ssl_and_the_authorizer_denies_by_default():
    sec = RunSecurity(SecuritySettings(acls=True), ["kafka-a"], "t1")
    try:
        cfg = PlatformConfig(zones=("a", "b", "c"), security=sec.settings)
        p = props(render_server_properties(cfg, "a", 1, 2, sec))
        assert p["listener.security.protocol.map"] == ("INTERNAL:PLAINTEXT,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                                                       "EXTERNAL:SASL_SSL,PROXIED:SASL_SSL,SECURE:SASL_SSL")
        assert p["advertised.listeners"].endswith(",SECURE://kafka-a:9096")
        assert p["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
        assert p["authorizer.class.name"].endswith("StandardAuthorizer")
        assert p["allow.everyone.if.no.acl.found"] == "false"
        assert p["super.users"] == "User:admin;User:ANONYMOUS"
        assert "ScramLoginModule" in p["listener.name.external.scram-sha-512.sasl.jaas.config"]
        assert not any(pw in render_server_properties(cfg, "a", 1, 2, sec) for pw in sec.passwords.values())
        args = sec.format_args()
        assert args.count("--add-scram SCRAM-SHA-512=[name=") == 3
        assert all(f"name={u},password={pw}]" in args for u, pw in sec.passwords.items())
    finally:
        sec.close()


def test_without_acls_there_is_no_authorizer_and_plain_users_are_jaas_entries():
    sec = RunSecurity(SecuritySettings(mechanism="PLAIN"), ["kafka-a"], "t2")
    try:
        p = props(render_server_properties(PlatformConfig(security=sec.settings), "a", 1, 2, sec))
        assert "authorizer.class.name" not in p
        assert sec.format_args() == ""
        assert f'user_intruder="{sec.passwords["intruder"]}"' in p["listener.name.proxied.plain.sasl.jaas.config"]
    finally:
        sec.close()


def test_a_broker_gets_its_certificate_and_the_format_arguments():
    sec = RunSecurity(SecuritySettings(), ["kafka-a", "kafka-b"], "t3")
    try:
        ctx = BrokerContext(PlatformConfig(security=sec.settings), "b", 1, 2, "cid", "k", "s", sec)
        launch = KafkaFlavor().launch(ctx)
        assert launch.env["KAFKA_FORMAT_ARGS"] == sec.format_args()
        pem = launch.files["/etc/kafka/tls/broker.pem"][0]
        assert b"BEGIN PRIVATE KEY" in pem
        cert = x509.load_pem_x509_certificates(pem)[0]
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "kafka-b" in sans.get_values_for_type(x509.DNSName)
        assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
        ca = x509.load_pem_x509_certificate(launch.files["/etc/kafka/tls/ca.pem"][0])
        cert.verify_directly_issued_by(ca)
        assert "/etc/kafka/tls/broker.pem" not in KafkaFlavor().launch(
            BrokerContext(PlatformConfig(), "b", 1, 2, "cid", "k", "s")).files
    finally:
        sec.close()


def test_passwords_are_redacted_and_the_private_dir_goes_away():
    sec = RunSecurity(SecuritySettings(acls=True), ["kafka-a"], "t4")
    d = sec.dir
    settings = sec.client_settings("workload")
    assert settings["sasl.username"] == "workload" and settings["ssl.ca.location"] == str(d / "ca.pem")
    assert oct(d.stat().st_mode & 0o777) == "0o700"
    for pw in sec.passwords.values():
        assert pw not in redact(f"login with {pw} failed")
    sec.close()
    assert not d.exists()


def test_clean_removes_the_private_dir_of_a_run_that_never_stopped():
    from kfchaos.platform.security import remove_private_dirs
    sec = RunSecurity(SecuritySettings(), ["kafka-a"], "101010-abcdef")
    other = RunSecurity(SecuritySettings(), ["kafka-a"], "101010-fedcba")
    try:
        assert remove_private_dirs("101010-abcdef") == [f"directory {sec.dir}"]
        assert not sec.dir.exists() and other.dir.exists()
    finally:
        other.close()

"""Kafka's command-line tools under a target's client security, with no secret on any disk.

A tool the harness runs on a broker node of a target (``TargetFlavor.tool_command``:
finding the active controller, setting client quotas) logs in as any client of the target
does: with ``kafka.security``. Its Java client properties (``tool_properties``) reach the
tool on its standard input, streamed through the actuator's exec (Docker's attach
socket, the SSH channel), and the tool reads them with ``--command-config /dev/stdin``.

Why standard input and not a properties file with mode 0600: a file, however private and
short-lived, puts the SASL password or the client key on a disk of the node (or in a
container's writable layer, where ``docker commit``/``docker cp`` and backups see it), and
a tool killed between write and removal leaves it there. Through standard input the
secret exists only in the memory of the harness and of the tool's JVM; the command line
(which ``ps`` and Docker's exec record show) carries no secret either. PEM material is
given inline (``ssl.truststore.certificates``, ``ssl.keystore.certificate.chain``,
``ssl.keystore.key``), so the client certificate and key need not be on the node at all:
the files the target names are read on the harness's machine. An encrypted client key is
decrypted in memory with the password from ``key_password_env``.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path

from .schema import Security, TargetError

#: how each tool takes a client properties file (every tool the harness runs: --command-config)
CONFIG_OPTION = {"metadata-quorum": "--command-config", "configs": "--command-config",
                 "features": "--command-config"}
LOGIN_MODULES = {"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
                 "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}


def escape(value: str) -> str:
    """A value as java.util.Properties reads it back unchanged."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return "\\" + out if out[:1] in (" ", "\f") else out


def jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise TargetError(f"kafka.security.{what}: cannot read {path} ({exc.strerror}); give a readable file")


def client_key_pkcs8(sec: Security) -> str:
    """The client key as unencrypted PKCS#8 PEM (what Kafka's PEM key store reads), decrypted in memory."""
    from cryptography.hazmat.primitives import serialization
    password = os.environ.get(sec.key_password_env or "", "") or None
    try:
        key = serialization.load_pem_private_key(_read(sec.key_file, "key_file"),
                                                 password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        hint = (f"check ${sec.key_password_env}" if sec.key_password_env
                else "set key_password_env if the key is encrypted")
        raise TargetError(f"kafka.security.key_file: {sec.key_file} cannot be read as a PEM private key "
                          f"({' '.join(str(exc).split())[:120]}); {hint}") from None
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def tool_properties(sec: Security) -> str:
    """Java client properties for ``sec`` (secrets read from the environment now); '' for PLAINTEXT."""
    if sec.protocol == "PLAINTEXT":
        return ""
    props = {"security.protocol": sec.protocol}
    if sec.ca_file:
        props.update({"ssl.truststore.type": "PEM",
                      "ssl.truststore.certificates": _read(sec.ca_file, "ca_file").decode().strip()})
    if sec.cert_file and sec.key_file:
        props.update({"ssl.keystore.type": "PEM",
                      "ssl.keystore.certificate.chain": _read(sec.cert_file, "cert_file").decode().strip(),
                      "ssl.keystore.key": client_key_pkcs8(sec).strip()})
    if sec.protocol == "SASL_SSL":
        mech = sec.sasl_mechanism or "PLAIN"
        user = os.environ.get(sec.username_env or "", "")
        password = os.environ.get(sec.password_env or "", "")
        props.update({"sasl.mechanism": mech,
                      "sasl.jaas.config": f"{LOGIN_MODULES[mech]} required username={jaas_quote(user)} "
                                          f"password={jaas_quote(password)};"})
    return "".join(f"{k}={escape(v)}\n" for k, v in props.items())


def tool_script(libs: str, cls: str, args: list[str], tool: str = "", secured: bool = False) -> str:
    """The shell line that runs a tool; ``secured``: its client properties come on standard input.
    Options go before ``args`` (a subcommand's parser would not know them)."""
    words = " ".join(shlex.quote(a) for a in args)
    java = f"java -Xmx128m -cp {shlex.quote(libs + '/*')} {cls}"
    if not secured:
        return f"{java} {words} 2>&1"
    # cat: the tool reads a pipe, whatever the actuator's standard input is (a socket cannot be reopened)
    return f"cat | {java} {CONFIG_OPTION.get(tool, '--command-config')} /dev/stdin {words} 2>&1"


def check_client_files(sec: Security, src: str) -> None:
    """The CA, client certificate and key of ``sec`` as the harness reads them, checked before
    anything is touched: PEM certificates, a key that opens (with its password) and belongs to
    the certificate. Raises one TargetError line."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    for what, path in (("ca_file", sec.ca_file), ("cert_file", sec.cert_file)):
        if path:
            try:
                x509.load_pem_x509_certificates(_read(path, what))
            except ValueError:
                raise TargetError(f"{src}: `kafka.security.{what}` names {path}, which holds no PEM certificate; "
                                  "give the PEM file (-----BEGIN CERTIFICATE-----)") from None
    if not (sec.cert_file and sec.key_file):
        return
    try:
        key = serialization.load_pem_private_key(client_key_pkcs8(sec).encode(), None)
    except TargetError as exc:
        raise TargetError(f"{src}: {exc}") from None
    cert = x509.load_pem_x509_certificates(_read(sec.cert_file, "cert_file"))[0]
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*der) != cert.public_key().public_bytes(*der):
        raise TargetError(f"{src}: `kafka.security.key_file` {sec.key_file} is not the key of the certificate "
                          f"{sec.cert_file} ({cert.subject.rfc4514_string()}); give the key that belongs to it")

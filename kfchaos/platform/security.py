"""Client security of the built-in Kafka platform: SASL_SSL or mutual TLS on the host
listeners, and ACLs.

``platform.security`` in a profile (:class:`SecuritySettings`) turns it on. Per run,
:class:`RunSecurity` makes:

- a CA and broker certificates (:mod:`.tls`), written to a private temp dir (mode 0700,
  never the results dir) for host clients' ``ssl.ca.location``, removed by ``close()``;
- three principals, ``admin`` (the harness's own admin and checker reads; a super user),
  ``workload`` (the recorded producers and consumers; only the ACLs :func:`grant_workload`
  adds) and ``intruder`` (valid credentials, no ACL at all). With SASL_SSL each has a random
  password, registered with the redactor at once; with SSL (mutual TLS) each has a client
  certificate whose common name is the principal (``ssl.principal.mapping.rules``), its key
  in the private dir (mode 0600);
- the broker settings: EXTERNAL and PROXIED (the listeners host clients reach) and SECURE
  (an in-network listener, :data:`SECURE_PORT`, where Kafka's command-line tools on a broker
  node log in as a client of the target would) serve the protocol chosen; SCRAM credentials
  are created when the storage is formatted (``kafka-storage format --add-scram``), PLAIN
  users are the listener's JAAS entries, SSL requires a client certificate signed by the
  run's CA; with ``acls``, the ``StandardAuthorizer`` with ``super.users`` and no access where
  no ACL matches.

The listeners that stay inside the run's private Docker network for in-network clients
without credentials (INTERNAL for the Flink job, REPLICATION and CONTROLLER between brokers)
stay PLAINTEXT; their principal, ``User:ANONYMOUS``, is a super user so that brokers and
controllers authorize each other. No port of theirs, nor SECURE's, is mapped to the host.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfchaos.redact import register_secret

from .tls import make_run_pki

__all__ = ["SecuritySettings", "RunSecurity", "PROTOCOLS", "MECHANISMS", "PRINCIPALS",
           "BROKER_TLS_DIR", "SECURE_PORT", "grant_workload"]

PROTOCOLS = ("SASL_SSL", "SSL")
MECHANISMS = ("SCRAM-SHA-512", "PLAIN")
ADMIN, WORKLOAD, INTRUDER = "admin", "workload", "intruder"
PRINCIPALS = (ADMIN, WORKLOAD, INTRUDER)
SECURED_LISTENERS = ("EXTERNAL", "PROXIED", "SECURE")
#: the in-network listener with the host listeners' security (Kafka's tools on a broker node use it)
SECURE_PORT = 9096
#: a client certificate's subject (CN=<principal>,O=...) as its principal's name
SSL_PRINCIPAL_RULES = "RULE:^CN=([^,]+),.*$/$1/,DEFAULT"
BROKER_TLS_DIR = "/etc/kafka/tls"
#: consumer groups the harness's workload clients make up themselves (final reads, group-less reads)
WORKLOAD_GROUP_PREFIXES = ("harness-final-reader-", "harness-nogroup-")
#: the default transactional ids of the harness's transactional producer
WORKLOAD_TXN_PREFIX = "txn-producer-"


@dataclass(frozen=True)
class SecuritySettings:
    """``platform.security`` of a profile."""
    protocol: str = "SASL_SSL"
    mechanism: str = "SCRAM-SHA-512"
    acls: bool = False


def private_dir_prefix(run_id: str) -> str:
    return f"chaos-{run_id}-tls-"


def remove_private_dirs(run_id: str) -> list[str]:
    """The private TLS dirs a run left (a run killed before its stop); what was removed."""
    root = Path(tempfile.gettempdir())
    gone = []
    for d in root.glob(private_dir_prefix(run_id) + "*"):
        shutil.rmtree(d, ignore_errors=True)
        gone.append(f"directory {d}")
    return gone


class RunSecurity:
    """The credentials, certificates and broker settings of one run (see the module docstring)."""

    def __init__(self, settings: SecuritySettings, hosts: list[str], run_id: str = ""):
        self.settings = settings
        self.mutual_tls = settings.protocol == "SSL"
        self.passwords = {} if self.mutual_tls else {p: secrets.token_urlsafe(24) for p in PRINCIPALS}
        for pw in self.passwords.values():
            register_secret(pw)             # masked in logs, errors and reports from now on
        self.pki = make_run_pki(hosts, run_id, PRINCIPALS if self.mutual_tls else ())
        self.dir = Path(tempfile.mkdtemp(prefix=private_dir_prefix(run_id)))
        self.dir.chmod(0o700)
        self.ca_file = self.dir / "ca.pem"
        self.ca_file.write_bytes(self.pki.ca_pem)
        for principal, (key, cert) in self.pki.clients.items():
            register_secret(key.decode())
            (self.dir / f"{principal}.pem").write_bytes(cert)
            fd = os.open(self.key_file(principal), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)

    def cert_file(self, principal: str) -> Path:
        return self.dir / f"{principal}.pem"

    def key_file(self, principal: str) -> Path:
        return self.dir / f"{principal}-key.pem"

    def close(self) -> None:
        """Remove the private temp dir (idempotent)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- clients -------------------------------------------------------------------------
    def client_settings(self, principal: str = ADMIN, password: str | None = None) -> dict[str, Any]:
        """librdkafka settings for ``principal`` (``password`` overrides its real one; SASL only)."""
        if self.mutual_tls:
            return {"security.protocol": "SSL", "ssl.ca.location": str(self.ca_file),
                    "ssl.certificate.location": str(self.cert_file(principal)),
                    "ssl.key.location": str(self.key_file(principal))}
        return {"security.protocol": self.settings.protocol, "sasl.mechanism": self.settings.mechanism,
                "sasl.username": principal,
                "sasl.password": self.passwords[principal] if password is None else password,
                "ssl.ca.location": str(self.ca_file)}

    # ---- brokers -------------------------------------------------------------------------
    def broker_files(self, host: str) -> dict[str, tuple[bytes, int]]:
        return {f"{BROKER_TLS_DIR}/broker.pem": (self.pki.brokers[host], 0o644),
                f"{BROKER_TLS_DIR}/ca.pem": (self.pki.ca_pem, 0o644)}

    def format_args(self) -> str:
        """``kafka-storage format`` arguments that create the SCRAM credentials ('' for PLAIN)."""
        if self.mutual_tls or not self.settings.mechanism.startswith("SCRAM-"):
            return ""
        return " ".join(f"--add-scram {self.settings.mechanism}=[name={p},password={pw}]"
                        for p, pw in self.passwords.items())

    def broker_properties(self, base: dict[str, Any]) -> dict[str, Any]:
        """Settings over the rendered server.properties ``base`` (listeners, advertised listeners
        and their protocol map): the SECURE listener is added and the host-facing ones secured."""
        host = base["advertised.listeners"].split("INTERNAL://", 1)[1].split(":", 1)[0]
        proto_map = ",".join(f"{name}:{self.settings.protocol}" if name in SECURED_LISTENERS else f"{name}:{proto}"
                             for name, proto in (item.split(":") for item in base["listener.security.protocol.map"]
                                                 .split(",")))
        props: dict[str, Any] = {
            "listeners": f"{base['listeners']},SECURE://0.0.0.0:{SECURE_PORT}",
            "advertised.listeners": f"{base['advertised.listeners']},SECURE://{host}:{SECURE_PORT}",
            "listener.security.protocol.map": f"{proto_map},SECURE:{self.settings.protocol}",
            "ssl.keystore.type": "PEM", "ssl.keystore.location": f"{BROKER_TLS_DIR}/broker.pem",
            "ssl.truststore.type": "PEM", "ssl.truststore.location": f"{BROKER_TLS_DIR}/ca.pem",
        }
        if self.mutual_tls:
            props.update({"ssl.client.auth": "required", "ssl.principal.mapping.rules": SSL_PRINCIPAL_RULES})
        else:
            mech = self.settings.mechanism
            props.update({"sasl.enabled.mechanisms": mech, "ssl.client.auth": "none"})
            for listener in SECURED_LISTENERS:
                props[f"listener.name.{listener.lower()}.{mech.lower()}.sasl.jaas.config"] = self._jaas()
        if self.settings.acls:
            props.update({"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                          "super.users": f"User:{ADMIN};User:ANONYMOUS",
                          "allow.everyone.if.no.acl.found": "false"})
        return props

    def _jaas(self) -> str:
        if self.settings.mechanism == "PLAIN":
            users = " ".join(f'user_{p}="{pw}"' for p, pw in self.passwords.items())
            return f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"
        return "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def workload_bindings(topic: str | None = None, group: str | None = None) -> list:
    """The ACLs the workload principal needs: read and write ``topic``, read ``group`` (and,
    the first time, the group-less reads' groups and the transactional producer's ids)."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    def allow(rtype, name, pattern, op) -> AclBinding:
        return AclBinding(rtype, name, pattern, f"User:{WORKLOAD}", "*", op, AclPermissionType.ALLOW)
    out = []
    if topic is not None:
        out += [allow(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, op)
                for op in (AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE)]
    if group is not None:
        out.append(allow(ResourceType.GROUP, group, ResourcePatternType.LITERAL, AclOperation.READ))
    return out


def base_bindings() -> list:
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    out = [AclBinding(ResourceType.GROUP, prefix, ResourcePatternType.PREFIXED, f"User:{WORKLOAD}", "*",
                      AclOperation.READ, AclPermissionType.ALLOW) for prefix in WORKLOAD_GROUP_PREFIXES]
    out += [AclBinding(ResourceType.TRANSACTIONAL_ID, WORKLOAD_TXN_PREFIX, ResourcePatternType.PREFIXED,
                       f"User:{WORKLOAD}", "*", op, AclPermissionType.ALLOW)
            for op in (AclOperation.WRITE, AclOperation.DESCRIBE)]
    return out


def grant_workload(admin, bindings: list, timeout: float = 30.0) -> int:
    """Create ``bindings`` with ``admin`` (a super user); returns how many were created."""
    if not bindings:
        return 0
    for fut in admin.create_acls(bindings, request_timeout=timeout).values():
        fut.result(timeout=timeout + 5)
    return len(bindings)


class LoginError(RuntimeError):
    """A Kafka client could not log in; the message is one line: what was rejected and what to check."""


def check_login(bootstrap: str, settings: dict[str, Any], timeout: float = 15.0) -> int:
    """Log in with ``settings`` (librdkafka security) and describe the cluster; returns how many
    brokers it lists. A rejected login, a failed TLS handshake or no answer is one LoginError line."""
    import threading
    import time

    from confluent_kafka.admin import AdminClient

    from .kafka_config import RDKAFKA_LOGGER
    errors: list[str] = []
    lock = threading.Lock()

    def on_error(err) -> None:
        with lock:
            errors.append(f"{err.name()}: {err.str()}")
    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": RDKAFKA_LOGGER, "error_cb": on_error, **settings})
    who = f"user {settings.get('sasl.username')!r} ({settings.get('sasl.mechanism')})"
    try:
        fut = admin.describe_cluster(request_timeout=timeout)
        deadline = time.monotonic() + timeout
        while not fut.done() and time.monotonic() < deadline:
            admin.poll(0.2)                 # serves error_cb: a rejected login is reported there
            if any("AUTHENTICATION" in e.upper() for e in errors):
                raise TimeoutError("login rejected")
        return len(fut.result(timeout=5).nodes)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the one line below
        seen = "; ".join(dict.fromkeys(errors)) or f"{type(exc).__name__}: {exc}"
        first = " ".join(seen.split())[:200]
        if any("AUTHENTICATION" in e.upper() for e in errors):
            raise LoginError(f"kafka at {bootstrap} rejected the SASL login of {who}: wrong password or unknown "
                             f"user ({first}); use the credentials of this run's principals") from None
        if any("SSL" in e.upper() for e in errors):
            raise LoginError(f"kafka at {bootstrap}: TLS handshake failed ({first}); the client needs this run's "
                             "CA (ssl.ca.location)") from None
        raise LoginError(f"kafka at {bootstrap}: no broker answered within {timeout:.0f}s ({first}); check that "
                         "the platform is up and the address") from None

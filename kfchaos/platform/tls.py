"""A certificate authority and broker certificates made for one run (``cryptography``).

``make_run_pki(names, clients)`` returns a fresh CA (ECDSA P-256, valid one day), one key +
certificate per broker host name and one per client principal (mutual TLS: the
certificate's common name is the principal), all signed by that CA. Each broker certificate names the
broker's Docker host name, ``localhost`` and ``127.0.0.1`` (host clients reach the
brokers on 127.0.0.1 and verify the name), so librdkafka's default endpoint
identification holds. Keys are unencrypted PKCS#8 PEM, as Kafka's PEM key store reads
them; they only ever live in the run's private temp dir and inside the containers.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Pki", "make_run_pki"]

VALID_FOR = dt.timedelta(days=1)


@dataclass
class Pki:
    ca_pem: bytes
    brokers: dict[str, bytes] = field(default_factory=dict)   # host name -> key + chain PEM (Kafka's PEM key store)
    clients: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)   # principal -> (key PEM, cert PEM)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kfchaos run"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_run_pki(hosts: list[str], run_id: str = "", clients: tuple[str, ...] = ()) -> Pki:
    """A CA, a certificate per host and one per client principal (see the module docstring)."""
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = _key()
    ca_name = _name(f"kfchaos CA {run_id}".strip())
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + VALID_FOR)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    pki = Pki(ca_pem=ca_pem)
    for host in hosts:
        key = _key()
        sans = [x509.DNSName(host), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca_name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + VALID_FOR)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pki.brokers[host] = _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM) + ca_pem
    for principal in clients:
        key = _key()
        cert = (x509.CertificateBuilder().subject_name(_name(principal)).issuer_name(ca_name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + VALID_FOR)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pki.clients[principal] = (_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))
    return pki

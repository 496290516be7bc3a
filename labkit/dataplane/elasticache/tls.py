"""Encryption in transit for the caches that enable it (TransitEncryptionEnabled): their redis-server speaks TLS
with a certificate for 127.0.0.1 (the endpoints' address) issued by a CA of the local cloud's own.

On AWS a cache's certificate chains to Amazon's public CA, which every client already trusts, so a client
connects with ssl=True and nothing else. Locally the same code works because the kernel, functions and tasks
verify with a bundle (config.trusted_cas_file(), their SSL_CERT_FILE) of the machine's public CAs and this CA;
its certificate alone is CA_FILE in the local cloud's state folder (`.labkit/elasticache-ca.pem`). Both are made
once and kept. The CA's key is never kept, and the CA may sign only loopback names (a name constraint): trusting
it trusts no other site."""

import datetime
import ipaddress
import os
import secrets
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labkit import config, pki
from labkit.files import write_atomically

CA_FILE = "elasticache-ca.pem"
_CA_NAME = "labkit local cloud ElastiCache CA"
_SERVER_NAMES = ["127.0.0.1", "localhost"]
_VALID_DAYS = 3650
_lock = threading.Lock()
_LOOPBACK_ONLY = x509.NameConstraints(
    permitted_subtrees=[x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")), x509.DNSName("localhost")],
    excluded_subtrees=None,
)


@dataclass(frozen=True)
class ServerFiles:
    certificate: Path
    key: Path
    ca_certificate: Path


def ca_certificate() -> Path:
    """The file of the CA's certificate, which a client trusts to reach a cache over TLS."""
    return server_files().ca_certificate


def server_files() -> ServerFiles:
    """The servers' certificate and key, the CA's certificate and the bundle that trusts it, made on first use
    (the local cloud's start-up)."""
    state = config.state_dir()
    files = ServerFiles(state / "elasticache-server.pem", state / "elasticache-server.key", state / CA_FILE)
    with _lock:
        made = not all(path.is_file() for path in (files.certificate, files.key, files.ca_certificate))
        if made:
            state.mkdir(parents=True, exist_ok=True)
            ca_key, ca = _new_ca()
            certificate, key = pki.issue(ca_key, ca, _SERVER_NAMES[0], names=_SERVER_NAMES, days=_VALID_DAYS)
            files.key.touch(mode=0o600)
            files.key.write_bytes(key)
            files.certificate.write_bytes(certificate)
            files.ca_certificate.write_bytes(pki.pem(ca))
        if made or not config.trusted_cas_file().is_file():
            write_atomically(config.trusted_cas_file(), _public_cas() + b"\n" + files.ca_certificate.read_bytes())
    return files


def client_context() -> ssl.SSLContext:
    """What a client that trusts the local CA connects with (the servers' readiness checks)."""
    return ssl.create_default_context(cafile=str(ca_certificate()))


def _public_cas() -> bytes:
    """The CAs a client trusts without the local cloud: the learner's own SSL_CERT_FILE (a company's proxy CA),
    else the system's bundle, else certifi's (where the system has none)."""
    for found in (os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().openssl_cafile):
        if found and Path(found) != config.trusted_cas_file() and Path(found).is_file():
            return Path(found).read_bytes()
    import certifi

    return Path(certifi.where()).read_bytes()


def _new_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    # A name of its own: a client finds a certificate's issuer by name, and a bundle may hold another local
    # cloud's CA (the learner's SSL_CERT_FILE, made by a cloud of another course folder) under the same name.
    unique = f"{_CA_NAME} {secrets.token_hex(4)}"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, unique)])
    now = datetime.datetime.now(datetime.UTC)
    signs_certificates = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # clocks differ a little
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(signs_certificates, critical=True)
        .add_extension(_LOOPBACK_ONLY, critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate

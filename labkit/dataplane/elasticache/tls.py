"""Encryption in transit for the caches that enable it (TransitEncryptionEnabled): their redis-server speaks TLS
with a certificate for 127.0.0.1 (the endpoints' address) issued by a CA of the local cloud's own.

On AWS a cache's certificate chains to Amazon's public CA, which every client already trusts; nothing trusts
the local CA unless told, so a client is given its certificate: the file CA_FILE in the local cloud's state
folder (`.labkit/elasticache-ca.pem`), made once and kept, so that a path written into code stays good."""

import datetime
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labkit import config, pki

CA_FILE = "elasticache-ca.pem"
_CA_NAME = "labkit local cloud ElastiCache CA"
_SERVER_NAMES = ["127.0.0.1", "localhost"]
_VALID_DAYS = 3650
_lock = threading.Lock()


@dataclass(frozen=True)
class ServerFiles:
    certificate: Path
    key: Path
    ca_certificate: Path


def ca_certificate() -> Path:
    """The file of the CA's certificate, which a client trusts to reach a cache over TLS."""
    return server_files().ca_certificate


def server_files() -> ServerFiles:
    """The servers' certificate and key and the CA's certificate, made on first use."""
    state = config.state_dir()
    files = ServerFiles(state / "elasticache-server.pem", state / "elasticache-server.key", state / CA_FILE)
    with _lock:
        if not all(path.is_file() for path in (files.certificate, files.key, files.ca_certificate)):
            state.mkdir(parents=True, exist_ok=True)
            ca_key, ca = _new_ca()
            certificate, key = pki.issue(ca_key, ca, _SERVER_NAMES[0], names=_SERVER_NAMES, days=_VALID_DAYS)
            files.key.touch(mode=0o600)
            files.key.write_bytes(key)
            files.certificate.write_bytes(certificate)
            files.ca_certificate.write_bytes(pki.pem(ca))
    return files


def client_context() -> ssl.SSLContext:
    """What a client that trusts the local CA connects with (the servers' readiness checks)."""
    return ssl.create_default_context(cafile=str(ca_certificate()))


def _new_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _CA_NAME)])
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
        .sign(key, hashes.SHA256())
    )
    return key, certificate

"""Certificates as a learner makes them for lab 07: a CA of their own, a server certificate for the load
balancer and client certificates for mutual TLS, as PEM bytes (the `cryptography` library)."""

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class CertificateAuthority:
    def __init__(self, name: str):
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lab 07"), _cn(name)])
        self.certificate = (
            _builder(subject, subject, self.key.public_key(), days=365)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(*[False] * 5, True, True, False, False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, common_name: str, client: bool = False, days: int = 30, expired: bool = False) -> tuple:
        """(certificate PEM, private key PEM) for a server (SANs: the name, localhost, 127.0.0.1) or a client."""
        key = ec.generate_private_key(ec.SECP256R1())
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = _builder(
            x509.Name([_cn(common_name)]), self.certificate.subject, key.public_key(), days=days, expired=expired
        ).add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if not client:
            loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            names = [x509.DNSName(common_name), x509.DNSName("localhost"), loopback]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        return certificate.public_bytes(serialization.Encoding.PEM), _pem_key(key)

    def revocation_list(self, *revoked_pems: bytes) -> bytes:
        """A CRL (PEM) of this CA that revokes the certificates given."""
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + datetime.timedelta(days=7))
        )
        for pem in revoked_pems:
            serial = x509.load_pem_x509_certificate(pem).serial_number
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def certificate_request(name: str) -> tuple[bytes, bytes]:
    """(private key PEM, CSR PEM) for a server named `name` and 127.0.0.1, for a CA such as ACM
    Private CA to sign."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([_cn(name)]))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem_key(key), request.public_bytes(serialization.Encoding.PEM)


def _cn(name: str) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.COMMON_NAME, name)


def _builder(subject, issuer, public_key, days: int, expired: bool = False) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=days + 1) if expired else now - datetime.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
    )

"""ACM on the local cloud: a private certificate (RequestCertificate with CertificateAuthorityArn) is
issued by that ACM Private CA, so a client that trusts the CA trusts the load balancer serving it.

moto makes every requested certificate itself, signed by no CA a client could trust. Here one requested
from an active private CA gets a key of its own and a certificate the CA signs (moto's acm-pca issues
real X.509) with the CA's certificate as its chain, as AWS does. Public certificates stay moto's: no
domain is validated locally, and no client would trust them.
"""

import base64
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from labkit.dataplane.core import seams
from labkit.dataplane.core.seams import Seam

END_ENTITY_TEMPLATE = "arn:aws:acm-pca:::template/EndEntityCertificate/V1"


def install() -> None:
    seams.declare(
        "acm: private certificates are issued by their private CA", "moto.acm.models", "labkit.dataplane.acm:SEAMS"
    )


def _issued_by_the_private_ca(generate_cert):
    def generate(cls, domain_name, account_id, region, sans=None, cert_authority_arn=None):
        from moto.acmpca.models import acmpca_backends

        authorities = acmpca_backends[account_id][region].certificate_authorities
        authority = authorities.get(cert_authority_arn) if cert_authority_arn else None
        if authority is None or authority.status != "ACTIVE":
            return generate_cert(cls, domain_name, account_id, region, sans, cert_authority_arn)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        request = _request(key, domain_name, sans or [])
        issued_arn = authority.issue_certificate(base64.b64encode(request), END_ENTITY_TEMPLATE)
        certificate, chain = authority.get_certificate(issued_arn)
        return cls(
            certificate=certificate,
            private_key=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            ),
            chain=chain,
            cert_type="PRIVATE",
            cert_status="ISSUED",
            cert_authority_arn=cert_authority_arn,
            account_id=account_id,
            region=region,
        )

    return classmethod(generate)


def _request(key, domain_name: str, sans: list[str]) -> bytes:
    names = []
    for name in dict.fromkeys([domain_name, *sans]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain_name)]))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


SEAMS = (
    Seam(
        "moto.acm.models.CertBundle.generate_cert",
        ("cls", "domain_name", "account_id", "region", "sans", "cert_authority_arn"),
        replace=_issued_by_the_private_ca,
    ),
    Seam("moto.acmpca.models.CertificateAuthority.issue_certificate", ("self", "csr_bytes", "template_arn")),
    Seam("moto.acmpca.models.CertificateAuthority.get_certificate", ("self", "certificate_arn")),
)

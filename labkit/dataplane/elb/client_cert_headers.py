"""The headers an ALB adds for its target about the client's certificate (Elastic Load Balancing,
"Mutual authentication with TLS in Application Load Balancer", HTTP headers):

- verify: X-Amzn-Mtls-Clientcert-Serial-Number (hexadecimal), -Issuer and -Subject (RFC 2253
  distinguished names), -Validity (ISO 8601 NotBefore=...;NotAfter=...) and -Leaf (the leaf
  certificate, URL-encoded PEM with +=/ as safe characters);
- passthrough: X-Amzn-Mtls-Clientcert, the whole chain the client sent, URL-encoded PEM.
"""

from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

PREFIX = "x-amzn-mtls-clientcert"


def headers(mode: str, chain: list[x509.Certificate]) -> dict[str, str]:
    if not chain:
        return {}
    if mode == "passthrough":
        return {"X-Amzn-Mtls-Clientcert": _url_encoded_pem(chain)}
    leaf = chain[0]
    return {
        "X-Amzn-Mtls-Clientcert-Serial-Number": format(leaf.serial_number, "X"),
        "X-Amzn-Mtls-Clientcert-Issuer": leaf.issuer.rfc4514_string(),
        "X-Amzn-Mtls-Clientcert-Subject": leaf.subject.rfc4514_string(),
        "X-Amzn-Mtls-Clientcert-Validity": (
            f"NotBefore={leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ};"
            f"NotAfter={leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
        ),
        "X-Amzn-Mtls-Clientcert-Leaf": _url_encoded_pem([leaf]),
    }


def _url_encoded_pem(certificates: list[x509.Certificate]) -> str:
    pem = b"".join(certificate.public_bytes(Encoding.PEM) for certificate in certificates).decode()
    return quote(pem, safe="+=/")

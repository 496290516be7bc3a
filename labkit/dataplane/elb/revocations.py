"""A trust store's revocation lists (AddTrustStoreRevocations: CRLs from S3, PEM or DER, each signed by one
of the trust store's CAs): a client certificate a CRL of its issuer lists is refused in the handshake, as
the ALB refuses it in verify mode."""

from dataclasses import dataclass

from cryptography import x509

from labkit.dataplane.elb import trust_stores


@dataclass
class Revocation:
    revocation_id: int
    crl: x509.CertificateRevocationList

    def describe(self, store_arn: str) -> dict:
        return {
            "TrustStoreArn": store_arn,
            "RevocationId": self.revocation_id,
            "RevocationType": "CRL",
            "NumberOfRevokedEntries": len(self.crl),
        }


def add(backend, arn: str, contents: list[dict]) -> list[Revocation]:
    store = trust_stores.get(backend, arn)
    crls = [_crl(backend.account_id, store, content) for content in contents]  # all read before any is kept
    added = []
    for crl in crls:
        revocation = Revocation(next(store.revocation_ids), crl)
        store.revocations[revocation.revocation_id] = revocation
        added.append(revocation)
    return added


def describe(backend, arn: str, ids: list[int]) -> list[Revocation]:
    store = trust_stores.get(backend, arn)
    if not ids:
        return list(store.revocations.values())
    return [_get(store, revocation_id) for revocation_id in ids]


def remove(backend, arn: str, ids: list[int]) -> None:
    store = trust_stores.get(backend, arn)
    for revocation_id in ids:
        _get(store, revocation_id)
    for revocation_id in ids:
        store.revocations.pop(revocation_id)


def revoked(store, certificate: x509.Certificate) -> bool:
    """Does a CRL of the certificate's issuer list it?"""
    return any(
        revocation.crl.issuer == certificate.issuer
        and revocation.crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
        for revocation in list(store.revocations.values())
    )


def _get(store, revocation_id: int) -> Revocation:
    from moto.elbv2.exceptions import ELBClientError

    found = store.revocations.get(int(revocation_id))
    if found is None:
        raise ELBClientError("RevocationIdNotFound", "The specified revocation ID does not exist.")
    return found


def _crl(account_id: str, store, content: dict) -> x509.CertificateRevocationList:
    from moto.elbv2.exceptions import ELBClientError

    data = trust_stores.s3_object(
        account_id, content.get("S3Bucket"), content.get("S3Key"), content.get("S3ObjectVersion")
    )
    if data is None:
        raise ELBClientError("RevocationContentNotFound", "The specified revocation file does not exist.")
    try:
        crl = x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----") else x509.load_der_x509_crl(data)
    except ValueError:
        crl = None
    if crl is None or not any(crl.is_signature_valid(ca.public_key()) for ca in store.certificates):
        raise ELBClientError(
            "InvalidRevocationContent",
            "The provided revocation file is an invalid format, or uses an incorrect algorithm.",
        )
    return crl

"""ELBv2 trust stores, which moto 5.2.5 does not have: the CA certificates a listener's mutual TLS
verifies client certificates against, read from S3 when the trust store is made (a later change to the
object changes nothing until ModifyTrustStore), kept on moto's ELBv2 backend (core.state).

A listener's MutualAuthentication names a trust store by ARN; DeleteTrustStore refuses one a listener
uses, as AWS does. Errors carry AWS's codes with the descriptions the ELBv2 API reference gives them.
"""

import itertools
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography import x509

from labkit.dataplane.core import state

_lock = threading.Lock()


@dataclass
class TrustStore:
    name: str
    arn: str
    bundle: bytes
    certificates: list[x509.Certificate]
    status: str = "ACTIVE"  # ready at once: there is nothing to wait for locally
    revocations: dict = field(default_factory=dict)  # revocation id -> revocations.Revocation
    revocation_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def describe(self) -> dict:
        return {
            "Name": self.name,
            "TrustStoreArn": self.arn,
            "Status": self.status,
            "NumberOfCaCertificates": len(self.certificates),
            "TotalRevokedEntries": sum(len(revocation.crl) for revocation in self.revocations.values()),
        }


def _error(code: str, message: str):
    from moto.elbv2.exceptions import ELBClientError

    return ELBClientError(code, message)


def _not_found():
    return _error("TrustStoreNotFound", "The specified trust store does not exist.")


def _stores(backend) -> dict[str, TrustStore]:
    return state.setdefault(backend, "trust_stores", dict)


def create(backend, name: str, bucket: str, key: str, version: str | None, tags: list[dict]) -> TrustStore:
    bundle, certificates = _read_bundle(backend.account_id, bucket, key, version)
    with _lock:
        stores = _stores(backend)
        if any(store.name == name for store in stores.values()):
            raise _error("DuplicateTrustStoreName", "A trust store with the specified name already exists.")
        where = f"{backend.region_name}:{backend.account_id}"
        arn = f"arn:aws:elasticloadbalancing:{where}:truststore/{name}/{secrets.token_hex(8)}"
        store = TrustStore(name, arn, bundle, certificates)
        stores[arn] = store
    backend.tagging_service.tag_resource(arn, tags)  # DescribeTags, AddTags, RemoveTags as for the rest
    return store


def modify(backend, arn: str, bucket: str, key: str, version: str | None) -> TrustStore:
    store = get(backend, arn)
    store.bundle, store.certificates = _read_bundle(backend.account_id, bucket, key, version)
    return store


def get(backend, arn: str) -> TrustStore:
    store = _stores(backend).get(arn)
    if store is None:
        raise _not_found()
    return store


def describe(backend, arns: list[str], names: list[str]) -> list[TrustStore]:
    stores = list(_stores(backend).values())
    if arns:
        return [get(backend, arn) for arn in arns]
    if names:
        found = [store for store in stores if store.name in names]
        if len(found) < len(set(names)):
            raise _not_found()
        return found
    return stores


def delete(backend, arn: str) -> None:
    get(backend, arn)
    if associations(backend, arn):
        raise _error("TrustStoreInUse", "The specified trust store is currently in use.")
    _stores(backend).pop(arn, None)
    backend.tagging_service.delete_all_tags_for_resource(arn)


def resource_by_arn(find):
    """moto's ELBv2Backend._get_resource_by_arn, which AddTags and RemoveTags check ARNs with, knowing
    trust stores too."""

    def found(self, arn: str):
        return get(self, arn) if ":truststore/" in arn else find(self, arn)

    return found


def associations(backend, arn: str) -> list[str]:
    """The ARNs of the listeners whose mutual authentication uses the trust store."""
    from labkit.dataplane.elb import mutual_auth

    return [
        listener.arn
        for balancer in list(backend.load_balancers.values())
        for listener in list(balancer.listeners.values())
        if mutual_auth.of(listener).get("TrustStoreArn") == arn
    ]


def s3_object(account_id: str, bucket: str | None, key: str | None, version: str | None) -> bytes | None:
    """The object's content, or None where there is no such bucket, key or version."""
    from moto.s3.models import s3_backends

    try:
        found = s3_backends[account_id]["global"].get_object(bucket, key, version_id=version)
    except Exception:  # moto raises each of them its own way
        return None
    return None if found is None else found.value


def _read_bundle(account_id: str, bucket: str, key: str, version: str | None) -> tuple[bytes, list]:
    bundle = s3_object(account_id, bucket, key, version)
    if bundle is None:
        raise _error("CaCertificatesBundleNotFound", "The specified ca certificate bundle does not exist.")
    try:
        certificates = x509.load_pem_x509_certificates(bundle)
    except ValueError:
        certificates = []
    if not certificates or not all(_is_ca(certificate) for certificate in certificates):
        raise _error(
            "InvalidCaCertificatesBundle", "The specified ca certificate bundle is in an invalid format, or corrupt."
        )
    return bundle, certificates


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False

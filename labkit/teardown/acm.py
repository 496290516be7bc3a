"""Certificates after the listeners that serve them (ACM refuses to delete a certificate in use), then
the private CAs: an active CA must be disabled before AWS deletes it, after a waiting period (the
shortest, 7 days, during which RestoreCertificateAuthority can bring it back)."""

from labkit.inventory import acm
from labkit.teardown.base import Deletion

RESTORE_PERIOD_DAYS = 7


def _delete_certificate_authority(client, authority) -> str:
    if authority.details["Status"] == "ACTIVE":
        client.update_certificate_authority(CertificateAuthorityArn=authority.id, Status="DISABLED")
    client.delete_certificate_authority(
        CertificateAuthorityArn=authority.id, PermanentDeletionTimeInDays=RESTORE_PERIOD_DAYS
    )
    return f"scheduled for deletion in {RESTORE_PERIOD_DAYS} days"


DELETIONS = (
    Deletion(
        acm.CERTIFICATE,
        lambda client, certificate: client.delete_certificate(CertificateArn=certificate.id),
        busy_codes=("ResourceInUseException",),
    ),
    Deletion(acm.CERTIFICATE_AUTHORITY, _delete_certificate_authority),
)

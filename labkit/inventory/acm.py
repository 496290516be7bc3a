"""Certificates: those in ACM (imported, or issued for a load balancer's HTTPS listener) and the
private certificate authorities of ACM Private CA that issue a course's own certificates."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import pages_unless_gone, unless_gone


def _certificates(clients, wanted):
    client = clients("acm")
    for summary in pages(client, "list_certificates", "CertificateSummaryList"):
        arn = summary["CertificateArn"]
        found = unless_gone(client.list_tags_for_certificate, CertificateArn=arn)
        if found is None:
            continue
        tags = tag_dict(found.get("Tags"))
        if wanted(tags):
            name = summary.get("DomainName") or arn.rsplit("/", 1)[-1]
            full_name = f"{name} ({arn.rsplit('/', 1)[-1][:8]})"
            yield Resource(id=arn, name=name, full_name=full_name, arn=arn, tags=tags, details=summary)


def _certificate_authorities(clients, wanted):
    client = clients("acm-pca")
    for authority in pages(client, "list_certificate_authorities", "CertificateAuthorities"):
        if authority["Status"] == "DELETED":  # kept by AWS for its restore period, already gone
            continue
        arn = authority["Arn"]
        pairs = pages_unless_gone(client, "list_tags", "Tags", CertificateAuthorityArn=arn)
        tags = tag_dict(pairs)
        if pairs is None or not wanted(tags):
            continue
        subject = authority.get("CertificateAuthorityConfiguration", {}).get("Subject", {})
        name = subject.get("CommonName") or arn.rsplit("/", 1)[-1]
        full_name = f"{name} ({arn.rsplit('/', 1)[-1][:8]})"
        yield Resource(id=arn, name=name, full_name=full_name, arn=arn, tags=tags, details=authority)


CERTIFICATE = Kind("ACM certificate", "acm", _certificates)
CERTIFICATE_AUTHORITY = Kind("ACM private CA", "acm-pca", _certificate_authorities)
KINDS = (CERTIFICATE, CERTIFICATE_AUTHORITY)

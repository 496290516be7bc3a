"""Secrets Manager secrets (those scheduled for deletion are not listed)."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource


def _secrets(clients, wanted):
    # The list carries the tags.
    for secret in pages(clients("secretsmanager"), "list_secrets", "SecretList"):
        tags = tag_dict(secret.get("Tags"))
        if wanted(tags):
            yield Resource(id=secret["ARN"], name=secret["Name"], arn=secret["ARN"], tags=tags, details=secret)


SECRET = Kind("Secrets Manager secret", "secretsmanager", _secrets)
KINDS = (SECRET,)

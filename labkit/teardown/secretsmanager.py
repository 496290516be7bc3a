"""Secrets Manager secrets, deleted at once (no recovery window: the course's are samples)."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource


def find_secrets(client, wanted):
    # The list carries the tags; secrets already scheduled for deletion are not listed.
    for secret in pages(client, "list_secrets", "SecretList"):
        tags = tag_dict(secret.get("Tags"))
        if wanted(tags):
            yield Resource(id=secret["ARN"], name=secret["Name"], tags=tags)


KINDS = (
    Kind(
        "Secrets Manager secret",
        "secretsmanager",
        find_secrets,
        lambda client, secret: client.delete_secret(SecretId=secret.id, ForceDeleteWithoutRecovery=True),
    ),
)

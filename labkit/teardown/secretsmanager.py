"""Secrets Manager secrets, deleted at once (no recovery window: the course's are samples)."""

from labkit.inventory import secretsmanager
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(
        secretsmanager.SECRET,
        lambda client, secret: client.delete_secret(SecretId=secret.id, ForceDeleteWithoutRecovery=True),
    ),
)

"""ECR repositories, deleted with their images (force)."""

from labkit.inventory import ecr
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(
        ecr.REPOSITORY, lambda client, repository: client.delete_repository(repositoryName=repository.id, force=True)
    ),
)

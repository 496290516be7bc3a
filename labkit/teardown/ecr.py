"""ECR repositories, deleted with their images (force)."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource, unless_gone


def find_repositories(client, wanted):
    for repository in pages(client, "describe_repositories", "repositories"):
        pairs = unless_gone(client.list_tags_for_resource, "tags", resourceArn=repository["repositoryArn"])
        tags = tag_dict(pairs)
        if pairs is not None and wanted(tags):
            yield Resource(id=repository["repositoryName"], name=repository["repositoryName"], tags=tags)


KINDS = (
    Kind(
        "ECR repository",
        "ecr",
        find_repositories,
        lambda client, repository: client.delete_repository(repositoryName=repository.id, force=True),
    ),
)

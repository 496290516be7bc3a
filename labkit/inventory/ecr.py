"""ECR repositories."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _repositories(clients, wanted):
    client = clients("ecr")
    for repository in pages(client, "describe_repositories", "repositories"):
        answer = unless_gone(client.list_tags_for_resource, resourceArn=repository["repositoryArn"])
        tags = tag_dict(answer.get("tags") if answer else None)
        if answer is not None and wanted(tags):
            yield Resource(
                id=repository["repositoryName"],
                name=repository["repositoryName"],
                arn=repository["repositoryArn"],
                tags=tags,
                details=repository,
            )


REPOSITORY = Kind("ECR repository", "ecr", _repositories)
KINDS = (REPOSITORY,)

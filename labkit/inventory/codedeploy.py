"""CodeDeploy applications and their deployment groups, by their tags (ListTagsForResource takes an
ARN, which CodeDeploy's list and get calls do not give: it is made from the account and region)."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _arn_prefix(clients) -> str:
    account = clients("sts").get_caller_identity()["Account"]
    return f"arn:aws:codedeploy:{clients.region}:{account}"


def _tags(client, arn: str) -> dict[str, str] | None:
    found = unless_gone(client.list_tags_for_resource, ResourceArn=arn)
    return None if found is None else tag_dict(found.get("Tags"))


def _applications(clients, wanted):
    client, prefix = clients("codedeploy"), None
    for name in pages(client, "list_applications", "applications"):
        prefix = prefix or _arn_prefix(clients)
        arn = f"{prefix}:application:{name}"
        tags = _tags(client, arn)
        if tags is not None and wanted(tags):
            yield Resource(id=name, name=name, arn=arn, tags=tags)


def _deployment_groups(clients, wanted):
    client, prefix = clients("codedeploy"), None
    for application in pages(client, "list_applications", "applications"):
        prefix = prefix or _arn_prefix(clients)
        groups = unless_gone(client.list_deployment_groups, applicationName=application)
        for group in (groups or {}).get("deploymentGroups") or []:
            arn = f"{prefix}:deploymentgroup:{application}/{group}"
            tags = _tags(client, arn)
            if tags is not None and wanted(tags):
                yield Resource(
                    id=group,
                    name=group,
                    full_name=f"{application}/{group}",
                    arn=arn,
                    tags=tags,
                    details={"applicationName": application},
                )


DEPLOYMENT_GROUP = Kind("CodeDeploy deployment group", "codedeploy", _deployment_groups)
APPLICATION = Kind("CodeDeploy application", "codedeploy", _applications)
KINDS = (DEPLOYMENT_GROUP, APPLICATION)

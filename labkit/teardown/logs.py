"""CloudWatch Logs log groups (their streams and events go with them)."""

from labkit.awsapi import pages
from labkit.teardown.base import Kind, Resource, unless_gone


def find_log_groups(client, wanted):
    for group in pages(client, "describe_log_groups", "logGroups"):
        # Tag calls take the ARN without the ":*" that the older "arn" field ends with.
        arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
        tags = unless_gone(client.list_tags_for_resource, "tags", resourceArn=arn)
        if tags is not None and wanted(tags):
            yield Resource(id=group["logGroupName"], name=group["logGroupName"], tags=tags)


KINDS = (
    Kind(
        "CloudWatch log group",
        "logs",
        find_log_groups,
        lambda client, group: client.delete_log_group(logGroupName=group.id),
    ),
)

"""CloudWatch Logs log groups, and the metric filters on them (which carry no tags: their log group's)."""

from labkit.awsapi import pages
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _log_groups(clients, wanted):
    client = clients("logs")
    for group in pages(client, "describe_log_groups", "logGroups"):
        # Tag calls take the ARN without the ":*" that the older "arn" field ends with.
        arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
        answer = unless_gone(client.list_tags_for_resource, resourceArn=arn)
        tags = (answer.get("tags") if answer else None) or {}
        if answer is not None and wanted(tags):
            name = group["logGroupName"]
            yield Resource(id=name, name=name, arn=arn, tags=tags, details=group)


def _metric_filters(clients, wanted):
    client = clients("logs")
    for group in _log_groups(clients, wanted):
        for found in pages(client, "describe_metric_filters", "metricFilters", logGroupName=group.id):
            name = found["filterName"]
            yield Resource(id=name, name=name, arn="", tags=group.tags, full_name=f"{group.id}: {name}", details=found)


LOG_GROUP = Kind("CloudWatch log group", "logs", _log_groups)
METRIC_FILTER = Kind("CloudWatch Logs metric filter", "logs", _metric_filters)
KINDS = (METRIC_FILTER, LOG_GROUP)

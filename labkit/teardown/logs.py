"""CloudWatch Logs log groups (their streams and events go with them), after their metric filters (which
AWS deletes with the group; moto keeps them)."""

from labkit.inventory import logs
from labkit.teardown.base import Deletion


def _delete_metric_filter(client, metric_filter):
    client.delete_metric_filter(logGroupName=metric_filter.details["logGroupName"], filterName=metric_filter.id)


DELETIONS = (
    Deletion(logs.METRIC_FILTER, _delete_metric_filter),
    Deletion(logs.LOG_GROUP, lambda client, group: client.delete_log_group(logGroupName=group.id)),
)

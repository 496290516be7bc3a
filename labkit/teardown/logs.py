"""CloudWatch Logs log groups (their streams and events go with them)."""

from labkit.inventory import logs
from labkit.teardown.base import Deletion

DELETIONS = (Deletion(logs.LOG_GROUP, lambda client, group: client.delete_log_group(logGroupName=group.id)),)

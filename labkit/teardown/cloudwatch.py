"""CloudWatch alarms: composite alarms before the alarms their rules name."""

from labkit.inventory import cloudwatch
from labkit.teardown.base import Deletion


def _delete(client, alarm):
    client.delete_alarms(AlarmNames=[alarm.id])


DELETIONS = (Deletion(cloudwatch.COMPOSITE_ALARM, _delete), Deletion(cloudwatch.ALARM, _delete))

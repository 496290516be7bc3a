"""CloudWatch dashboards (found by the alarms they show, so before them), then alarms: composite alarms
before the alarms their rules name."""

from labkit.inventory import cloudwatch
from labkit.teardown.base import Deletion


def _delete(client, alarm):
    client.delete_alarms(AlarmNames=[alarm.id])


def _delete_dashboard(client, dashboard):
    client.delete_dashboards(DashboardNames=[dashboard.id])


DELETIONS = (
    Deletion(cloudwatch.DASHBOARD, _delete_dashboard),
    Deletion(cloudwatch.COMPOSITE_ALARM, _delete),
    Deletion(cloudwatch.ALARM, _delete),
)

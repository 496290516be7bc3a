"""CloudWatch alarms the course tagged (PutMetricAlarm and PutCompositeAlarm take Tags), composite ones
apart: they go first, as an alarm a composite alarm's rule names cannot be deleted before it. The alarms
target tracking makes carry no tags and are Application Auto Scaling's (labkit.inventory.autoscaling).
Dashboards are not listed: a dashboard cannot be tagged ("the only CloudWatch resources that can be tagged
are alarms and Contributor Insights rules", CloudWatch API Reference, TagResource), so nothing says whose
it is."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _alarms(clients, wanted, key: str, alarm_type: str):
    client = clients("cloudwatch")
    for alarm in pages(client, "describe_alarms", key, AlarmTypes=[alarm_type]):
        answer = unless_gone(client.list_tags_for_resource, ResourceARN=alarm["AlarmArn"])
        tags = tag_dict(answer.get("Tags") if answer else None)
        if answer is not None and wanted(tags):
            name = alarm["AlarmName"]
            yield Resource(id=name, name=name, arn=alarm["AlarmArn"], tags=tags, details=alarm)


def _metric_alarms(clients, wanted):
    return _alarms(clients, wanted, "MetricAlarms", "MetricAlarm")


def _composite_alarms(clients, wanted):
    return _alarms(clients, wanted, "CompositeAlarms", "CompositeAlarm")


COMPOSITE_ALARM = Kind("CloudWatch composite alarm", "cloudwatch", _composite_alarms)
ALARM = Kind("CloudWatch alarm", "cloudwatch", _metric_alarms)
KINDS = (COMPOSITE_ALARM, ALARM)

"""CloudWatch alarms the course tagged (PutMetricAlarm and PutCompositeAlarm take Tags), composite ones
apart: they go first, as an alarm a composite alarm's rule names cannot be deleted before it. The alarms
target tracking makes carry no tags and are Application Auto Scaling's (labkit.inventory.autoscaling).

A dashboard cannot be tagged ("the only CloudWatch resources that can be tagged are alarms and Contributor
Insights rules", CloudWatch API Reference, TagResource): one is the course's when an alarm widget of it
shows a tagged alarm of the course, and it takes that alarm's tags (as a metric filter takes its log
group's). A dashboard that shows none of the course's alarms is nobody's the inventory can tell."""

import json

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


def _dashboards(clients, wanted):
    alarm_tags = {
        alarm.arn: alarm.tags for kind in (_composite_alarms, _metric_alarms) for alarm in kind(clients, wanted)
    }
    if not alarm_tags:
        return
    client = clients("cloudwatch")
    for entry in pages(client, "list_dashboards", "DashboardEntries"):
        found = unless_gone(client.get_dashboard, DashboardName=entry["DashboardName"])
        shown = _alarms_shown(found.get("DashboardBody", "{}")) if found else []
        owner = next((alarm_tags[arn] for arn in shown if arn in alarm_tags), None)
        if owner is not None:
            name = entry["DashboardName"]
            yield Resource(id=name, name=name, arn=entry["DashboardArn"], tags=owner, details=entry)


def _alarms_shown(body: str) -> list[str]:
    """The alarm ARNs a dashboard body shows: an alarm widget's "alarms", a metric widget's annotations'."""
    try:
        widgets = json.loads(body).get("widgets", [])
    except (ValueError, AttributeError):
        return []
    shown = []
    for widget in widgets if isinstance(widgets, list) else []:
        properties = widget.get("properties", {}) if isinstance(widget, dict) else {}
        annotations = properties.get("annotations", {})
        for arns in (
            properties.get("alarms", []),
            annotations.get("alarms", []) if isinstance(annotations, dict) else [],
        ):
            shown += [arn for arn in arns if isinstance(arn, str)] if isinstance(arns, list) else []
    return shown


DASHBOARD = Kind("CloudWatch dashboard", "cloudwatch", _dashboards)
COMPOSITE_ALARM = Kind("CloudWatch composite alarm", "cloudwatch", _composite_alarms)
ALARM = Kind("CloudWatch alarm", "cloudwatch", _metric_alarms)
KINDS = (DASHBOARD, COMPOSITE_ALARM, ALARM)

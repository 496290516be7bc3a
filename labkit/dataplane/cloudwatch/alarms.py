"""Metric alarms as CloudWatch keeps them, over moto's (which start OK and never change state):

- a new alarm starts INSUFFICIENT_DATA, "Unchecked: Initial alarm creation"; PutMetricAlarm on an
  existing alarm leaves its state unchanged ("When you update an existing alarm, its state is left
  unchanged, but the update completely overwrites the previous configuration": AWS::CloudWatch::Alarm,
  CloudFormation User Guide);
- each change of state (the engine's, SetAlarmState's) is a StateUpdate in the alarm's history and,
  with ActionsEnabled, runs the actions of the new state, each an Action in the history;
- DescribeAlarmHistory, which moto lacks, answers from that history (kept two weeks on AWS; here while
  the local cloud runs).
"""

import functools
import json

from labkit.dataplane.cloudwatch import metric_math, notifications, reasons
from labkit.dataplane.core import state as kept
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.core.seams import Seam

INITIAL_REASON = "Unchecked: Initial alarm creation"
HISTORY = "alarm history"
MAX_HISTORY = 1000


def _keeping_state(put_metric_alarm):
    @functools.wraps(put_metric_alarm)
    def put(self, name, *args, **kwargs):
        queries = kwargs.get("metric_data_queries") or []
        # An anomaly detection alarm (ThresholdMetricId) returns its band too; any other, one series only.
        if queries and not kwargs.get("threshold_metric_id") and sum(map(metric_math.returns_data, queries)) != 1:
            from moto.cloudwatch.exceptions import ValidationError

            raise ValidationError("Exactly one element of the metrics list should return data.")
        before = self.alarms.get(name)
        alarm = put_metric_alarm(self, name, *args, **kwargs)
        if before is not None:
            for attribute in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp"):
                setattr(alarm, attribute, getattr(before, attribute))
            alarm.state_transitioned_timestamp = getattr(before, "state_transitioned_timestamp", None)
        else:
            alarm.state_value, alarm.state_reason, alarm.state_reason_data = "INSUFFICIENT_DATA", INITIAL_REASON, None
            alarm.state_transitioned_timestamp = alarm.state_updated_timestamp
        _record(
            self,
            alarm,
            "ConfigurationUpdate",
            f'Alarm "{name}" {"updated" if before is not None else "created"}',
            {"type": "Update" if before is not None else "Create", "version": "1.0"},
        )
        return alarm

    return put


def _update_state(self, reason: str, reason_data: str | None, state_value: str) -> None:
    """A change of state: AWS's StateUpdate history item, then the new state's actions."""
    old = (self.state_value, self.state_reason, self.state_reason_data)
    self.state_reason, self.state_reason_data, self.state_value = reason, reason_data, state_value
    self.state_updated_timestamp = reasons.now()
    if old[0] == state_value:
        return
    self.state_transitioned_timestamp = self.state_updated_timestamp
    backend = _backend_of(self)
    _record(
        backend,
        self,
        "StateUpdate",
        f"Alarm updated from {old[0]} to {state_value}",
        {
            "version": "1.0",
            "oldState": _state_data(*old),
            "newState": _state_data(state_value, reason, reason_data),
        },
    )
    if not self.actions_enabled:
        return
    for action in filter(notifications.is_topic, notifications.actions_for(self, state_value)):
        succeeded = notifications.publish(self, action, old[0])
        _record(
            backend,
            self,
            "Action",
            f"{'Successfully executed' if succeeded else 'Failed to execute'} action {action}",
            {"actionState": "Succeeded" if succeeded else "Failed", "notificationResource": action},
        )


def _state_data(value: str, reason: str, reason_data: str | None) -> dict:
    data = {"stateValue": value, "stateReason": reason}
    if reason_data:
        data["stateReasonData"] = json.loads(reason_data)
    return data


def _record(backend, alarm, kind: str, summary: str, data: dict) -> None:
    history = kept.setdefault(backend, HISTORY, list)
    history.insert(
        0,
        {
            "AlarmName": alarm.name,
            "AlarmType": "CompositeAlarm" if alarm.rule else "MetricAlarm",
            "Timestamp": reasons.now(),
            "HistoryItemType": kind,
            "HistorySummary": summary,
            "HistoryData": json.dumps(data),
        },
    )
    del history[MAX_HISTORY:]


def _describe_alarm_history(self):
    from moto.core.responses import ActionResult

    name = self._get_param("AlarmName")
    kind = self._get_param("HistoryItemType")
    types = self._get_param("AlarmTypes") or ["MetricAlarm"]
    start, end = self._get_param("StartDate"), self._get_param("EndDate")
    items = [
        item
        for item in kept.get(self.cloudwatch_backend, HISTORY, [])
        if (name is None or item["AlarmName"] == name)
        and (kind is None or item["HistoryItemType"] == kind)
        and item["AlarmType"] in types
        and (start is None or item["Timestamp"] >= reasons.naive_utc(start))
        and (end is None or item["Timestamp"] <= reasons.naive_utc(end))
    ]
    if self._get_param("ScanBy") == "TimestampAscending":
        items.reverse()
    offset = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxRecords") or 100)
    page = items[offset : offset + size]
    result = {"AlarmHistoryItems": page}
    if offset + size < len(items):
        result["NextToken"] = str(offset + size)
    return ActionResult(result)


def _backend_of(alarm):
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[Arn.parse(alarm.alarm_arn).account][alarm.region_name]


SEAMS = (
    Seam("moto.cloudwatch.models.CloudWatchBackend.put_metric_alarm", replace=_keeping_state),
    Seam(
        "moto.cloudwatch.models.Alarm.update_state",
        ("self", "reason", "reason_data", "state_value"),
        replace=lambda _: _update_state,
    ),
    # SetAlarmState changes the state through Alarm.update_state.
    Seam("moto.cloudwatch.models.CloudWatchBackend.set_alarm_state", contains=".update_state(reason, reason_data"),
    Seam(
        "moto.cloudwatch.responses.CloudWatchResponse.describe_alarm_history", replace=lambda _: _describe_alarm_history
    ),
)

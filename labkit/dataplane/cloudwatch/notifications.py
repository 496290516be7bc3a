"""An alarm's actions: the SNS notification CloudWatch publishes to each topic among the actions of the
state it enters, through moto's SNS (the SNS data plane delivers it to queues, functions, email).

The message is the JSON AWS sends (aws/aws-lambda-go, events/testdata/cloudwatch-alarm-sns-payload-
single-metric.json): AlarmName, AlarmDescription, AWSAccountId, NewStateValue, NewStateReason,
StateChangeTime, Region (its long name), AlarmArn, OldStateValue, Trigger {MetricName, Namespace,
StatisticType, Statistic (upper case) or ExtendedStatistic, Unit, Dimensions [{value, name}], Period,
EvaluationPeriods, ComparisonOperator, Threshold, TreatMissingData, EvaluateLowSampleCountPercentile};
the subject is 'ALARM: "name" in <region>'. Other actions (Auto Scaling, EC2, Lambda) are not run here."""

import json
import traceback

from labkit.dataplane.cloudwatch import metric_math, reasons
from labkit.dataplane.core.arns import Arn

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-north-1": "EU (Stockholm)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
}


def actions_for(alarm, state: str) -> list[str]:
    return {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }[state] or []


def is_topic(action: str) -> bool:
    """Only SNS topics are run locally (not Auto Scaling, EC2 or Lambda actions)."""
    return action.startswith("arn:") and action.split(":")[2] == "sns"


def publish(alarm, topic_arn: str, old_state: str) -> bool:
    """Publish the alarm's notification to the topic; False when it could not be (no such topic)."""
    from moto.sns.models import sns_backends

    arn = Arn.parse(topic_arn)
    region = REGION_NAMES.get(alarm.region_name, alarm.region_name)
    try:
        sns_backends[arn.account][arn.region].publish(
            json.dumps(message(alarm, old_state, region)),
            arn=topic_arn,
            subject=f'{alarm.state_value}: "{alarm.name}" in {region}'[:100],
        )
    except Exception:  # a topic deleted since: AWS records the failed action and goes on
        traceback.print_exc()
        return False
    return True


def message(alarm, old_state: str, region: str) -> dict:
    account = Arn.parse(alarm.alarm_arn).account
    trigger = _metric_math_trigger(alarm) if alarm.metric_data_queries else _metric_trigger(alarm)
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": reasons.timestamp(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": reasons.timestamp(alarm.state_updated_timestamp),
        "Region": region,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": alarm.ok_actions,
        "AlarmActions": alarm.alarm_actions,
        "InsufficientDataActions": alarm.insufficient_data_actions,
        "Trigger": trigger,
    }


def _metric_trigger(alarm) -> dict:
    return {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
        **(
            {"ExtendedStatistic": alarm.extended_statistic}
            if alarm.extended_statistic
            else {"Statistic": (alarm.statistic or "").upper()}
        ),
        "Unit": alarm.unit,
        "Dimensions": _dimensions(alarm.dimensions),
        **_evaluation(alarm),
    }


def _metric_math_trigger(alarm) -> dict:
    """As aws/aws-lambda-go's events/testdata/cloudwatch-alarm-sns-payload-multiple-metrics.json."""
    metrics = []
    for query in alarm.metric_data_queries:
        found = {"Id": query.id, "ReturnData": metric_math.returns_data(query)}
        if query.expression:
            found.update(Expression=query.expression, Label=query.label or query.id)
        else:
            stat = query.metric_stat
            metric = {"Dimensions": _dimensions(stat.metric.dimensions), "MetricName": stat.metric.metric_name}
            found["MetricStat"] = {
                "Metric": {**metric, "Namespace": stat.metric.namespace},
                "Period": int(stat.period),
                "Stat": stat.stat,
            }
        metrics.append(found)
    return {**_evaluation(alarm), "Metrics": metrics}


def _evaluation(alarm) -> dict:
    return {
        "Period": metric_math.period_of(alarm),
        "EvaluationPeriods": int(alarm.evaluation_periods),
        **({"DatapointsToAlarm": int(alarm.datapoints_to_alarm)} if alarm.datapoints_to_alarm else {}),
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": float(alarm.threshold),
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }


def _dimensions(dimensions) -> list[dict]:
    return [{"value": d.value, "name": d.name} for d in dimensions]

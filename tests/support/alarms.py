"""The alarm a canary's rollback listens to."""

import boto3


def first_error_alarm(name: str, namespace: str, metric: str, dimensions: dict[str, str]) -> None:
    """An alarm in ALARM once the metric's Sum reaches 1 in a minute (one local second), OK without data:
    the first error of a canary rolls it back."""
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": key, "Value": value} for key, value in dimensions.items()],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )

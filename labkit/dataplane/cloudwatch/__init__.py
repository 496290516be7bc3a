"""CloudWatch on the local cloud: alarms that change state, and the metrics AWS services publish.

- alarms.py: metric alarms as CloudWatch keeps them (initial state, history, actions), over moto's;
- engine.py: every alarm evaluated each period on the local clock (evaluation.py: the missing-data
  rules, statistics.py, reasons.py: AWS's wording), its actions published to SNS (notifications.py);
- metrics.py: the data plane's metrics aggregated in memory and put into moto's backend each second;
  service_metrics.py names them as AWS/Lambda, AWS/ApplicationELB, AWS/ApiGateway and AWS/SQS do
  (sqs_counts.py counts SQS's messages), and reading.py reads them back as AWS does; emf.py extracts
  metrics from a Lambda function's embedded metric format lines, and metric_filters.py from the events
  put into a log group with metric filters;
- dashboards.py: PutDashboard refuses widgets CloudWatch refuses;
- widget_images.py: GetMetricWidgetImage, a metric widget (metric_widgets.py) drawn as a PNG
  (widget_drawing.py) from the metrics as reading.py reads them.
Other services report through the functions below.
"""

import functools
import traceback

from labkit.dataplane.cloudwatch import emf, engine, metrics, service_metrics
from labkit.dataplane.core import seams


def _never_failing(report):
    """A metric that cannot be recorded must not fail the invocation or request it is about."""

    @functools.wraps(report)
    def reporting(*args, **kwargs) -> None:
        try:
            report(*args, **kwargs)
        except Exception:
            traceback.print_exc()

    return reporting


def install() -> None:
    seams.declare(
        "cloudwatch: alarms change state and act",
        # models, not responses: other services make alarms in-process (target tracking's).
        "moto.cloudwatch.models",
        "labkit.dataplane.cloudwatch.alarms:SEAMS",
        then=engine.start,
    )
    seams.declare(
        "cloudwatch: metrics read as AWS reads them",
        "moto.cloudwatch.models",
        "labkit.dataplane.cloudwatch.reading:SEAMS",
    )
    seams.declare(
        "cloudwatch: dashboards validated as CloudWatch validates them",
        "moto.cloudwatch.models",
        "labkit.dataplane.cloudwatch.dashboards:SEAMS",
    )
    seams.declare(
        "cloudwatch: metric widgets are drawn",
        "moto.cloudwatch.responses",
        "labkit.dataplane.cloudwatch.widget_images:SEAMS",
    )
    seams.declare(
        "cloudwatch: SQS publishes its metrics", "moto.sqs.models", "labkit.dataplane.cloudwatch.sqs_counts:SEAMS"
    )
    seams.declare(
        "cloudwatch: metric filters make metrics",
        "moto.logs.models",
        "labkit.dataplane.cloudwatch.metric_filters:SEAMS",
    )
    metrics.sample_every_second(service_metrics.sample_queues)


@_never_failing
def lambda_invoked(fn, invoked_arn: str, errored: bool, started_s: float, duration_ms: float, log_lines) -> None:
    """An invocation of moto's LambdaFunction fn has ended: its metrics, and those of its EMF lines."""
    service_metrics.lambda_invoked(fn, invoked_arn, errored, duration_ms, started_s)
    emf.extract(fn.account_id, fn.region, log_lines)


@_never_failing
def lambda_throttled(fn) -> None:
    """An invocation of moto's LambdaFunction fn was throttled (over its concurrency limit)."""
    service_metrics.lambda_throttled(fn)


@_never_failing
def alb_request(balancer, group, status: int, from_target: bool, target_seconds: float | None) -> None:
    service_metrics.alb_request(balancer, group, status, from_target, target_seconds)


@_never_failing
def api_request(kind: str, account: str, region: str, api, stage: str, status: int, seconds: float) -> None:
    """A request an API Gateway API ("rest" or "http") answered."""
    service_metrics.api_request(kind, account, region, api, stage, status, seconds)


def alarm_state(account: str, region: str, name: str) -> str | None:
    """An alarm's state (OK, ALARM, INSUFFICIENT_DATA) as the engine has evaluated it; None when there
    is no such alarm. What a deployment that watches alarms reads (ECS's and CodeDeploy's rollbacks)."""
    alarm = _alarm(account, region, name)
    return None if alarm is None else alarm.state_value


def alarm_window_seconds(account: str, region: str, name: str) -> float:
    """How long (AWS seconds) an alarm takes to see a change: its window (Period x EvaluationPeriods) and
    the period whose end evaluates it; 0 for no such alarm."""
    alarm = _alarm(account, region, name)
    return 0.0 if alarm is None else float((alarm.period or 0) * ((alarm.evaluation_periods or 1) + 1))


def _alarm(account: str, region: str, name: str):
    import sys

    if "moto.cloudwatch.models" not in sys.modules:
        return None  # no alarm can have been made yet
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region].alarms.get(name)


def middleware(app):
    def wsgi(environ, start_response):
        # CloudWatch API calls (signed for the "monitoring" service, whatever their protocol) see
        # every metric recorded before them.
        if "/monitoring/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
            metrics.flush()
        return app(environ, start_response)

    return wsgi


def reset() -> None:
    metrics.forget_pending()

"""The metrics AWS services publish, named, dimensioned and in the units AWS documents:

- AWS/Lambda ("Types of metrics for Lambda functions", Lambda Developer Guide): Invocations, Errors
  (function errors and timeouts: "binary indicators of the outcome of an invocation", so 0 for an
  invocation without one), Duration (Milliseconds), under no dimension ("Across All Functions"),
  FunctionName, and for an invocation of a version or alias FunctionName+Resource (name:qualifier),
  and of an alias FunctionName+Resource+ExecutedVersion; Throttles (invocations refused over a concurrency
  limit, which count in none of the others) under no dimension and FunctionName;
- AWS/ApplicationELB ("CloudWatch metrics for your Application Load Balancer"): RequestCount,
  HTTPCode_Target_nXX_Count, HTTPCode_ELB_nXX_Count, TargetResponseTime (Seconds) under LoadBalancer
  (app/name/id) and TargetGroup+LoadBalancer (targetgroup/name/id); published only when not zero;
- AWS/ApiGateway: a REST API's Count, 4XXError and 5XXError (0 or 1 for each request: their Average is
  the error rate), Latency (Milliseconds), under ApiName and ApiName+Stage ("Amazon API Gateway
  dimensions and metrics"); an HTTP API's Count, 4xx, 5xx and Latency under ApiId and ApiId+Stage
  ("Monitor CloudWatch metrics for HTTP APIs");
- AWS/SQS ("Available CloudWatch metrics for Amazon SQS"): NumberOfMessagesSent, NumberOfMessagesReceived,
  NumberOfMessagesDeleted, ApproximateNumberOfMessagesVisible, ApproximateAgeOfOldestMessage (Seconds)
  under QueueName, the last two sampled each minute (each local second).
"""

import sys
import time

from labkit.dataplane.cloudwatch import metrics

COUNT, MILLISECONDS, SECONDS = "Count", "Milliseconds", "Seconds"
metrics.keep_samples("Duration", "TargetResponseTime", "Latency")


def lambda_invoked(fn, invoked_arn: str, errored: bool, duration_ms: float, started_s: float) -> None:
    """Stamped when the function was invoked ("The timestamp on a metric reflects when the function
    was invoked", Lambda Developer Guide, "Working with Lambda function metrics")."""
    name = fn.function_name
    sets = [(), (("FunctionName", name),)]
    qualifier = invoked_arn.split(":")[7] if invoked_arn.count(":") >= 7 else None
    if qualifier and qualifier != "$LATEST":
        resource = (("FunctionName", name), ("Resource", f"{name}:{qualifier}"))
        sets.append(resource)
        if not qualifier.isdigit():  # an alias: which of its versions ran
            sets.append((*resource, ("ExecutedVersion", str(fn.version))))
    samples = (
        ("Invocations", 1.0, COUNT),
        ("Errors", 1.0 if errored else 0.0, COUNT),
        ("Duration", duration_ms, MILLISECONDS),
    )
    metrics.record(fn.account_id, fn.region, "AWS/Lambda", samples, sets, at=started_s)


def lambda_throttled(fn) -> None:
    sets = [(), (("FunctionName", fn.function_name),)]
    metrics.record(fn.account_id, fn.region, "AWS/Lambda", [("Throttles", 1.0, COUNT)], sets)


def alb_request(balancer, group, status: int, from_target: bool, target_seconds: float | None) -> None:
    """One request a load balancer answered: from a target of group, or itself (group None when no
    rule forwarded it)."""
    account, region = balancer.arn.split(":")[4], balancer.arn.split(":")[3]
    balancer_only = (("LoadBalancer", balancer.arn.split(":loadbalancer/", 1)[-1]),)
    sets = [balancer_only]
    if group is not None:
        sets.append((("TargetGroup", group.arn.split(":")[-1]), *balancer_only))
    where = (account, region, "AWS/ApplicationELB")
    samples = [("RequestCount", 1.0, COUNT)]
    if from_target:
        samples.append((f"HTTPCode_Target_{status // 100}XX_Count", 1.0, COUNT))
        if target_seconds is not None:
            samples.append(("TargetResponseTime", target_seconds, SECONDS))
    elif status >= 400:
        metrics.record(*where, [(f"HTTPCode_ELB_{status // 100}XX_Count", 1.0, COUNT)], [balancer_only])
    metrics.record(*where, samples, sets)


def api_request(kind: str, account: str, region: str, api, stage: str, status: int, seconds: float) -> None:
    if kind == "rest":
        api_only, errors = (("ApiName", api.name),), ("4XXError", "5XXError")
    else:
        api_only, errors = (("ApiId", api.api_id),), ("4xx", "5xx")
    samples = (
        ("Count", 1.0, COUNT),
        (errors[0], 1.0 if 400 <= status < 500 else 0.0, COUNT),
        (errors[1], 1.0 if status >= 500 else 0.0, COUNT),
        ("Latency", seconds * 1000, MILLISECONDS),
    )
    metrics.record(account, region, "AWS/ApiGateway", samples, (api_only, (*api_only, ("Stage", stage))))


def sqs_counted(queue, name: str, count: int) -> None:
    if count:
        metrics.record(queue.account_id, queue.region, "AWS/SQS", [(name, float(count), COUNT)], [_queue(queue)])


def sample_queues() -> None:
    """The depth and the oldest message's age of every queue, once a local second."""
    if "moto.sqs.models" not in sys.modules:  # no queue yet: do not load SQS for nothing
        return
    from moto.sqs.models import sqs_backends

    now_ms = time.time() * 1000
    for regions in list(sqs_backends.values()):
        for backend in list(regions.values()):
            for queue in list(backend.queues.values()):
                messages = list(queue._messages)
                visible = sum(1 for m in messages if m.visible and not m.delayed)
                oldest = min((m.sent_timestamp for m in messages if m.sent_timestamp), default=None)
                age = max(0.0, (now_ms - oldest) / 1000) if oldest else 0.0
                samples = (
                    ("ApproximateNumberOfMessagesVisible", float(visible), COUNT),
                    ("ApproximateAgeOfOldestMessage", age, SECONDS),
                )
                metrics.record(queue.account_id, queue.region, "AWS/SQS", samples, [_queue(queue)])


def _queue(queue) -> tuple:
    return (("QueueName", queue.name),)

"""Lab 08 · observability: a correlation id across HTTP, SNS and SQS in structured logs, Logs Insights,
checkout's own metrics in EMF, alarms that fire for the right reason (statistic, missing data, an SNS
action), an SLO with its error budget, a dashboard, and CloudTrail naming who changed a queue."""

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

from labkit import waits
from labkit.awsapi import policy_statements
from labkit.checks import FAILED, Lab
from labkit.checks.learner import LearnerCodeError

lab = Lab("08", "Observability: CloudWatch, OpenTelemetry")

CHECKOUT, NOTIFICATIONS, API = "checkout", "notifications", "shop"
TOPIC, QUEUE, DLQ, OPS_TOPIC = "order-events", "notifications", "notifications-dlq", "ops-alerts"
NAMESPACE, DASHBOARD, CLEANUP_SCRIPT = "Bookshop", "bookshop", "cleanup-script"
STOREFRONT, SLOW_PART, SLOW_S = "storefront", "price basket", 0.3
DLQ_ALARM, AGE_ALARM, SLO_ALARM = "notifications-dlq-depth", "notifications-message-age", "checkout-error-rate"
CHECK_PREFIX = "labkit-check-"


def _json_lines(ctx, service: str, since_ms: int):
    """(log stream, line) for each JSON object the function env.name(service) logged since since_ms."""
    logs = ctx.client("logs")
    group = f"/aws/lambda/{ctx.env.name(service)}"
    try:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms):
            for event in page["events"]:
                try:
                    line = json.loads(event["message"])
                except ValueError:
                    continue
                if isinstance(line, dict):
                    yield event["logStreamName"], line
    except logs.exceptions.ResourceNotFoundException:
        return


def _logged(ctx, service: str, since_ms: int, matches) -> dict | None:
    """The first JSON line the function env.name(service) logged since since_ms that matches, or None."""
    return next((line for _, line in _json_lines(ctx, service, since_ms) if matches(line)), None)


def _wait_for_line(ctx, service: str, since_ms: int, matches) -> dict | None:
    deadline = time.monotonic() + waits.minutes(1, at_least_s=15)
    while (line := _logged(ctx, service, since_ms, matches)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    return line


def _checkout_event(correlation_id: str | None, body: dict) -> dict:
    """POST /checkout as an HTTP API (payload 2.0) gives it to the function."""
    headers = {"content-type": "application/json"}
    if correlation_id:
        headers["x-correlation-id"] = correlation_id
    return {
        "version": "2.0",
        "routeKey": "POST /checkout",
        "rawPath": "/checkout",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/checkout"}},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _place_order(ctx, correlation_id: str | None) -> dict:
    answer = ctx.invoke(
        ctx.env.name(CHECKOUT),
        _checkout_event(correlation_id, {"items": [{"book_id": 1, "qty": 1}]}),
        fix="deploy it in step 1",
    )
    ctx.expect(
        isinstance(answer, dict) and answer.get("statusCode") == 201,
        f"expected checkout to answer 201 to an order of book 1, found {answer!r}",
    )
    return answer


@lab.check(
    "checkout-correlation-id",
    "Checkout answers with the caller's correlation id, or a new one",
    step=1,
    hints=[
        'Headers arrive lower-cased in `headers`: headers.get("x-correlation-id"), and when there is none, '
        "str(uuid.uuid4()).",
        "The handler returns it already in the x-correlation-id response header: only `correlation_id` is yours.",
    ],
)
def checkout_keeps_the_correlation_id(ctx):
    sent = CHECK_PREFIX + uuid.uuid4().hex[:8]
    returned = (_place_order(ctx, sent).get("headers") or {}).get("x-correlation-id")
    ctx.expect(
        returned == sent,
        f"expected checkout to answer with the x-correlation-id {sent!r} it was given, found {returned!r}",
    )
    made = (_place_order(ctx, None).get("headers") or {}).get("x-correlation-id")
    ctx.expect(
        isinstance(made, str) and len(made) >= 8,
        f"expected checkout to make a correlation id when the request has none, found {made!r}",
    )


@lab.check(
    "notifications-reads-the-id",
    "Notifications logs the correlation id of each message it receives",
    step=1,
    hints=[
        "Each record has messageAttributes: {'correlation_id': {'stringValue': '...', 'dataType': 'String'}}.",
        'attribute = record.get("messageAttributes", {}).get("correlation_id"); correlation_id = '
        'attribute["stringValue"] if attribute else None',
    ],
)
def notifications_reads_the_id(ctx):
    sns = ctx.client("sns")
    topic_arn = f"arn:aws:sns:{ctx.env.region}:{ctx.env.account_id}:{ctx.env.name(TOPIC)}"
    sent, order_id = CHECK_PREFIX + uuid.uuid4().hex[:8], "o-" + CHECK_PREFIX + uuid.uuid4().hex[:8]
    since_ms = int(time.time() * 1000) - 1000
    placed = {
        "event_type": "OrderPlaced",
        "order_id": order_id,
        "items": [{"book_id": 1, "qty": 1}],
        "total_cents": 3999,
    }
    with ctx.not_done_if_missing(f"SNS topic {ctx.env.name(TOPIC)!r}", "run the cell before step 1"):
        sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps(placed),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": sent}},
        )
    line = _wait_for_line(ctx, NOTIFICATIONS, since_ms, lambda found: found.get("order_id") == order_id)
    if line is None:
        ctx.not_done(
            f"notifications logged nothing about the order {order_id} published to {ctx.env.name(TOPIC)} with the "
            "correlation id: is it deployed, and its handler written (step 1)?"
        )
    ctx.expect(
        line.get("correlation_id") == sent,
        f"expected notifications to log the correlation_id {sent!r} of the message it received, found "
        f"{line.get('correlation_id')!r}: read it from the record's messageAttributes",
    )


@lab.check(
    "id-crosses-the-queue",
    "The correlation id checkout was given reaches notifications' log",
    step=1,
    hints=[
        "HTTP headers end at checkout. Across SNS and SQS the id travels as a message attribute of the publish.",
        'sns.publish(TopicArn=..., Message=json.dumps(placed), MessageAttributes={"correlation_id": '
        '{"DataType": "String", "StringValue": correlation_id}})',
    ],
)
def id_crosses_the_queue(ctx):
    sent = CHECK_PREFIX + uuid.uuid4().hex[:8]
    since_ms = int(time.time() * 1000) - 1000
    order_id = json.loads(_place_order(ctx, sent).get("body") or "{}").get("id")
    line = _wait_for_line(ctx, NOTIFICATIONS, since_ms, lambda found: found.get("order_id") == order_id)
    if line is None:
        ctx.fail(
            f"checkout placed the order {order_id}, but notifications logged nothing about it: "
            "does checkout publish it?"
        )
    ctx.expect(
        line.get("correlation_id") == sent,
        f"checkout was given the correlation id {sent!r} for the order {order_id}, but notifications logged "
        f"{line.get('correlation_id')!r}: the id was dropped at the queue. Publish it as the message attribute "
        "correlation_id",
    )


@lab.check(
    "insights-query",
    "One Logs Insights query finds a request in both services' logs",
    step=1,
    hints=[
        "logs.start_query(logGroupNames=groups, startTime=..., endTime=..., queryString='fields @timestamp, service, "
        'message, order_id | filter correlation_id = "..." | sort @timestamp asc\')',
        'Then logs.get_query_results(queryId=...) until its "status" is "Complete", and return its "results".',
    ],
)
def insights_query(ctx):
    sent = CHECK_PREFIX + uuid.uuid4().hex[:8]
    since_ms = int(time.time() * 1000) - 1000
    order_id = json.loads(_place_order(ctx, sent).get("body") or "{}").get("id")
    line = _wait_for_line(ctx, NOTIFICATIONS, since_ms, lambda found: found.get("order_id") == order_id)
    if (line or {}).get("correlation_id") != sent:
        ctx.fail(
            f"notifications did not log the correlation id {sent!r} of the order {order_id}, so no query can find "
            "the request in both log groups: make the id reach notifications first (the checks above)"
        )
    trace_of = ctx.learner_function("trace_of")
    deadline = time.monotonic() + waits.minutes(1, at_least_s=20)
    services = set()
    while time.monotonic() < deadline:
        rows = trace_of(sent)
        ctx.expect(isinstance(rows, list), f"expected trace_of to return the query's results, a list, found {rows!r}")
        fields = [{f.get("field"): f.get("value") for f in row} for row in rows]
        services = {row.get("service") for row in fields}
        if services >= {"checkout", "notifications"}:
            return
        time.sleep(1)
    ctx.fail(
        f"expected trace_of({sent!r}) to find the request's lines of checkout and notifications, found "
        f"{sorted(s for s in services if s) or 'none'}: query both log groups, with the service field"
    )


@lab.check(
    "emf-metrics",
    "Checkout publishes OrdersPlaced and OrderValue in the namespace Bookshop",
    step=2,
    hints=[
        'An EMF document: {"_aws": {"Timestamp": ms, "CloudWatchMetrics": [{"Namespace": "Bookshop", "Dimensions": '
        '[["Service"]], "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}, ...]}]}, "Service": function_name, '
        '"OrdersPlaced": 1, ...}',
        "Every name in Dimensions and Metrics must also be a member of the document, with its value.",
    ],
)
def emf_metrics(ctx):
    cloudwatch = ctx.client("cloudwatch")
    service = [{"Name": "Service", "Value": ctx.env.name(CHECKOUT)}]
    since = datetime.now(UTC) - timedelta(seconds=1)
    order_id = json.loads(_place_order(ctx, CHECK_PREFIX + uuid.uuid4().hex[:8])["body"])["id"]
    since_ms = int(since.timestamp() * 1000)
    # Before the metrics: those of earlier orders in the same minute would hide a broken document.
    _expect_a_valid_emf_document(ctx, order_id, since_ms)

    def placed() -> list[dict]:
        return cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName="OrdersPlaced",
            Dimensions=service,
            StartTime=since,
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum", "SampleCount"],
        )["Datapoints"]

    deadline = time.monotonic() + waits.minutes(3, at_least_s=20)
    while not (found := placed()) and time.monotonic() < deadline:
        time.sleep(1)
    if not found:
        elsewhere = [
            f"in {m['Namespace']} with {[(d['Name'], d['Value']) for d in m.get('Dimensions', [])]}"
            for m in cloudwatch.list_metrics(MetricName="OrdersPlaced")["Metrics"]
            if (m["Namespace"], m.get("Dimensions")) != (NAMESPACE, service)
        ]
        ctx.expect(
            not elsewhere,
            f"expected the metric OrdersPlaced in the namespace {NAMESPACE} with the dimension Service="
            f"{ctx.env.name(CHECKOUT)}, found it " + "; ".join(elsewhere[:3]),
        )
        _expect_a_valid_emf_document(ctx, order_id, since_ms)
        ctx.not_done(
            f"checkout placed an order, but no OrdersPlaced datapoint in the namespace {NAMESPACE} came of it: "
            "write order_metrics and deploy checkout again (step 2)"
        )
    # The document may have reached the log only now, on a busy machine: a broken one must not pass unread.
    _expect_a_valid_emf_document(ctx, order_id, since_ms)
    per_order = sum(d["Sum"] for d in found) / sum(d["SampleCount"] for d in found)
    ctx.expect(per_order == 1, f"expected OrdersPlaced to count 1 per order, found {per_order} per order")
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, MetricName="OrderValue", Dimensions=service)["Metrics"]
    ctx.expect(
        bool(listed),
        f"expected the metric OrderValue in the namespace {NAMESPACE} with the dimension Service="
        f"{ctx.env.name(CHECKOUT)} too, found none",
    )


def _expect_a_valid_emf_document(ctx, order_id: str, since_ms: int) -> None:
    """CloudWatch Logs makes no metric of an EMF document that names a dimension or a metric it lacks."""
    deadline = time.monotonic() + waits.minutes(1, at_least_s=15)
    while (document := _emf_document_of(ctx, order_id, since_ms)) is None:
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)
    directives = document["_aws"].get("CloudWatchMetrics") or [{}]
    named = [name for names in directives[0].get("Dimensions", []) for name in names]
    named += [metric.get("Name") for metric in directives[0].get("Metrics", [])]
    absent = [name for name in named if name not in document]
    ctx.expect(
        not absent,
        f"checkout printed an EMF document that names {absent} without a member of that name, found the members "
        f"{sorted(key for key in document if key != '_aws')}: CloudWatch Logs made no metric of it. Every name in "
        "Dimensions and Metrics must also be a member, with its value",
    )


def _emf_document_of(ctx, order_id: str, since_ms: int) -> dict | None:
    """The EMF document checkout printed for this order: the first after its "order placed" line, in the same
    log stream. Documents of other orders (an earlier deployment's among them) must not stand in for it."""
    placed_in = None
    for stream, line in _json_lines(ctx, CHECKOUT, since_ms):
        if placed_in is None and line.get("order_id") == order_id:
            placed_in = stream
        elif stream == placed_in and isinstance(line.get("_aws"), dict):
            return line
    return None


def _alarm(ctx, name: str) -> dict:
    found = ctx.client("cloudwatch").describe_alarms(AlarmNames=[ctx.env.name(name)])["MetricAlarms"]
    if not found:
        ctx.missing(f"alarm {ctx.env.name(name)!r}", "put it in step 3")
    return found[0]


def _ops_topic(ctx) -> str:
    return f"arn:aws:sns:{ctx.env.region}:{ctx.env.account_id}:{ctx.env.name(OPS_TOPIC)}"


def _expect_queue_alarm(ctx, name: str, metric: str, queue: str, *, evaluation_periods: int, missing: str, why: str):
    alarm = _alarm(ctx, name)
    label = ctx.env.name(name)
    found_metric = (alarm.get("Namespace"), alarm.get("MetricName"))
    ctx.expect(found_metric == ("AWS/SQS", metric), f"expected {label} on AWS/SQS {metric}, found {found_metric}")
    dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    ctx.expect(
        dimensions == {"QueueName": ctx.env.name(queue)},
        f"expected {label} on the dimension QueueName={ctx.env.name(queue)}, found {dimensions}",
    )
    statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    ctx.expect(
        statistic == "Maximum",
        f"expected {label} on the statistic Maximum, found {statistic}: {metric} is a gauge sampled each minute, "
        "and its worst sample is what waits; an Average hides it, a Sum adds samples up into a number "
        "nobody waited for",
    )
    ctx.expect(alarm.get("Period") == 60, f"expected {label} over a period of 60 s, found {alarm.get('Period')} s")
    ctx.expect(
        alarm.get("EvaluationPeriods") == evaluation_periods,
        f"expected {label} over {evaluation_periods} evaluation period(s), found {alarm.get('EvaluationPeriods')}",
    )
    treated = alarm.get("TreatMissingData", "missing")
    ctx.expect(treated == missing, f"expected {label} to treat missing data as {missing}, found {treated}: {why}")
    ctx.expect(
        _ops_topic(ctx) in alarm.get("AlarmActions", []),
        f"expected {label} to notify {_ops_topic(ctx)} in ALARM, found {alarm.get('AlarmActions')}",
    )
    return alarm


@lab.check(
    "dlq-alarm",
    "An alarm on the dead-letter queue's depth pages ops-alerts",
    step=3,
    hints=[
        "AWS/SQS ApproximateNumberOfMessagesVisible of the DLQ, Statistic Maximum, Period 60, EvaluationPeriods 1, "
        "Threshold 0, GreaterThanThreshold.",
        'TreatMissingData "notBreaching": SQS stops reporting a queue inactive for 6 hours, and an empty, quiet DLQ '
        "is good news.",
    ],
)
def dlq_alarm(ctx):
    alarm = _expect_queue_alarm(
        ctx,
        DLQ_ALARM,
        "ApproximateNumberOfMessagesVisible",
        DLQ,
        evaluation_periods=1,
        missing="notBreaching",
        why="a DLQ nobody writes to goes quiet, and that must not page anyone",
    )
    fires_at_one = (alarm.get("ComparisonOperator"), alarm.get("Threshold")) in (
        ("GreaterThanThreshold", 0.0),
        ("GreaterThanOrEqualToThreshold", 1.0),
    )
    ctx.expect(
        fires_at_one,
        f"expected {ctx.env.name(DLQ_ALARM)} to fire at one message (GreaterThanThreshold 0), found "
        f"{alarm.get('ComparisonOperator')} {alarm.get('Threshold')}",
    )


@lab.check(
    "age-alarm",
    "An alarm on the oldest message's age, that breaches when the age goes missing",
    step=3,
    hints=[
        "AWS/SQS ApproximateAgeOfOldestMessage of the notifications queue, Statistic Maximum, Period 60, "
        "EvaluationPeriods 5, Threshold 300, GreaterThanThreshold.",
        'TreatMissingData "breaching": SQS publishes the age every minute, even at 0, so silence means the queue '
        "(or the alarm's dimension) is wrong.",
    ],
)
def age_alarm(ctx):
    alarm = _expect_queue_alarm(
        ctx,
        AGE_ALARM,
        "ApproximateAgeOfOldestMessage",
        QUEUE,
        evaluation_periods=5,
        missing="breaching",
        why="SQS publishes the age every minute, even at 0, so no datapoint means the queue or the alarm's "
        "dimension is wrong, and an alarm that cannot fire must not look green",
    )
    found = (alarm.get("ComparisonOperator"), alarm.get("Threshold"))
    ctx.expect(
        found == ("GreaterThanThreshold", 300.0),
        f"expected {ctx.env.name(AGE_ALARM)} to fire above 300 s (GreaterThanThreshold 300), "
        f"found {found[0]} {found[1]}",
    )


@lab.check(
    "slo-alarm",
    "Checkout's SLO: an alarm on its error rate above 1 %",
    step=3,
    hints=[
        'Metrics=[{"Id": "rate", "Expression": "100 * FILL(errors, 0) / invocations", "ReturnData": True}, '
        '{"Id": "errors", "MetricStat": checkout_sum("Errors"), "ReturnData": False}, {"Id": "invocations", ...}]',
        'Threshold 1, GreaterThanThreshold, EvaluationPeriods 5, DatapointsToAlarm 3, TreatMissingData "notBreaching".',
    ],
)
def slo_alarm(ctx):
    alarm = _alarm(ctx, SLO_ALARM)
    label = ctx.env.name(SLO_ALARM)
    queries = alarm.get("Metrics") or []
    ctx.expect(
        bool(queries), f"expected {label} on metric math (Metrics=[...]), found one metric, {alarm.get('MetricName')}"
    )
    returned = [q for q in queries if q.get("ReturnData", True)]
    ctx.expect(
        len(returned) == 1 and "Expression" in returned[0],
        f"expected one expression with ReturnData True in {label}, found {[q.get('Id') for q in returned]}",
    )
    stats = {q["Id"]: q["MetricStat"] for q in queries if "MetricStat" in q}
    by_metric = {s["Metric"]["MetricName"]: (query_id, s) for query_id, s in stats.items()}
    for metric in ("Errors", "Invocations"):
        if metric not in by_metric:
            ctx.fail(f"expected {label} to read checkout's AWS/Lambda {metric}, found {sorted(by_metric)}")
        query_id, stat = by_metric[metric]
        dimensions = {d["Name"]: d["Value"] for d in stat["Metric"].get("Dimensions", [])}
        ctx.expect(
            stat["Metric"].get("Namespace") == "AWS/Lambda" and dimensions == {"FunctionName": ctx.env.name(CHECKOUT)},
            f"expected {label}'s {metric} of AWS/Lambda FunctionName={ctx.env.name(CHECKOUT)}, found "
            f"{stat['Metric'].get('Namespace')} {dimensions}",
        )
        ctx.expect(
            stat.get("Stat") == "Sum",
            f"expected {label}'s {metric} with the statistic Sum (counts add up), found {stat.get('Stat')}",
        )
        ctx.expect(
            re.search(rf"\b{re.escape(query_id)}\b", returned[0]["Expression"]) is not None,
            f"expected the expression of {label} to use {query_id}, the id of its {metric}, found "
            f"{returned[0]['Expression']!r}",
        )
    found = (alarm.get("ComparisonOperator"), alarm.get("Threshold"))
    ctx.expect(
        found == ("GreaterThanThreshold", 1.0),
        f"expected {label} to fire above 1 (% of checkouts failing: the SLO is 99 %), found {found[0]} {found[1]}",
    )
    window = (alarm.get("DatapointsToAlarm", alarm.get("EvaluationPeriods")), alarm.get("EvaluationPeriods"))
    ctx.expect(window == (3, 5), f"expected {label} to fire on 3 of 5 periods, found {window[0]} of {window[1]}")
    treated = alarm.get("TreatMissingData", "missing")
    ctx.expect(
        treated == "notBreaching",
        f"expected {label} to treat missing data as notBreaching, found {treated}: a minute without traffic has "
        "no errors",
    )
    ctx.expect(_ops_topic(ctx) in alarm.get("AlarmActions", []), f"expected {label} to notify {_ops_topic(ctx)}")


@lab.check(
    "error-budget",
    "error_budget_left says what the SLO still allows to fail",
    step=3,
    hints=[
        "The budget is invocations * (1 - slo) failures; what is left is 1 - errors / budget.",
        "With no traffic nothing is spent: return 1.0 first when invocations is 0.",
    ],
)
def error_budget(ctx):
    left = ctx.learner_function("error_budget_left")
    for (invocations, errors), expected in (((1000, 5), 0.5), ((0, 0), 1.0), ((100, 2), -1.0), ((200, 0), 1.0)):
        try:
            found = left(invocations, errors, 0.99)
        except LearnerCodeError as error:
            if error.status != FAILED:
                raise
            ctx.fail(
                f"expected error_budget_left({invocations}, {errors}, 0.99) to be {expected}, but {error}"
                + (": with no traffic nothing is spent, so return 1.0 before dividing" if not invocations else "")
            )
        ctx.expect(
            isinstance(found, int | float) and abs(found - expected) < 1e-9,
            f"expected error_budget_left({invocations}, {errors}, 0.99) to be {expected}, found {found!r}",
        )


@lab.check(
    "dashboard",
    "The dashboard shows the three alarms and checkout's orders",
    step=3,
    hints=[
        '{"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 3, "properties": {"title": "Alarms", '
        '"alarms": alarm_arns}}',
        '{"type": "metric", ..., "properties": {..., "metrics": [["Bookshop", "OrdersPlaced", "Service", '
        'env.name("checkout")]]}}',
    ],
)
def dashboard(ctx):
    cloudwatch = ctx.client("cloudwatch")
    name = ctx.env.name(DASHBOARD)
    listed = cloudwatch.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    if name not in [entry["DashboardName"] for entry in listed]:
        ctx.missing(f"dashboard {name!r}", "put it in step 3")
    body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    widgets = body.get("widgets", [])
    shown = {arn for w in widgets if w.get("type") == "alarm" for arn in w.get("properties", {}).get("alarms", [])}
    for name in (DLQ_ALARM, AGE_ALARM, SLO_ALARM):
        arn = _alarm(ctx, name)["AlarmArn"]
        ctx.expect(arn in shown, f"expected an alarm widget of the dashboard to show {arn}, found {sorted(shown)}")
    wanted = [NAMESPACE, "OrdersPlaced", "Service", ctx.env.name(CHECKOUT)]
    metrics = [m for w in widgets if w.get("type") == "metric" for m in w.get("properties", {}).get("metrics", [])]
    ctx.expect(
        any(list(m[:4]) == wanted for m in metrics),
        f"expected a metric widget of the dashboard to show {wanted}, found {metrics}",
    )


def _alarmed_at(ctx, name: str) -> list[datetime]:
    """When the alarm went to ALARM, newest first."""
    found = ctx.client("cloudwatch").describe_alarm_history(
        AlarmName=ctx.env.name(name), HistoryItemType="StateUpdate", MaxRecords=100
    )
    return [item["Timestamp"] for item in found["AlarmHistoryItems"] if item["HistorySummary"].endswith("to ALARM")]


@lab.check(
    "right-alarm-fired",
    "With notifications broken, the DLQ alarm paged and checkout's SLO stayed green",
    step=4,
    hints=[
        "Run the step's first cell: it breaks notifications, places orders and waits for the DLQ alarm.",
        "Then deploy notifications_file again and sqs.start_message_move_task(SourceArn=dlq_arn).",
    ],
)
def right_alarm_fired(ctx):
    state = _alarm(ctx, DLQ_ALARM)["StateValue"]
    _alarm(ctx, SLO_ALARM)
    dlq_alarmed = _alarmed_at(ctx, DLQ_ALARM)
    if not dlq_alarmed:
        ctx.not_done(f"{ctx.env.name(DLQ_ALARM)} has never been in ALARM yet: run the step's first cell")
    # Only since notifications broke: checkouts that failed in an earlier step may have fired it before.
    slo_alarmed = [moment for moment in _alarmed_at(ctx, SLO_ALARM) if moment >= dlq_alarmed[0]]
    ctx.expect(
        not slo_alarmed,
        f"expected {ctx.env.name(SLO_ALARM)} to stay out of ALARM while notifications was broken, found it went to "
        f"ALARM at {slo_alarmed[-1]:%H:%M:%S} UTC, after {ctx.env.name(DLQ_ALARM)} (at "
        f"{dlq_alarmed[0]:%H:%M:%S}): were checkouts failing then?"
        if slo_alarmed
        else "",
    )
    ctx.invoke(
        ctx.env.name(NOTIFICATIONS),
        _sqs_event(CHECK_PREFIX + uuid.uuid4().hex[:8]),
        raised=lambda error: (
            f"notifications still raises {error}: deploy notifications_file again, then move the DLQ's messages back"
        ),
        fix="deploy it in step 1",
    )
    sqs = ctx.client("sqs")
    with ctx.not_done_if_missing(f"SQS queue {ctx.env.name(DLQ)!r}", "run the cell before step 1"):
        dlq_url = sqs.get_queue_url(QueueName=ctx.env.name(DLQ))["QueueUrl"]
    counts = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    waiting = sum(int(count) for count in counts.values())
    ctx.expect(
        waiting == 0,
        f"expected the dead-letter queue {ctx.env.name(DLQ)} to be empty again, found {waiting} message(s) in it: "
        "move them back to their queue with sqs.start_message_move_task(SourceArn=dlq_arn)",
    )
    ctx.expect(
        state == "OK",
        f"expected {ctx.env.name(DLQ_ALARM)} to be OK again, found {state}: fix notifications and move the DLQ's "
        "messages back",
    )


def _sqs_event(correlation_id: str) -> dict:
    """One OrderPlaced message as Lambda gives it to notifications from its queue."""
    placed = {"event_type": "OrderPlaced", "order_id": "o-" + correlation_id, "items": [{"book_id": 1, "qty": 1}]}
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "body": json.dumps({**placed, "total_cents": 3999}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {"correlation_id": {"stringValue": correlation_id, "dataType": "String"}},
                "eventSource": "aws:sqs",
            }
        ]
    }


def _traced_since(ctx, filter_expression: str, since_s: float) -> list[dict]:
    now = time.time()
    answer = ctx.client("xray").get_trace_summaries(
        StartTime=since_s, EndTime=now + 60, FilterExpression=filter_expression
    )
    return answer["TraceSummaries"]


@lab.check(
    "storefront-trace",
    "serve_basket sends a trace: the storefront's request, its steps, and its call to checkout",
    step=5,
    hints=[
        'with storefront_tracer.start_as_current_span("GET /basket", kind=trace.SpanKind.SERVER) as span: ... and '
        'inside it start_as_current_span("price basket") and ("POST /checkout", kind=trace.SpanKind.CLIENT).',
        'call.set_attribute("peer.service", "checkout"); headers = {}; propagate.inject(headers); then '
        "requests.post(..., headers=headers); return xray_trace_id(span)",
    ],
)
def storefront_trace(ctx):
    trace_id = ctx.learner_function("serve_basket")(1)
    storefront = ctx.env.name(STOREFRONT)
    deadline = time.monotonic() + waits.minutes(1, at_least_s=20)
    while not (found := ctx.client("xray").batch_get_traces(TraceIds=[str(trace_id)])["Traces"]):
        if time.monotonic() > deadline:
            ctx.fail(
                f"expected serve_basket to return the X-Ray id of the trace it sent, found {trace_id!r}, "
                "which X-Ray does not know: return xray_trace_id(span) of the SERVER span"
            )
        time.sleep(1)
    documents = [json.loads(segment["Document"]) for segment in found[0]["Segments"]]
    [segment] = [d for d in documents if d.get("name") == storefront] or [None]
    ctx.expect(
        segment is not None,
        f"expected a segment of the service {storefront} in the trace, found {[d.get('name') for d in documents]}: "
        "make GET /basket a SERVER span",
    )
    parts = {part.get("name"): part for part in segment.get("subsegments", [])}
    ctx.expect(SLOW_PART in parts, f"expected a span {SLOW_PART!r} in the request, found {sorted(parts)}")
    ctx.expect(
        parts.get("checkout", {}).get("namespace") == "remote",
        f"expected a CLIENT span calling checkout (peer.service checkout) in the request, found {sorted(parts)}",
    )
    request = segment.get("http", {}).get("request", {})
    ctx.expect(request.get("method") == "GET", f"expected the request's http.request.method GET, found {request}")


@lab.check(
    "slow-trace",
    "find_slow_traces finds the slow request, and where_the_time_went names the 300 ms",
    step=5,
    hints=[
        "xray.get_trace_summaries(StartTime=since_s, EndTime=time.time() + 60, FilterExpression="
        '\'service("NAME") AND responsetime > 0.3\') with NAME env.name("storefront"); return each summary\'s Id.',
        "In each segment document, subsegments have start_time and end_time in seconds: keep the longest.",
    ],
)
def slow_trace(ctx):
    find_slow_traces = ctx.learner_function("find_slow_traces")
    since_s = time.time() - 3600
    found = find_slow_traces(since_s)
    ctx.expect(isinstance(found, list), f"expected find_slow_traces to return a list of trace ids, found {found!r}")
    if not found:
        ctx.not_done("find_slow_traces finds no trace in the last hour: run the step's cell")
    summaries = {s["Id"]: s for s in _traced_since(ctx, f'service("{ctx.env.name(STOREFRONT)}")', since_s)}
    others = [trace_id for trace_id in found if trace_id not in summaries]
    ctx.expect(not others, f"expected find_slow_traces to find the storefront's traces only, found {others[:3]}")
    too_fast = [trace_id for trace_id in found if summaries[trace_id].get("ResponseTime", 0) <= SLOW_S]
    ctx.expect(
        not too_fast,
        f"expected find_slow_traces to find only requests slower than {SLOW_S} s, found {len(too_fast)} of "
        f"{len(found)} faster: filter on responsetime > {SLOW_S}",
    )
    name, seconds = ctx.learner_function("where_the_time_went")(found[0])
    ctx.expect(
        name == SLOW_PART and seconds >= SLOW_S,
        f"expected where_the_time_went to name {SLOW_PART!r} with at least {SLOW_S} s, found {name!r} with {seconds} s",
    )


@lab.check(
    "who-deleted",
    "who_deleted names the role session that deleted the queue policy, and the policy is back",
    step=6,
    hints=[
        'cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": '
        '"SetQueueAttributes"}]), newest first; json.loads(event["CloudTrailEvent"]) is the record.',
        'Keep the record whose requestParameters["queueUrl"] is the queue and whose requestParameters["attributes"] '
        'sets the attribute to ""; return record["userIdentity"]["arn"].',
    ],
)
def who_deleted(ctx):
    sqs = ctx.client("sqs")
    with ctx.not_done_if_missing(f"SQS queue {ctx.env.name(QUEUE)!r}", "run the cell before step 1"):
        queue_url = sqs.get_queue_url(QueueName=ctx.env.name(QUEUE))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"]).get("Attributes", {})
    if not policy_statements(attributes.get("Policy")):
        ctx.not_done(
            f"the queue {ctx.env.name(QUEUE)} has no policy yet, so SNS cannot deliver to it: run step 6's cell to its "
            "end, which puts the policy back once who_deleted has found who deleted it"
        )
    role, session = ctx.env.name(CLEANUP_SCRIPT + "-role"), ctx.env.name(CLEANUP_SCRIPT)
    expected = f"arn:aws:sts::{ctx.env.account_id}:assumed-role/{role}/{session}"
    found = ctx.learner_function("who_deleted")(queue_url, "Policy")
    if found == f"arn:aws:iam::{ctx.env.account_id}:role/{role}":
        why = ": that is the role; the session that used it is userIdentity's arn"
    elif found:
        why = ': the newest event that set Policy put it back; keep the one that set it to ""'
    else:
        why = ""
    ctx.expect(
        found == expected,
        f"expected who_deleted(queue_url, 'Policy') to name the cleanup script's role session, {expected}, found "
        f"{found!r}{why}",
    )

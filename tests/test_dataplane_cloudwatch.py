"""CloudWatch on the local cloud, as a learner meets it in labs 08 and 09: alarms that change state on
the local clock (one AWS minute in one local second) with AWS's reasons, history and SNS notifications,
and the metrics Lambda, load balancers, SQS and embedded metric format lines publish."""

import json
import math
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from support import stays, wait_for
from test_dataplane_elb import LoadBalancer
from test_dataplane_lambda import clients_for, deploy

from labkit.dataplane.cloudwatch import evaluation, metric_filters, metric_math

STAMP = r"\(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\)"
FAILING_ON_REQUEST = """
import json

def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    if "emf" in event:
        print(json.dumps(event["emf"]))
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def aws(cloud):
    clients = clients_for(boto3.Session())
    clients.update(cloudwatch=boto3.client("cloudwatch"), sns=boto3.client("sns"))
    return clients


def invoke(aws, name: str, event: dict) -> dict:
    return aws["lambda"].invoke(FunctionName=name, Payload=json.dumps(event).encode())


def alarm(aws, name: str) -> dict:
    return aws["cloudwatch"].describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def in_state(aws, name: str, state: str):
    found = alarm(aws, name)
    return found if found["StateValue"] == state else None


def queue_subscribed_to(aws, topic: str) -> str:
    url = aws["sqs"].create_queue(QueueName=f"alarms-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
            }
        ],
    }
    aws["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return url


def notifications(aws, url: str) -> list[dict]:
    found = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(message["Body"])["Message"]) for message in found]


def put_datapoints(aws, namespace: str, values: list[float | None], **dimensions) -> None:
    """One datapoint in each of the last len(values) complete local seconds (AWS minutes), oldest first."""
    latest = math.floor(time.time()) - 1
    data = [
        {
            "MetricName": "Latency",
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Timestamp": datetime.fromtimestamp(latest - age + 0.5, UTC),
            "Value": value,
        }
        for age, value in enumerate(reversed(values))
        if value is not None
    ]
    aws["cloudwatch"].put_metric_data(Namespace=namespace, MetricData=data)


def statistics(aws, namespace: str, name: str, dimensions: dict, stats=("Sum",), since=None) -> dict:
    now = datetime.now(UTC)
    found = aws["cloudwatch"].get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=since or now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=list(stats),
    )["Datapoints"]
    return found[0] if found else {}


def test_an_alarm_on_a_functions_errors_alarms_with_awss_reason_notifies_its_topic_and_returns_to_ok(aws):
    name = deploy(aws, FAILING_ON_REQUEST)
    topic = aws["sns"].create_topic(Name=f"alarms-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue = queue_subscribed_to(aws, topic)
    alarm_name = f"{name}-errors"
    aws["cloudwatch"].put_metric_alarm(
        AlarmName=alarm_name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
        OKActions=[topic],
    )
    created = alarm(aws, alarm_name)
    assert (created["StateValue"], created["StateReason"]) == ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")

    assert invoke(aws, name, {"fail": True})["FunctionError"] == "Unhandled"
    alarmed = wait_for(lambda: in_state(aws, alarm_name, "ALARM"), 10, "the alarm to go to ALARM")
    assert re.fullmatch(
        rf"Threshold Crossed: 1 out of the last 1 datapoints \[1\.0 {STAMP}\] was greater than or equal to the "
        r"threshold \(1\.0\) \(minimum 1 datapoint for OK -> ALARM transition\)\.",
        alarmed["StateReason"],
    )
    reason_data = json.loads(alarmed["StateReasonData"])
    assert reason_data["version"] == "1.0" and reason_data["statistic"] == "Sum" and reason_data["period"] == 60
    assert reason_data["recentDatapoints"] == [1.0] and reason_data["threshold"] == 1.0

    sent = wait_for(lambda: notifications(aws, queue), 10, "the ALARM notification in the queue")[0]
    assert sent["AlarmName"] == alarm_name and sent["AlarmArn"] == alarmed["AlarmArn"]
    assert (sent["OldStateValue"], sent["NewStateValue"]) == ("INSUFFICIENT_DATA", "ALARM")
    assert sent["NewStateReason"] == alarmed["StateReason"] and sent["AWSAccountId"] == "123456789012"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", sent["StateChangeTime"])
    assert sent["Region"] == "US East (N. Virginia)"
    assert sent["Trigger"] == {
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "StatisticType": "Statistic",
        "Statistic": "SUM",
        "Unit": None,
        "Dimensions": [{"value": name, "name": "FunctionName"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
    }

    def ok_after_a_success():
        invoke(aws, name, {})
        return in_state(aws, alarm_name, "OK")

    back = wait_for(ok_after_a_success, 10, "the alarm to return to OK", interval=0.3)
    assert re.fullmatch(
        rf"Threshold Crossed: 1 out of the last 1 datapoints \[0\.0 {STAMP}\] was not greater than or equal to "
        r"the threshold \(1\.0\) \(minimum 1 datapoint for ALARM -> OK transition\)\.",
        back["StateReason"],
    )
    assert wait_for(lambda: notifications(aws, queue), 10, "the OK notification")[0]["NewStateValue"] == "OK"
    history = aws["cloudwatch"].describe_alarm_history(AlarmName=alarm_name, HistoryItemType="StateUpdate")
    assert [item["HistorySummary"] for item in history["AlarmHistoryItems"]] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    actions = aws["cloudwatch"].describe_alarm_history(AlarmName=alarm_name, HistoryItemType="Action")
    assert {item["HistorySummary"] for item in actions["AlarmHistoryItems"]} == {
        f"Successfully executed action {topic}"
    }


def test_m_out_of_n_alarms_on_the_same_datapoints(aws):
    namespace, dimensions = f"Shop/{uuid.uuid4().hex[:8]}", {"Service": "orders"}
    for name, m in (("two-of-three", 2), ("three-of-three", 3)):
        aws["cloudwatch"].put_metric_alarm(
            AlarmName=f"{namespace}-{name}",
            Namespace=namespace,
            MetricName="Latency",
            Dimensions=[{"Name": "Service", "Value": "orders"}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=3,
            DatapointsToAlarm=m,
            Threshold=5.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    put_datapoints(aws, namespace, [9.0, 1.0, 7.0], **dimensions)

    two = wait_for(lambda: in_state(aws, f"{namespace}-two-of-three", "ALARM"), 10, "2 of 3 to alarm")
    assert re.fullmatch(
        rf"Threshold Crossed: 2 out of the last 3 datapoints \[7\.0 {STAMP}, 9\.0 {STAMP}\] were greater than the "
        r"threshold \(5\.0\) \(minimum 2 datapoints for OK -> ALARM transition\)\.",
        two["StateReason"],
    )
    three = wait_for(lambda: in_state(aws, f"{namespace}-three-of-three", "OK"), 10, "3 of 3 to be OK")
    assert re.fullmatch(
        rf"Threshold Crossed: 1 out of the last 3 datapoints \[1\.0 {STAMP}\] was not greater than the "
        r"threshold \(5\.0\) \(minimum 1 datapoint for ALARM -> OK transition\)\.",
        three["StateReason"],
    )


def test_each_way_of_treating_missing_data_without_any_datapoint(aws):
    prefix = f"silent-{uuid.uuid4().hex[:8]}"
    for treat in ("missing", "notBreaching", "breaching", "ignore"):
        aws["cloudwatch"].put_metric_alarm(
            AlarmName=f"{prefix}-{treat}",
            Namespace="Silent",
            MetricName=prefix,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=2,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData=treat,
        )
    breaching = wait_for(lambda: in_state(aws, f"{prefix}-breaching", "ALARM"), 10, "breaching to alarm")
    assert breaching["StateReason"] == (
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as "
        "[Breaching]."
    )
    not_breaching = wait_for(lambda: in_state(aws, f"{prefix}-notBreaching", "OK"), 10, "notBreaching to be OK")
    assert not_breaching["StateReason"].endswith("2 missing datapoints were treated as [NonBreaching].")
    assert set(json.loads(not_breaching["StateReasonData"])) == {
        "version",
        "queryDate",
        "statistic",
        "period",
        "recentDatapoints",
        "threshold",
    }
    # SetAlarmState lasts until the next evaluation: ignore keeps it, missing goes back to no data.
    for treat in ("missing", "ignore"):
        aws["cloudwatch"].set_alarm_state(AlarmName=f"{prefix}-{treat}", StateValue="ALARM", StateReason="testing")
    missing = wait_for(lambda: in_state(aws, f"{prefix}-missing", "INSUFFICIENT_DATA"), 10, "missing to lose data")
    assert missing["StateReason"] == "Insufficient Data: 2 datapoints were unknown."
    stays(lambda: in_state(aws, f"{prefix}-ignore", "ALARM"), 2.5, "ignore to keep the state it was set to")


@pytest.mark.no_cloud
@pytest.mark.parametrize(
    "points, m, expected",
    [  # the CloudWatch User Guide's tables, "How alarm state is evaluated when data is missing"
        ("0-X-X", 3, ("OK", "OK", "OK", "OK")),
        ("0----", 3, ("OK", "OK", "OK", "OK")),
        ("-----", 3, ("INSUFFICIENT_DATA", None, "ALARM", "OK")),
        ("0XX-X", 3, ("ALARM", "ALARM", "ALARM", "ALARM")),
        ("----X", 3, ("INSUFFICIENT_DATA", None, "ALARM", "OK")),
        ("X----", 3, ("ALARM", None, "ALARM", "OK")),
        ("0-X-X", 2, ("ALARM", "ALARM", "ALARM", "ALARM")),
        ("00X0X", 2, ("ALARM", "ALARM", "ALARM", "ALARM")),
        ("0-X--", 2, ("OK", "OK", "ALARM", "OK")),
        ("----0", 2, ("OK", "OK", "ALARM", "OK")),
        ("----X", 2, ("INSUFFICIENT_DATA", None, "ALARM", "OK")),
    ],
)
def test_missing_data_is_treated_as_the_user_guides_tables_say(points, m, expected):
    start = datetime(2026, 12, 5, 7, 0)
    datapoints = [
        (start + timedelta(minutes=i), {"0": 0.0, "X": 9.0, "-": None}[point]) for i, point in enumerate(points)
    ]
    found = []
    for treat in ("missing", "ignore", "breaching", "notBreaching"):
        verdict = evaluation.evaluate(datapoints, lambda value: value > 5.0, 3, m, treat)
        found.append(verdict.state if verdict else None)
    assert tuple(found) == expected


def test_a_percentile_alarm_evaluates_pnn_of_the_periods_samples(aws):
    namespace = f"Shop/{uuid.uuid4().hex[:8]}"
    aws["cloudwatch"].put_metric_alarm(
        AlarmName=f"{namespace}-p90",
        Namespace=namespace,
        MetricName="Latency",
        ExtendedStatistic="p90",
        Period=60,
        EvaluationPeriods=1,
        Threshold=85.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    latest = math.floor(time.time()) - 1
    aws["cloudwatch"].put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "Latency",
                "Timestamp": datetime.fromtimestamp(latest + 0.5, UTC),
                "Values": [float(v) for v in range(1, 101)],
            }
        ],
    )
    alarmed = wait_for(lambda: in_state(aws, f"{namespace}-p90", "ALARM"), 10, "p90 to alarm")
    assert re.fullmatch(
        rf"Threshold Crossed: 1 out of the last 1 datapoints \[90\.0 {STAMP}\] was greater than the threshold "
        r"\(85\.0\) \(minimum 1 datapoint for OK -> ALARM transition\)\.",
        alarmed["StateReason"],
    )
    now = datetime.now(UTC)
    found = aws["cloudwatch"].get_metric_statistics(
        Namespace=namespace,
        MetricName="Latency",
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        ExtendedStatistics=["p50", "p99"],
    )["Datapoints"]
    assert [d["ExtendedStatistics"] for d in found] == [{"p50": 50.0, "p99": 99.0}]


def test_lambda_publishes_invocations_errors_and_duration(aws):
    name = deploy(aws, FAILING_ON_REQUEST)
    invoke(aws, name, {})
    invoke(aws, name, {"fail": True})
    function = {"FunctionName": name}
    assert statistics(aws, "AWS/Lambda", "Invocations", function)["Sum"] == 2.0
    assert statistics(aws, "AWS/Lambda", "Errors", function)["Sum"] == 1.0
    duration = statistics(aws, "AWS/Lambda", "Duration", function, ("SampleCount", "Maximum"))
    assert duration["SampleCount"] == 2.0 and duration["Maximum"] > 0 and duration["Unit"] == "Milliseconds"
    # GetMetricData reads exactly the dimensions asked too, and percentiles.
    of_function = {"Namespace": "AWS/Lambda", "Dimensions": [{"Name": "FunctionName", "Value": name}]}
    queries = [
        {
            "Id": "calls",
            "MetricStat": {"Metric": {**of_function, "MetricName": "Invocations"}, "Period": 60, "Stat": "Sum"},
        },
        {
            "Id": "p99",
            "MetricStat": {"Metric": {**of_function, "MetricName": "Duration"}, "Period": 3600, "Stat": "p99"},
        },
    ]
    now = datetime.now(UTC)
    results = aws["cloudwatch"].get_metric_data(
        MetricDataQueries=queries, StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1)
    )["MetricDataResults"]
    by_id = {result["Id"]: result["Values"] for result in results}
    assert sum(by_id["calls"]) == 2.0 and by_id["p99"] == [duration["Maximum"]]
    listed = aws["cloudwatch"].list_metrics(
        Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": name}]
    )
    assert {"Invocations", "Errors", "Duration"} <= {m["MetricName"] for m in listed["Metrics"]}


def test_an_embedded_metric_format_line_becomes_a_metric(aws):
    name = deploy(aws, FAILING_ON_REQUEST)
    namespace = f"Orders/{uuid.uuid4().hex[:8]}"
    emf = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [["Shop"]], "Metrics": [{"Name": "Placed", "Unit": "Count"}]}
            ],
        },
        "Shop": "north",
        "Placed": [2, 3],
    }
    invoke(aws, name, {"emf": emf})
    invoke(aws, name, {"emf": {**emf, "_aws": {**emf["_aws"], "Timestamp": "not a number"}}})  # not EMF: a log line
    placed = statistics(aws, namespace, "Placed", {"Shop": "north"}, ("Sum", "SampleCount"))
    assert (placed["Sum"], placed["SampleCount"], placed["Unit"]) == (5.0, 2.0, "Count")


def test_sqs_publishes_messages_sent_received_deleted_and_the_queues_depth(aws):
    url = aws["sqs"].create_queue(QueueName=f"metrics-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue = {"QueueName": url.rsplit("/", 1)[-1]}
    for body in ("a", "b", "c"):
        aws["sqs"].send_message(QueueUrl=url, MessageBody=body)
    received = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    deleted = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)  # the seconds sampled since
    assert statistics(aws, "AWS/SQS", "NumberOfMessagesSent", queue)["Sum"] == 3.0
    assert statistics(aws, "AWS/SQS", "NumberOfMessagesReceived", queue)["Sum"] == 1.0
    assert statistics(aws, "AWS/SQS", "NumberOfMessagesDeleted", queue)["Sum"] == 1.0

    def visible_two():
        found = statistics(aws, "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, ("Maximum",), deleted)
        return found.get("Maximum") == 2.0

    wait_for(visible_two, 5, "the queue's depth to be published")
    age = wait_for(
        lambda: statistics(aws, "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, ("Maximum",)), 5, "the age"
    )
    assert age["Unit"] == "Seconds"


def test_an_application_load_balancer_publishes_requests_target_errors_and_response_time(cloud):
    balancer = LoadBalancer(cloud)
    try:
        backend = balancer.backend("metrics")
        group = balancer.group(f"metrics-{uuid.uuid4().hex[:6]}", backend)
        _, url = balancer.listener(group)
        balancer.wait_until(group, "healthy")
        session = requests.Session()
        assert [session.get(url + "/hello").status_code for _ in range(3)] == [200, 200, 200]
        cloudwatch = boto3.client("cloudwatch")
        dimensions = {"LoadBalancer": balancer.arn.split(":loadbalancer/")[1]}
        aws = {"cloudwatch": cloudwatch}
        assert statistics(aws, "AWS/ApplicationELB", "RequestCount", dimensions)["Sum"] == 3.0
        assert statistics(aws, "AWS/ApplicationELB", "HTTPCode_Target_2XX_Count", dimensions)["Sum"] == 3.0
        with_group = {"TargetGroup": group.split(":")[-1], **dimensions}
        response_time = statistics(aws, "AWS/ApplicationELB", "TargetResponseTime", with_group, ("SampleCount",))
        assert response_time["SampleCount"] == 3.0 and response_time["Unit"] == "Seconds"
    finally:
        balancer.elb.delete_load_balancer(LoadBalancerArn=balancer.arn)
        for group in balancer.groups:
            balancer.elb.delete_target_group(TargetGroupArn=group)
        for backend in balancer.backends:
            backend.server.shutdown()
            backend.server.server_close()


def test_a_rest_api_publishes_its_requests_errors_and_latency(cloud):
    apigateway = boto3.client("apigateway")
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    api = apigateway.create_rest_api(name=name)["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    apigateway.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(
        restApiId=api,
        resourceId=root,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.put_method_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200")
    apigateway.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200")
    apigateway.create_deployment(restApiId=api, stageName="prod")
    url = f"{cloud.endpoint}/restapis/{api}/prod/_user_request_"
    assert [requests.get(url + path).status_code for path in ("/", "/", "/nowhere")] == [200, 200, 403]

    aws = {"cloudwatch": boto3.client("cloudwatch")}
    stage = {"ApiName": name, "Stage": "prod"}
    assert statistics(aws, "AWS/ApiGateway", "Count", stage)["Sum"] == 3.0
    assert statistics(aws, "AWS/ApiGateway", "4XXError", stage, ("Sum", "Average"))["Sum"] == 1.0
    assert statistics(aws, "AWS/ApiGateway", "5XXError", {"ApiName": name})["Sum"] == 0.0
    latency = statistics(aws, "AWS/ApiGateway", "Latency", stage, ("SampleCount",))
    assert latency["SampleCount"] == 3.0 and latency["Unit"] == "Milliseconds"


def test_an_alias_invocation_is_counted_under_its_resource_and_executed_version(aws):
    name = deploy(aws, FAILING_ON_REQUEST)
    version = aws["lambda"].publish_version(FunctionName=name)["Version"]
    aws["lambda"].create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    aws["lambda"].invoke(FunctionName=name, Qualifier="live", Payload=json.dumps({"fail": True}).encode())
    alias = {"FunctionName": name, "Resource": f"{name}:live"}
    assert statistics(aws, "AWS/Lambda", "Errors", {**alias, "ExecutedVersion": version})["Sum"] == 1.0
    assert statistics(aws, "AWS/Lambda", "Invocations", alias)["Sum"] == 1.0
    assert statistics(aws, "AWS/Lambda", "Invocations", {"FunctionName": name})["Sum"] == 1.0


def test_a_log_groups_metric_filters_turn_its_events_into_metrics(aws):
    logs, group = aws["logs"], f"/shop/{uuid.uuid4().hex[:8]}"
    namespace = f"Shop/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="web")
    logs.put_metric_filter(
        logGroupName=group,
        filterName="errors",
        filterPattern='ERROR -"health check"',
        metricTransformations=[
            {"metricName": "Errors", "metricNamespace": namespace, "metricValue": "1", "defaultValue": 0.0}
        ],
    )
    logs.put_metric_filter(
        logGroupName=group,
        filterName="slow-orders",
        filterPattern='{ $.path = "/orders*" && $.latency > 100 }',
        metricTransformations=[
            {
                "metricName": "SlowLatency",
                "metricNamespace": namespace,
                "metricValue": "$.latency",
                "unit": "Milliseconds",
                "dimensions": {"Path": "$.path"},
            }
        ],
    )
    now = int(time.time() * 1000)
    messages = [
        "ERROR payment declined",
        "ERROR health check failed",
        "INFO all good",
        json.dumps({"path": "/orders/42", "latency": 250}),
        json.dumps({"path": "/orders/42", "latency": 20}),
        json.dumps({"path": "/books", "latency": 900}),
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="web",
        logEvents=[{"timestamp": now + i, "message": message} for i, message in enumerate(messages)],
    )
    errors = statistics(aws, namespace, "Errors", {}, ("Sum", "SampleCount"))
    assert (errors["Sum"], errors["SampleCount"]) == (1.0, 6.0)  # 1 for the match, the default for the rest
    slow = statistics(aws, namespace, "SlowLatency", {"Path": "/orders/42"}, ("Sum", "SampleCount"))
    assert (slow["Sum"], slow["SampleCount"], slow["Unit"]) == (250.0, 1.0, "Milliseconds")


@pytest.mark.no_cloud
@pytest.mark.parametrize(
    "pattern, message, expected",
    [  # examples of the CloudWatch Logs User Guide's "Filter pattern syntax for metric filters"
        ("", "anything at all", True),
        ("ERROR", "[ERROR] payment declined", True),
        ("ERROR Exception", "ERROR only", False),
        ("?ERROR ?WARN", "WARN disk almost full", True),
        ('"Task timed out"', "2026-12-05T07:00:00.000Z id Task timed out after 3.00 seconds", True),
        ('ERROR -"health check"', "ERROR health check failed", False),
        ('{ $.eventType = "UpdateTrail" }', '{"eventType": "UpdateTrail"}', True),
        (
            '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
            '{"errorCode": "AccessDeniedException"}',
            True,
        ),
        ("{ $.sourceIPAddress != 123.123.* }", '{"sourceIPAddress": "123.123.1.1"}', False),
        ("{ $.bandwidth > 75 && $.success = true }", '{"bandwidth": 80, "success": true}', True),
        ("{ $.user.id IS NULL }", '{"user": {"id": null}}', True),
        ("{ $.user.email NOT EXISTS }", '{"user": {}}', True),
        ("{ $.latency > 100 }", "not JSON", False),
        ("[ip, user, status]", "1.2.3.4 bob 200", None),
    ],
)
def test_filter_patterns_match_events_as_the_user_guide_says(pattern, message, expected):
    assert metric_filters.matches(pattern, message) is expected


def test_an_error_rate_alarm_on_metric_math_alarms_and_notifies_with_its_metrics(aws):
    name = deploy(aws, FAILING_ON_REQUEST)
    topic = aws["sns"].create_topic(Name=f"alarms-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue = queue_subscribed_to(aws, topic)
    function = [{"Name": "FunctionName", "Value": name}]

    def stat(metric_name):
        return {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric_name, "Dimensions": function},
            "Period": 60,
            "Stat": "Sum",
        }

    aws["cloudwatch"].put_metric_alarm(
        AlarmName=f"{name}-error-rate",
        Metrics=[
            {
                "Id": "rate",
                "Expression": "100 * FILL(errors, 0) / invocations",
                "Label": "Error rate",
                "ReturnData": True,
            },
            {"Id": "errors", "MetricStat": stat("Errors"), "ReturnData": False},
            {"Id": "invocations", "MetricStat": stat("Invocations"), "ReturnData": False},
        ],
        EvaluationPeriods=1,
        Threshold=25.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )
    for event in ({}, {"fail": True}):  # half of them fail
        invoke(aws, name, event)
    alarmed = wait_for(lambda: in_state(aws, f"{name}-error-rate", "ALARM"), 10, "the error rate to alarm")
    assert re.fullmatch(
        rf"Threshold Crossed: 1 out of the last 1 datapoints \[50\.0 {STAMP}\] was greater than the threshold "
        r"\(25\.0\) \(minimum 1 datapoint for OK -> ALARM transition\)\.",
        alarmed["StateReason"],
    )
    trigger = wait_for(lambda: notifications(aws, queue), 10, "the notification")[0]["Trigger"]
    assert trigger["Metrics"][0] == {
        "Id": "rate",
        "ReturnData": True,
        "Expression": "100 * FILL(errors, 0) / invocations",
        "Label": "Error rate",
    }
    assert trigger["Metrics"][1]["MetricStat"] == {
        "Metric": {
            "Dimensions": [{"value": name, "name": "FunctionName"}],
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
        },
        "Period": 60,
        "Stat": "Sum",
    }
    assert "MetricName" not in trigger and trigger["Period"] == 60


def test_an_alarm_on_metric_math_whose_queries_all_return_data_is_refused_as_aws_refuses_it(aws):
    stat = {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}
    with pytest.raises(aws["cloudwatch"].exceptions.ClientError) as refused:
        aws["cloudwatch"].put_metric_alarm(
            AlarmName=f"two-series-{uuid.uuid4().hex[:8]}",
            Metrics=[
                {"Id": "rate", "Expression": "100 * errors", "ReturnData": True},
                {"Id": "errors", "MetricStat": stat},
            ],
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationError",
        "Exactly one element of the metrics list should return data.",
    )


@pytest.mark.no_cloud
def test_metric_math_arithmetic_fills_and_leaves_out_missing_datapoints():
    assert metric_math.value("100 * errors / invocations", {"errors": 1.0, "invocations": 4.0}) == 25.0
    assert metric_math.value("errors / invocations", {"errors": None, "invocations": 4.0}) is None
    assert metric_math.value("FILL(errors, 0) / invocations", {"errors": None, "invocations": 4.0}) == 0.0
    assert metric_math.value("errors / invocations", {"errors": 1.0, "invocations": 0.0}) is None
    with pytest.raises(metric_math.Unsupported):
        metric_math.value("ANOMALY_DETECTION_BAND(m1)", {"m1": 1.0})


def test_an_alarm_whose_actions_are_disabled_changes_state_and_notifies_nobody(aws):
    topic = aws["sns"].create_topic(Name=f"alarms-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue = queue_subscribed_to(aws, topic)
    name = f"quiet-{uuid.uuid4().hex[:8]}"
    aws["cloudwatch"].put_metric_alarm(
        AlarmName=name,
        Namespace="Quiet",
        MetricName=name,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="breaching",
        AlarmActions=[topic],
        ActionsEnabled=False,
    )
    wait_for(lambda: in_state(aws, name, "ALARM"), 10, "the alarm to go to ALARM")
    stays(lambda: not notifications(aws, queue), 2, "no notification")
    assert aws["cloudwatch"].describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"] == []


def test_a_dashboard_whose_widgets_cloudwatch_refuses_is_refused_with_each_error_and_its_path(aws):
    cloudwatch = aws["cloudwatch"]
    no_data = {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {"title": "Orders"}}
    no_alarm = {"type": "alarm", "x": 0, "y": 6, "width": 12, "height": 3, "properties": {"alarms": []}}
    orders = [["Bookshop", "OrdersPlaced", "Service", "checkout"]]

    with pytest.raises(cloudwatch.exceptions.DashboardInvalidInputError) as refused:
        cloudwatch.put_dashboard(DashboardName="refused", DashboardBody=json.dumps({"widgets": [no_data, no_alarm]}))
    accepted = cloudwatch.put_dashboard(
        DashboardName="accepted",
        DashboardBody=json.dumps({"widgets": [{**no_data, "properties": {"metrics": orders, "region": "us-east-1"}}]}),
    )

    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterInput"
    assert error["Message"].splitlines()[0] == "The dashboard body is invalid, there are 4 validation errors:"
    assert json.loads(error["Message"].split(":", 1)[1]) == [
        {"dataPath": "/widgets/0/properties", "message": "Should have required property 'metrics'"},
        {
            "dataPath": "/widgets/0/properties",
            "message": "The metric widget should have specified a region and a data source or an alarm annotation",
        },
        {"dataPath": "/widgets/0/properties", "message": "Should have required property 'annotations'"},
        {"dataPath": "/widgets/1/properties/alarms", "message": "Should NOT have less than 1 items"},
    ]
    assert [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]] == ["accepted"]
    assert accepted["DashboardValidationMessages"] == []

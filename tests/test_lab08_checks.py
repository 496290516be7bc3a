"""Lab 08's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook runs once for the module (its cells but the cleanup), which deploys checkout and
notifications, the alarms, the dashboard and the cleanup script; each test then makes one mistake with boto3
(an alarm on the wrong statistic, missing data treated the wrong way, a checkout that publishes without the
correlation id, a dashboard without the alarms) or in the learner's functions, runs the check, and puts the
right answer back. The handlers are the solution notebook's own (its %%writefile cells), with one part
changed."""

import contextlib
import json
import re
import time

import boto3
import pytest
from solution_files import code_cell, written_file
from solution_runs import solution_kernel
from support.checks import checks_of

from labkit import labs, packaging
from labkit.labs import lab08

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "08_observability.ipynb"
result, assert_fails_saying_exactly = checks_of("08")
kernel = solution_kernel(SOLUTION, "08")
CHECKOUT = written_file(SOLUTION, "checkout_file")
NOTIFICATIONS = written_file(SOLUTION, "notifications_file")
METRICS = written_file(SOLUTION, "metrics_file", version=1)
DRAW_THE_DASHBOARD = code_cell(SOLUTION, "get_metric_widget_image(")
PUT_THE_DASHBOARD = code_cell(SOLUTION, "put_dashboard(")


SOLUTION_CODE = {
    "checkout": {"handler.py": CHECKOUT, "order_metrics.py": METRICS},
    "notifications": {"handler.py": NOTIFICATIONS},
}


def deploy(function: str, files: dict[str, str], tmp_path) -> None:
    """Update the function's code to these files (name: source), as the notebook's deploy() would."""
    paths = []
    for name, source in files.items():
        path = tmp_path / function / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        paths.append(path)
    lambda_ = boto3.client("lambda")
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=function)
    lambda_.update_function_code(FunctionName=function, ZipFile=packaging.zip_bytes(*paths))
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=function)


@contextlib.contextmanager
def deployed_with(function: str, changed_files: dict[str, str], tmp_path):
    """The function deployed with these files in place of the solution's, and the solution's back afterwards."""
    deploy(function, {**SOLUTION_CODE[function], **changed_files}, tmp_path)
    try:
        yield
    finally:
        deploy(function, SOLUTION_CODE[function], tmp_path)


def changed(source: str, right: str, wrong: str) -> str:
    assert right in source
    return source.replace(right, wrong)


def alarm_settings(name: str) -> dict:
    """put_metric_alarm's arguments that make the alarm as it is now."""
    found = boto3.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    keys = ("AlarmName", "AlarmActions", "OKActions", "Namespace", "MetricName", "Dimensions", "Statistic")
    keys += ("Period", "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData", "Metrics")
    keys += ("DatapointsToAlarm",)
    return {key: found[key] for key in keys if found.get(key) not in (None, [])}


@pytest.fixture
def alarm(kernel):
    """alarm(name, **changes): the alarm put again with these changes, and put back as it was afterwards."""
    cloudwatch, saved = boto3.client("cloudwatch"), []

    def change(name: str, **changes):
        right = alarm_settings(name)
        saved.append(right)
        cloudwatch.put_metric_alarm(**{**right, **changes})

    yield change
    for right in saved:
        cloudwatch.put_metric_alarm(**right)


def in_kernel(kernel, function: str):
    """The notebook's function, called in its kernel with JSON arguments; what it returns, through JSON."""

    def call(*args):
        return json.loads(kernel(f"print(json.dumps({function}(*{json.dumps(list(args))})))"))

    return call


def solution_functions(kernel) -> dict:
    names = ("trace_of", "error_budget_left", "serve_basket", "find_slow_traces", "where_the_time_went")
    return {name: in_kernel(kernel, name) for name in (*names, "who_deleted")}


def test_the_solution_passes_every_check(kernel):
    failing = [(r.id, r.message) for r in labs.require("08").run(**solution_functions(kernel)) if not r.passed]
    assert failing == []


def test_a_dlq_alarm_on_the_average_fails_saying_the_average_hides_the_message(alarm):
    alarm(lab08.DLQ_ALARM, Statistic="Average")
    assert_fails_saying_exactly(
        "dlq-alarm",
        "expected notifications-dlq-depth on the statistic Maximum, found Average: ApproximateNumberOfMessagesVisible "
        "is a gauge sampled each minute, and its worst sample is what waits; an Average hides it, a Sum adds samples "
        "up into a number nobody waited for",
    )


def test_an_age_alarm_on_the_sum_fails_naming_the_statistic(alarm):
    alarm(lab08.AGE_ALARM, Statistic="Sum")
    assert result("age-alarm").message.startswith(
        "expected notifications-message-age on the statistic Maximum, found Sum: ApproximateAgeOfOldestMessage is a "
        "gauge"
    )


def test_an_age_alarm_that_treats_missing_data_as_not_breaching_fails_saying_it_could_never_fire(alarm):
    alarm(lab08.AGE_ALARM, TreatMissingData="notBreaching")
    assert_fails_saying_exactly(
        "age-alarm",
        "expected notifications-message-age to treat missing data as breaching, found notBreaching: SQS publishes "
        "the age every minute, even at 0, so no datapoint means the queue or the alarm's dimension is wrong, and an "
        "alarm that cannot fire must not look green",
    )


def test_an_age_alarm_on_a_misspelt_queue_fails_naming_the_dimension(alarm):
    alarm(lab08.AGE_ALARM, Dimensions=[{"Name": "QueueName", "Value": "notification"}])
    assert_fails_saying_exactly(
        "age-alarm",
        "expected notifications-message-age on the dimension QueueName=notifications, found "
        "{'QueueName': 'notification'}",
    )


def test_a_dlq_alarm_that_treats_missing_data_as_breaching_fails_saying_a_quiet_dlq_must_not_page(alarm):
    alarm(lab08.DLQ_ALARM, TreatMissingData="breaching")
    assert_fails_saying_exactly(
        "dlq-alarm",
        "expected notifications-dlq-depth to treat missing data as notBreaching, found breaching: a DLQ nobody "
        "writes to goes quiet, and that must not page anyone",
    )


def test_an_alarm_without_the_sns_action_fails_naming_the_topic(alarm):
    alarm(lab08.DLQ_ALARM, AlarmActions=[])
    assert_fails_saying_exactly(
        "dlq-alarm",
        "expected notifications-dlq-depth to notify arn:aws:sns:us-east-1:123456789012:ops-alerts in ALARM, found []",
    )


def test_an_slo_alarm_averaging_its_errors_fails_saying_counts_add_up(alarm):
    metrics = alarm_settings(lab08.SLO_ALARM)["Metrics"]
    averaged = [
        {**q, "MetricStat": {**q["MetricStat"], "Stat": "Average"}} if q["Id"] == "errors" else q for q in metrics
    ]
    alarm(lab08.SLO_ALARM, Metrics=averaged)
    assert_fails_saying_exactly(
        "slo-alarm",
        "expected checkout-error-rate's Errors with the statistic Sum (counts add up), found Average",
    )


def test_an_slo_alarm_on_one_bad_minute_fails_saying_three_of_five(alarm):
    alarm(lab08.SLO_ALARM, EvaluationPeriods=1, DatapointsToAlarm=1)
    assert_fails_saying_exactly("slo-alarm", "expected checkout-error-rate to fire on 3 of 5 periods, found 1 of 1")


def test_a_checkout_that_publishes_without_the_correlation_id_fails_saying_it_was_dropped_at_the_queue(
    kernel, tmp_path
):
    dropped = changed(
        CHECKOUT,
        'MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": correlation_id}})',
        ")",
    )
    with deployed_with("checkout", {"handler.py": dropped}, tmp_path):
        found = result("id-crosses-the-queue")
        assert found.status == "failed"
        assert found.message.startswith("checkout was given the correlation id 'labkit-check-")
        assert found.message.endswith(
            "but notifications logged None: the id was dropped at the queue. Publish it as the message attribute "
            "correlation_id"
        )
        consumer = result("notifications-reads-the-id")
        assert consumer.passed, consumer.message  # the consumer is right: the fault is checkout's


def test_a_consumer_that_reads_the_id_from_the_body_fails_saying_where_it_is(kernel, tmp_path):
    from_body = changed(
        NOTIFICATIONS,
        'attribute = record.get("messageAttributes", {}).get("correlation_id")',
        'attribute = json.loads(record["body"]).get("correlation_id")',
    )
    with deployed_with("notifications", {"handler.py": from_body}, tmp_path):
        found = result("notifications-reads-the-id")
        assert found.status == "failed"
        assert found.message.startswith("expected notifications to log the correlation_id 'labkit-check-")
        assert found.message.endswith("found None: read it from the record's messageAttributes")


def test_checkout_that_ignores_the_callers_id_fails_saying_what_it_answered(kernel, tmp_path):
    ignoring = changed(
        CHECKOUT,
        'correlation_id = headers.get("x-correlation-id") or str(uuid.uuid4())',
        "correlation_id = str(uuid.uuid4())",
    )
    with deployed_with("checkout", {"handler.py": ignoring}, tmp_path):
        found = result("checkout-correlation-id")
        assert found.status == "failed"
        assert found.message.startswith("expected checkout to answer with the x-correlation-id 'labkit-check-")


def test_a_query_of_one_log_group_fails_naming_the_services_found(kernel):
    def only_checkout(correlation_id):
        rows = in_kernel(kernel, "trace_of")(correlation_id)
        return [row for row in rows if {"field": "service", "value": "checkout"} in row]

    found = result("insights-query", trace_of=only_checkout)
    assert found.status == "failed"
    assert found.message.endswith("found ['checkout']: query both log groups, with the service field")


def test_an_error_budget_of_the_error_rate_fails_with_the_values_expected(kernel):
    assert_fails_saying_exactly(
        "error-budget",
        "expected error_budget_left(1000, 5, 0.99) to be 0.5, found 0.995",
        error_budget_left=lambda invocations, errors, slo: 1 - errors / invocations,
    )


def test_a_dashboard_without_the_alarms_fails_naming_the_alarm_missing(kernel):
    cloudwatch = boto3.client("cloudwatch")
    right = cloudwatch.get_dashboard(DashboardName=lab08.DASHBOARD)["DashboardBody"]
    metrics_only = {"widgets": [w for w in json.loads(right)["widgets"] if w["type"] == "metric"]}
    cloudwatch.put_dashboard(DashboardName=lab08.DASHBOARD, DashboardBody=json.dumps(metrics_only))
    try:
        assert_fails_saying_exactly(
            "dashboard",
            "expected an alarm widget of the dashboard to show "
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:notifications-dlq-depth, found []",
        )
    finally:
        cloudwatch.put_dashboard(DashboardName=lab08.DASHBOARD, DashboardBody=right)


def draw_the_dashboard(kernel) -> str:
    """What the given cell that draws the dashboard prints, and the LabkitError it raises, if any (a notebook
    shows that as this one line; any other exception fails the test with its traceback)."""
    indented = "".join(f"    {line}\n" for line in DRAW_THE_DASHBOARD.splitlines())
    return kernel(f"try:\n{indented}except LabkitError as error:\n    print(f'labkit: {{error}}')\n")


@contextlib.contextmanager
def dashboard_body(body: dict | None):
    """The dashboard put with this body (deleted for None), and put back as the solution left it afterwards."""
    cloudwatch = boto3.client("cloudwatch")
    right = cloudwatch.get_dashboard(DashboardName=lab08.DASHBOARD)["DashboardBody"]
    if body is None:
        cloudwatch.delete_dashboards(DashboardNames=[lab08.DASHBOARD])
    else:
        cloudwatch.put_dashboard(DashboardName=lab08.DASHBOARD, DashboardBody=json.dumps(body))
    try:
        yield json.loads(right)
    finally:
        cloudwatch.put_dashboard(DashboardName=lab08.DASHBOARD, DashboardBody=right)


def test_drawing_the_dashboard_before_it_is_put_says_so_in_one_line(kernel):
    with dashboard_body(None):
        assert draw_the_dashboard(kernel) == (
            "labkit: there is no dashboard bookshop yet: run the cell above once it is written\n"
        )


def test_drawing_a_dashboard_without_a_metric_widget_says_so_in_one_line(kernel):
    right = json.loads(boto3.client("cloudwatch").get_dashboard(DashboardName=lab08.DASHBOARD)["DashboardBody"])
    with dashboard_body({"widgets": [w for w in right["widgets"] if w["type"] != "metric"]}):
        assert draw_the_dashboard(kernel) == (
            "labkit: the dashboard bookshop has no metric widget to draw: add checkout's orders to dashboard_body "
            "and run its cell again\n"
        )


def test_drawing_a_metric_widget_whose_metrics_are_not_rows_says_what_cloudwatch_refused_in_one_line(kernel):
    right = json.loads(boto3.client("cloudwatch").get_dashboard(DashboardName=lab08.DASHBOARD)["DashboardBody"])
    flattened = [
        {**w, "properties": {**w["properties"], "metrics": w["properties"]["metrics"][0]}}
        if w["type"] == "metric"
        else w
        for w in right["widgets"]
    ]
    with dashboard_body({"widgets": flattened}):
        assert draw_the_dashboard(kernel) == (
            "labkit: CloudWatch could not draw the metric widget Orders: The MetricWidget's metrics must be an array "
            "of 1 to 100 arrays\n"
        )


def put_the_dashboard(kernel, right: str, wrong: str) -> str:
    """The last line the given cell that puts the dashboard prints, its body written with this mistake, and the
    LabkitError it raises, if any (a notebook shows that as this one line); the dashboard as it was afterwards."""
    cell = changed(PUT_THE_DASHBOARD, right, wrong)
    indented = "".join(f"    {line}\n" for line in cell.splitlines())
    with dashboard_body(
        json.loads(boto3.client("cloudwatch").get_dashboard(DashboardName=lab08.DASHBOARD)["DashboardBody"])
    ):
        printed = kernel(f"try:\n{indented}except LabkitError as error:\n    print(f'labkit: {{error}}')\n")
    return printed.splitlines()[-1]


def test_putting_a_metric_widget_without_metrics_says_what_cloudwatch_refused_in_one_line(kernel):
    assert put_the_dashboard(kernel, '"metrics": [["Bookshop"', '"metric": [["Bookshop"') == (
        "labkit: CloudWatch refused the dashboard: The dashboard body is invalid, there are 3 validation errors: "
        '[ { "dataPath": "/widgets/1/properties", "message": "Should have required property \'metrics\'" }, '
        '{ "dataPath": "/widgets/1/properties", "message": "The metric widget should have specified a region and a '
        'data source or an alarm annotation" }, { "dataPath": "/widgets/1/properties", "message": "Should have '
        "required property 'annotations'\" } ]"
    )


def test_putting_an_alarm_widget_without_alarms_says_what_cloudwatch_refused_in_one_line(kernel):
    assert put_the_dashboard(kernel, '"alarms": alarm_arns', '"alarms": []') == (
        "labkit: CloudWatch refused the dashboard: The dashboard body is invalid, there are 1 validation errors: "
        '[ { "dataPath": "/widgets/0/properties/alarms", "message": "Should NOT have less than 1 items" } ]'
    )


def test_drawing_the_dashboard_twice_draws_its_metric_widget_each_time(kernel):
    assert draw_the_dashboard(kernel) == "metric widget: Orders\n"
    assert draw_the_dashboard(kernel) == "metric widget: Orders\n"


def test_who_deleted_returning_who_put_the_policy_back_fails_naming_the_cleanup_script(kernel):
    found = result("who-deleted", who_deleted=lambda queue_url, attribute: "arn:aws:iam::123456789012:root")
    assert (found.status, found.message) == (
        "failed",
        "expected who_deleted(queue_url, 'Policy') to name the cleanup script's role session, "
        "arn:aws:sts::123456789012:assumed-role/cleanup-script-role/cleanup-script, found "
        "'arn:aws:iam::123456789012:root': the newest event that set Policy put it back; keep the one that set it "
        'to ""',
    )


def test_a_search_for_every_storefront_trace_fails_saying_most_were_fast(kernel):
    storefront = json.loads(kernel("print(json.dumps(storefront))"))

    def every_trace(since_s):
        found = boto3.client("xray").get_trace_summaries(
            StartTime=since_s, EndTime=time.time() + 60, FilterExpression=f'service("{storefront}")'
        )
        return [summary["Id"] for summary in found["TraceSummaries"]]

    found = result("slow-trace", find_slow_traces=every_trace)
    assert found.status == "failed"
    assert re.fullmatch(
        r"expected find_slow_traces to find only requests slower than 0\.3 s, found \d+ of \d+ faster: filter on "
        r"responsetime > 0\.3",
        found.message,
    ), found.message


def test_the_longest_subsegment_named_wrong_fails_naming_what_was_found(kernel):
    found = result(
        "slow-trace",
        find_slow_traces=in_kernel(kernel, "find_slow_traces"),
        where_the_time_went=lambda trace_id: ("checkout", 0.01),
    )
    assert (found.status, found.message) == (
        "failed",
        "expected where_the_time_went to name 'price basket' with at least 0.3 s, found 'checkout' with 0.01 s",
    )


def test_a_trace_without_the_call_to_checkout_fails_naming_the_spans_found(kernel):
    kernel(
        "def without_checkout(number):\n"
        "    with storefront_tracer.start_as_current_span('GET /basket', kind=trace.SpanKind.SERVER) as span:\n"
        "        span.set_attributes({'http.request.method': 'GET', 'url.full': 'https://shop.example/basket/1'})\n"
        "        with storefront_tracer.start_as_current_span('price basket'):\n"
        "            price_basket(number)\n"
        "        return xray_trace_id(span)\n"
    )
    found = result("storefront-trace", serve_basket=in_kernel(kernel, "without_checkout"))
    assert (found.status, found.message) == (
        "failed",
        "expected a CLIENT span calling checkout (peer.service checkout) in the request, found ['price basket']",
    )


def test_an_slo_alarm_whose_expression_misspells_an_id_fails_showing_the_expression(alarm):
    metrics = alarm_settings(lab08.SLO_ALARM)["Metrics"]
    misspelt = [{**q, "Expression": "100 * FILL(errors, 0) / invocation"} if q["Id"] == "rate" else q for q in metrics]
    alarm(lab08.SLO_ALARM, Metrics=misspelt)
    assert_fails_saying_exactly(
        "slo-alarm",
        "expected the expression of checkout-error-rate to use invocations, the id of its Invocations, found "
        "'100 * FILL(errors, 0) / invocation'",
    )


def test_an_error_budget_that_divides_by_no_traffic_fails_saying_to_return_1(kernel):
    found = result(
        "error-budget", error_budget_left=lambda invocations, errors, slo: 1 - errors / (invocations * (1 - slo))
    )
    assert found.status == "failed"
    assert re.fullmatch(
        r"expected error_budget_left\(0, 0, 0\.99\) to be 1\.0, but your code raised ZeroDivisionError: float division "
        r"by zero \(test_lab08_checks\.py, line \d+\): with no traffic nothing is spent, so return 1\.0 before "
        r"dividing",
        found.message,
    ), found.message


def test_who_deleted_returning_the_role_fails_saying_the_session_is_the_user_identitys_arn(kernel):
    found = result(
        "who-deleted", who_deleted=lambda queue_url, attribute: "arn:aws:iam::123456789012:role/cleanup-script-role"
    )
    assert (found.status, found.message) == (
        "failed",
        "expected who_deleted(queue_url, 'Policy') to name the cleanup script's role session, "
        "arn:aws:sts::123456789012:assumed-role/cleanup-script-role/cleanup-script, found "
        "'arn:aws:iam::123456789012:role/cleanup-script-role': that is the role; the session that used it is "
        "userIdentity's arn",
    )


def test_moving_the_dlq_back_to_a_still_broken_consumer_fails_saying_it_still_raises(kernel, tmp_path):
    broken = 'def handler(event, context):\n    raise ConnectionError("the mail relay does not answer")\n'
    with deployed_with("notifications", {"handler.py": broken}, tmp_path):
        assert_fails_saying_exactly(
            "right-alarm-fired",
            "notifications still raises ConnectionError: the mail relay does not answer (handler.py, line 2): "
            "deploy notifications_file again, then move the DLQ's messages back",
        )


def test_a_fixed_consumer_whose_dlq_was_not_moved_back_fails_saying_to_move_the_messages(kernel):
    sqs = boto3.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName=lab08.DLQ)["QueueUrl"]
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps({"event_type": "OrderPlaced", "order_id": "o-left"}))
    try:
        found = result("right-alarm-fired")
        assert found.status == "failed"
        # At least the one sent here: the step 1 checks run with it may add their orders.
        assert re.fullmatch(
            r"expected the dead-letter queue notifications-dlq to be empty again, found [1-9]\d* message\(s\) in "
            r"it: move them back to their queue with sqs\.start_message_move_task\(SourceArn=dlq_arn\)",
            found.message,
        ), found.message
    finally:
        sqs.purge_queue(QueueUrl=dlq_url)


def test_an_slo_alarm_that_fired_while_notifications_was_broken_fails_saying_when(kernel):
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=lab08.SLO_ALARM, StateValue="ALARM", StateReason="checkouts failing")
    found = result("right-alarm-fired")
    cloudwatch.set_alarm_state(AlarmName=lab08.SLO_ALARM, StateValue="OK", StateReason="put back")
    assert found.status == "failed"
    assert re.fullmatch(
        r"expected checkout-error-rate to stay out of ALARM while notifications was broken, found it went to ALARM "
        r"at \d\d:\d\d:\d\d UTC, after notifications-dlq-depth \(at \d\d:\d\d:\d\d\): were checkouts failing then\?",
        found.message,
    ), found.message


def test_an_emf_document_without_its_dimensions_member_fails_naming_it(kernel, tmp_path):
    lower_case = changed(METRICS, '"Service": function_name', '"service": function_name')
    with deployed_with("checkout", {"order_metrics.py": lower_case}, tmp_path):
        assert_fails_saying_exactly(
            "emf-metrics",
            "checkout printed an EMF document that names ['Service'] without a member of that name, found the "
            "members ['OrderValue', 'OrdersPlaced', 'service']: CloudWatch Logs made no metric of it. Every name in "
            "Dimensions and Metrics must also be a member, with its value",
        )


def test_an_emf_document_whose_dimensions_misspell_its_member_fails_naming_the_dimension(kernel, tmp_path):
    lower_case = changed(METRICS, '"Dimensions": [["Service"]]', '"Dimensions": [["service"]]')
    with deployed_with("checkout", {"order_metrics.py": lower_case}, tmp_path):
        assert_fails_saying_exactly(
            "emf-metrics",
            "checkout printed an EMF document that names ['service'] without a member of that name, found the "
            "members ['OrderValue', 'OrdersPlaced', 'Service']: CloudWatch Logs made no metric of it. Every name in "
            "Dimensions and Metrics must also be a member, with its value",
        )


def test_teardown_removes_the_dashboard_with_the_alarms_it_shows(kernel):
    """The dashboard carries no tags (CloudWatch cannot tag one): the inventory finds it by the alarms it shows."""
    from labkit import teardown

    tagged = {(entry.kind, entry.name) for entry in teardown.tagged("08")}
    assert ("CloudWatch dashboard", lab08.DASHBOARD) in tagged
    assert {("CloudWatch alarm", name) for name in (lab08.DLQ_ALARM, lab08.AGE_ALARM, lab08.SLO_ALARM)} <= tagged

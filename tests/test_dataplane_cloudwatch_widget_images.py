"""CloudWatch's GetMetricWidgetImage on the local cloud: a metric widget (the JSON a dashboard's metric
widget holds in its properties) drawn as a PNG from the metrics put, as lab 08 renders its dashboard."""

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from PIL import Image


@pytest.fixture(scope="module")
def cloudwatch(cloud):
    return boto3.client("cloudwatch")


@pytest.fixture
def namespace():
    return f"Widgets{uuid.uuid4().hex[:8]}"


def put(cloudwatch, namespace: str, values: list[float], at: datetime) -> None:
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "OrdersPlaced",
                "Dimensions": [{"Name": "Service", "Value": "checkout"}],
                "Value": value,
                "Timestamp": at + timedelta(minutes=index),
            }
            for index, value in enumerate(values)
        ],
    )


def widget(namespace: str, at: datetime, **properties) -> str:
    """A widget of the hour from `at`: fixed times, so that only the data can change the image."""
    return json.dumps(
        {
            "metrics": [[namespace, "OrdersPlaced", "Service", "checkout"]],
            "stat": "Sum",
            "period": 60,
            "start": at.isoformat(),
            "end": (at + timedelta(hours=1)).isoformat(),
            **properties,
        }
    )


def image(cloudwatch, metric_widget: str) -> Image.Image:
    answer = cloudwatch.get_metric_widget_image(MetricWidget=metric_widget, OutputFormat="png")
    return Image.open(io.BytesIO(answer["MetricWidgetImage"]))


def refusal(cloudwatch, metric_widget: str, output_format: str = "png") -> dict:
    with pytest.raises(cloudwatch.exceptions.ClientError) as refused:
        cloudwatch.get_metric_widget_image(MetricWidget=metric_widget, OutputFormat=output_format)
    return refused.value.response["Error"]


def an_hour_ago() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)


def test_a_metric_widget_is_a_png_of_the_width_and_height_asked_600_by_400_by_default(cloudwatch, namespace):
    at = an_hour_ago()
    put(cloudwatch, namespace, [3, 5, 2], at)

    asked = image(cloudwatch, widget(namespace, at, width=333, height=217, title="Orders"))
    default = image(cloudwatch, widget(namespace, at))

    assert (asked.format, asked.size) == ("PNG", (333, 217))
    assert (default.format, default.size) == ("PNG", (600, 400))


def test_the_same_widget_draws_the_same_image_until_its_metric_changes(cloudwatch, namespace):
    at = an_hour_ago()
    put(cloudwatch, namespace, [3, 5, 2], at)
    first, again = image(cloudwatch, widget(namespace, at)), image(cloudwatch, widget(namespace, at))

    put(cloudwatch, namespace, [40], at + timedelta(minutes=30))
    after = image(cloudwatch, widget(namespace, at))

    assert first.tobytes() == again.tobytes()
    assert after.tobytes() != first.tobytes()


def test_a_metric_misspelt_draws_the_picture_of_an_hour_without_data_as_an_empty_aws_graph_does(cloudwatch, namespace):
    """A namespace or metric that matches nothing is no error: the graph is drawn empty, saying "No data
    available.", the same picture as the right metric over an hour without datapoints."""
    at = an_hour_ago()
    put(cloudwatch, namespace, [3, 5, 2], at)
    row = [namespace, "OrdersPlaced", "Service", "checkout"]

    with_data = image(cloudwatch, widget(namespace, at, title="Orders"))
    no_data = image(cloudwatch, widget(namespace, at - timedelta(hours=2), title="Orders"))
    misspelt_namespace = image(
        cloudwatch, widget(namespace, at, title="Orders", metrics=[[namespace.lower(), *row[1:]]])
    )
    misspelt_metric = image(
        cloudwatch, widget(namespace, at, title="Orders", metrics=[[namespace, "OrderPlaced", *row[2:]]])
    )

    assert misspelt_namespace.tobytes() == misspelt_metric.tobytes() == no_data.tobytes()
    assert no_data.tobytes() != with_data.tobytes()


def is_red(pixel: tuple[int, int, int]) -> bool:
    """The line's red, or its anti-aliased edge."""
    red, green, blue = pixel
    return red > 200 and green < 120 and blue < 120


def test_a_line_of_nearly_equal_values_is_drawn_below_the_top_of_the_graph_not_on_its_frame(cloudwatch, namespace):
    at = an_hour_ago()
    put(cloudwatch, namespace, [245, 250, 248], at)
    drawn = image(
        cloudwatch,
        widget(namespace, at, metrics=[[namespace, "OrdersPlaced", "Service", "checkout", {"color": "#ff0000"}]]),
    )

    rgb = drawn.convert("RGB")
    width, height = rgb.size
    red_rows = [y for y in range(height) if any(is_red(rgb.getpixel((x, y))) for x in range(width))]
    framed_rows = [y for y in range(height) if sum(max(rgb.getpixel((x, y))) < 80 for x in range(width)) > width / 2]

    assert red_rows and framed_rows
    assert min(red_rows) > min(framed_rows) + 5  # the top of the frame is above the line, with room between


def test_rows_written_with_dots_are_the_metrics_they_repeat(cloudwatch, namespace):
    at = an_hour_ago()
    put(cloudwatch, namespace, [3, 5, 2], at)
    other = [namespace, "OrdersPlaced", "Service", "notifications"]
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "OrdersPlaced",
                "Dimensions": [{"Name": "Service", "Value": "notifications"}],
                "Value": 9,
                "Timestamp": at + timedelta(minutes=10),
            }
        ],
    )

    written_out = image(
        cloudwatch, widget(namespace, at, metrics=[[namespace, "OrdersPlaced", "Service", "checkout"], other])
    )
    with_dots = image(
        cloudwatch,
        widget(
            namespace,
            at,
            metrics=[[namespace, "OrdersPlaced", "Service", "checkout"], [".", ".", ".", "notifications"]],
        ),
    )

    assert with_dots.tobytes() == written_out.tobytes()


def test_an_expression_an_alarms_threshold_and_an_annotation_are_drawn(cloudwatch, namespace):
    at = an_hour_ago()
    put(cloudwatch, namespace, [3, 5, 2], at)
    alarm_name = f"orders-{uuid.uuid4().hex[:8]}"
    cloudwatch.put_metric_alarm(
        AlarmName=alarm_name,
        Namespace=namespace,
        MetricName="OrdersPlaced",
        Statistic="Sum",
        Period=60,
        Dimensions=[{"Name": "Service", "Value": "checkout"}],
        EvaluationPeriods=1,
        Threshold=4,
        ComparisonOperator="GreaterThanThreshold",
    )
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["AlarmArn"]
    plain = image(cloudwatch, widget(namespace, at))

    drawn = {
        "expression": widget(
            namespace,
            at,
            metrics=[
                [namespace, "OrdersPlaced", "Service", "checkout", {"id": "m1"}],
                [{"expression": "m1 * 10", "label": "ten times", "id": "e1"}],
            ],
        ),
        "threshold": widget(namespace, at, annotations={"alarms": [alarm_arn]}),
        "horizontal line": widget(namespace, at, annotations={"horizontal": [{"value": 4, "label": "SLO"}]}),
    }

    assert [
        name for name, metric_widget in drawn.items() if image(cloudwatch, metric_widget).tobytes() == plain.tobytes()
    ] == []


def test_a_widget_that_is_not_a_json_object_is_refused_as_aws_refuses_it(cloudwatch):
    for not_an_object in ("{", "[1, 2]", ""):
        assert refusal(cloudwatch, not_an_object) == {
            "Code": "InvalidParameterInput",
            "Message": "The field MetricWidget must be a valid JSON object",
            "QueryErrorCode": "DashboardInvalidInputError",
            "Type": "Sender",
        }


def test_a_widget_without_metrics_or_out_of_bounds_is_refused_saying_what_is_wrong(cloudwatch, namespace):
    at = an_hour_ago()

    assert refusal(cloudwatch, json.dumps({"title": "nothing"}))["Message"] == (
        "The MetricWidget's metrics must be an array of 1 to 100 arrays"
    )
    assert refusal(cloudwatch, widget(namespace, at, width=2001))["Message"] == (
        "The MetricWidget's width must be an integer from 1 to 2000 (pixels), not 2001"
    )
    assert refusal(cloudwatch, widget(namespace, at, view="table"))["Message"] == (
        "The MetricWidget's view must be one of timeSeries, singleValue, bar, pie, gauge, not 'table'"
    )
    assert refusal(cloudwatch, widget(namespace, at, start="yesterday"))["Code"] == "InvalidParameterInput"


def test_an_output_format_other_than_png_is_refused(cloudwatch, namespace):
    assert refusal(cloudwatch, widget(namespace, an_hour_ago()), output_format="jpeg") == {
        "Code": "InvalidParameterValue",
        "Message": "The OutputFormat jpeg is not supported: only png and image/png are",
        "QueryErrorCode": "InvalidParameterValueException",
        "Type": "Sender",
    }


def test_output_format_image_png_answers_the_png_itself_for_custom_http_requests(cloudwatch, namespace):
    body = json.dumps({"MetricWidget": widget(namespace, an_hour_ago()), "OutputFormat": "image/png"})
    request = AWSRequest(
        "POST",
        cloudwatch.meta.endpoint_url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricWidgetImage",
        },
    )
    SigV4Auth(boto3.Session().get_credentials(), "monitoring", cloudwatch.meta.region_name).add_auth(request)

    answer = requests.post(request.url, data=body, headers=dict(request.headers), timeout=30)

    assert (answer.status_code, answer.headers["Content-Type"]) == (200, "image/png")
    assert Image.open(io.BytesIO(answer.content)).size == (600, 400)


def test_bar_pie_single_value_and_stacked_views_are_each_drawn_their_own_way(cloudwatch, namespace):
    at = an_hour_ago()
    put(cloudwatch, namespace, [3, 5, 2], at)
    views = {
        "timeSeries": {},
        "stacked": {"stacked": True},
        "bar": {"view": "bar"},
        "pie": {"view": "pie"},
        "singleValue": {"view": "singleValue"},
    }

    drawn = {name: image(cloudwatch, widget(namespace, at, **properties)) for name, properties in views.items()}

    assert {image.size for image in drawn.values()} == {(600, 400)}
    assert len({image.tobytes() for image in drawn.values()}) == len(views)

"""Traces on the local cloud: spans exported with the OpenTelemetry SDK over OTLP/HTTP to the local cloud's
/v1/traces are read back through the X-Ray APIs, as segment documents converted the way AWS converts them
(moto 5.2.5 has no OTLP endpoint and answers GetServiceGraph with no services); a function with active
tracing records Lambda's own segments."""

import json
import time
import uuid

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from support import wait_for
from test_dataplane_apigateway import RestApiBuilder
from test_dataplane_lambda import call, clients_for, deploy


@pytest.fixture(scope="module")
def xray(cloud):
    return boto3.client("xray")


def tracer_of(cloud, service: str):
    """A tracer of its own provider: the SDK's global provider can be set once per process."""
    exporter = OTLPSpanExporter(endpoint=f"{cloud.endpoint}/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("lab08")


def orders_call_payments(cloud, *, payments_status: int = 200) -> str:
    """orders serves GET /orders and calls payments over HTTP; payments answers. Returns the X-Ray trace id."""
    orders, payments = tracer_of(cloud, "orders"), tracer_of(cloud, "payments")
    server = trace.SpanKind.SERVER
    with orders.start_as_current_span("GET /orders", kind=server) as root:
        root.set_attributes({"http.request.method": "GET", "url.full": "http://orders.local/orders"})
        with orders.start_as_current_span("POST", kind=trace.SpanKind.CLIENT) as call:
            call.set_attributes({"peer.service": "payments", "http.response.status_code": payments_status})
            with payments.start_as_current_span("POST /pay", kind=server) as pay:
                pay.set_attribute("http.response.status_code", payments_status)
                if payments_status >= 500:
                    pay.set_status(trace.StatusCode.ERROR)
        root.set_attribute("http.response.status_code", 200)
    trace_id = f"{root.get_span_context().trace_id:032x}"
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def summaries(xray) -> dict:
    now = time.time()
    found = xray.get_trace_summaries(StartTime=now - 300, EndTime=now + 60)["TraceSummaries"]
    return {summary["Id"]: summary for summary in found}


def test_spans_exported_over_otlp_come_back_as_a_trace_of_segments_and_subsegments(cloud, xray):
    trace_id = orders_call_payments(cloud)

    summary = wait_for(lambda: summaries(xray).get(trace_id), 10, "the trace's summary")
    assert summary["Http"] == {"HttpURL": "http://orders.local/orders", "HttpMethod": "GET", "HttpStatus": 200}
    assert {s["Name"] for s in summary["ServiceIds"]} == {"orders", "payments"}
    assert summary["EntryPoint"]["Name"] == "orders"
    assert not summary["HasFault"] and not summary["HasError"]

    [found] = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
    segments = {doc["name"]: doc for doc in (json.loads(s["Document"]) for s in found["Segments"])}
    assert set(segments) == {"orders", "payments"}
    [call] = segments["orders"]["subsegments"]
    assert call["name"] == "payments" and call["namespace"] == "remote"
    assert segments["orders"]["trace_id"] == segments["payments"]["trace_id"] == trace_id
    assert "parent_id" not in segments["orders"]
    assert segments["payments"]["parent_id"] == call["id"]
    assert segments["orders"]["http"]["request"] == {"method": "GET", "url": "http://orders.local/orders"}


def test_the_service_graph_has_an_edge_from_caller_to_callee_with_its_calls_counted(cloud, xray):
    orders_call_payments(cloud)
    orders_call_payments(cloud, payments_status=503)

    def graph():
        now = time.time()
        services = xray.get_service_graph(StartTime=now - 300, EndTime=now + 60)["Services"]
        return {service.get("Name"): service for service in services}

    services = wait_for(lambda: (g := graph()).get("payments") and g, 10, "payments in the service graph")
    [edge] = [e for e in services["orders"]["Edges"] if e["ReferenceId"] == services["payments"]["ReferenceId"]]
    stats = edge["SummaryStatistics"]
    assert stats["TotalCount"] >= 2
    assert stats["FaultStatistics"]["TotalCount"] >= 1 and stats["OkCount"] >= 1
    assert stats["TotalResponseTime"] > 0
    client = services[None]
    assert client["Type"] == "client" and client["Root"] is True
    assert services["orders"]["ReferenceId"] in {e["ReferenceId"] for e in client["Edges"]}


def test_the_otlp_endpoint_takes_json_too_and_refuses_other_content_types(cloud, xray):
    span = {
        "traceId": "5759e988bd862e3fe1be46a994272793",
        "spanId": "53995c3f42cd8ad8",
        "name": "GET /health",
        "kind": 2,
        "startTimeUnixNano": str(int(time.time() * 1e9)),
        "endTimeUnixNano": str(int(time.time() * 1e9) + 2_000_000),
        "status": {"code": 2},
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "health"}}]}
    request = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}

    sent = requests.post(f"{cloud.endpoint}/v1/traces", json=request, timeout=10)
    assert (sent.status_code, sent.json()) == (200, {})
    refused = requests.post(f"{cloud.endpoint}/v1/traces", data="x", headers={"Content-Type": "text/plain"}, timeout=10)
    assert refused.status_code == 415

    [found] = xray.batch_get_traces(TraceIds=["1-5759e988-bd862e3fe1be46a994272793"])["Traces"]
    [segment] = [json.loads(s["Document"]) for s in found["Segments"]]
    assert (segment["name"], segment["fault"], segment["id"]) == ("health", True, "53995c3f42cd8ad8")


def test_a_trace_id_never_sent_is_unprocessed(cloud, xray):
    found = xray.batch_get_traces(TraceIds=["1-00000000-000000000000000000000000"])
    assert (found["Traces"], found["UnprocessedTraceIds"]) == ([], ["1-00000000-000000000000000000000000"])


TRACE_HEADER = """
import os

def handler(event, context):
    return os.environ.get("_X_AMZN_TRACE_ID")
"""


def test_an_actively_traced_function_records_lambdas_two_segments_and_hands_the_handler_its_trace(cloud, xray):
    aws = clients_for(boto3.Session())
    function = deploy(aws, TRACE_HEADER, TracingConfig={"Mode": "Active"})
    header = call(aws, function)[1]
    fields = dict(part.split("=", 1) for part in header.split(";"))
    assert fields["Sampled"] == "1"

    [found] = xray.batch_get_traces(TraceIds=[fields["Root"]])["Traces"]
    segments = {doc["origin"]: doc for doc in (json.loads(s["Document"]) for s in found["Segments"])}
    service, handler = segments["AWS::Lambda"], segments["AWS::Lambda::Function"]
    assert service["name"] == handler["name"] == function
    assert handler["parent_id"] == service["id"]
    assert handler["id"] == fields["Parent"]
    assert "Invocation" in [sub["name"] for sub in handler["subsegments"]]

    now = time.time()
    services = xray.get_service_graph(StartTime=now - 300, EndTime=now + 60)["Services"]
    by_type = {(s.get("Name"), s.get("Type")): s for s in services}
    lambda_node, function_node = by_type[(function, "AWS::Lambda")], by_type[(function, "AWS::Lambda::Function")]
    assert function_node["ReferenceId"] in [edge["ReferenceId"] for edge in lambda_node["Edges"]]


def test_a_function_without_active_tracing_records_no_segments(cloud, xray):
    aws = clients_for(boto3.Session())
    header = call(aws, deploy(aws, TRACE_HEADER))[1]
    fields = dict(part.split("=", 1) for part in header.split(";"))
    assert fields["Sampled"] == "0"
    assert xray.batch_get_traces(TraceIds=[fields["Root"]])["Traces"] == []


def test_a_senders_trace_header_reaches_the_consumer_as_the_messages_awstraceheader(cloud):
    sqs = boto3.client("sqs")
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

    def traced(request, **_):
        request.headers["X-Amzn-Trace-Id"] = header

    sqs.meta.events.register("before-sign.sqs.SendMessage", traced)
    url = sqs.create_queue(QueueName=f"traced-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="from the header")
    own = "Root=1-5759e988-000000000000000000000001;Sampled=1"
    sqs.send_message(
        QueueUrl=url,
        MessageBody="its own",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": own}},
    )

    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["AWSTraceHeader"])
    traces = {m["Body"]: m["Attributes"]["AWSTraceHeader"] for m in found["Messages"]}
    assert traces == {"from the header": header, "its own": own}  # the attribute wins over the header


def test_a_filter_expression_finds_the_faulty_traces_of_a_service(cloud, xray):
    ok, failed = orders_call_payments(cloud), orders_call_payments(cloud, payments_status=503)
    now = time.time()

    def found(expression: str) -> set[str]:
        answer = xray.get_trace_summaries(StartTime=now - 300, EndTime=now + 60, FilterExpression=expression)
        return {summary["Id"] for summary in answer["TraceSummaries"]}

    assert failed in found('service("payments") AND fault') and ok not in found('service("payments") AND fault')
    assert ok in found('!fault AND http.url CONTAINS "/orders"') and failed not in found("!fault")
    assert {ok, failed} <= found('responsetime >= 0 AND http.method = "GET"')
    with pytest.raises(ClientError) as refused:
        found("latency ~ 5")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"


def test_a_rest_api_stage_with_tracing_enabled_records_api_gateways_segment(cloud, xray):
    api = RestApiBuilder(f"traced-{uuid.uuid4().hex[:6]}")
    mock = {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}}
    api.method("/ping", "GET", mock, responses=[{"statusCode": "200"}])
    api.client.create_deployment(restApiId=api.id, stageName="prod")
    patch = [{"op": "replace", "path": "/tracingEnabled", "value": "true"}]
    api.client.update_stage(restApiId=api.id, stageName="prod", patchOperations=patch)

    host = {"Host": f"{api.id}.execute-api.localhost"}
    answered = requests.get(f"{cloud.endpoint}/prod/ping", headers=host, timeout=10)
    assert answered.status_code == 200
    root = dict(part.split("=", 1) for part in answered.headers["X-Amzn-Trace-Id"].split(";"))["Root"]

    [found] = xray.batch_get_traces(TraceIds=[root])["Traces"]
    [segment] = [json.loads(s["Document"]) for s in found["Segments"]]
    assert (segment["name"], segment["origin"]) == (
        f"{api.client.get_rest_api(restApiId=api.id)['name']}/prod",
        "AWS::ApiGateway::Stage",
    )
    assert segment["http"]["response"]["status"] == 200 and segment["http"]["request"]["method"] == "GET"


PROXY_ANSWER = """
import json, os

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"trace": os.environ.get("_X_AMZN_TRACE_ID")})}
"""


def test_an_actively_traced_function_behind_a_traced_stage_continues_api_gateways_trace(cloud, xray):
    aws = clients_for(boto3.Session())
    function = deploy(aws, PROXY_ANSWER, TracingConfig={"Mode": "Active"})
    function_arn = aws["lambda"].get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    aws["lambda"].add_permission(
        FunctionName=function,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn="arn:aws:execute-api:*:123456789012:*",
    )
    api = RestApiBuilder(f"traced-{uuid.uuid4().hex[:6]}")
    api.lambda_proxy("/orders", "GET", function_arn)
    api.client.create_deployment(restApiId=api.id, stageName="prod")
    patch = [{"op": "replace", "path": "/tracingEnabled", "value": "true"}]
    api.client.update_stage(restApiId=api.id, stageName="prod", patchOperations=patch)

    answered = requests.get(
        f"{cloud.endpoint}/prod/orders", headers={"Host": f"{api.id}.execute-api.localhost"}, timeout=30
    )
    assert answered.status_code == 200, answered.text
    root = dict(part.split("=", 1) for part in answered.headers["X-Amzn-Trace-Id"].split(";"))["Root"]
    assert answered.json()["trace"].startswith(f"Root={root};")

    [found] = xray.batch_get_traces(TraceIds=[root])["Traces"]
    segments = {doc["origin"]: doc for doc in (json.loads(s["Document"]) for s in found["Segments"])}
    assert segments["AWS::Lambda"]["parent_id"] == segments["AWS::ApiGateway::Stage"]["id"]
    assert segments["AWS::Lambda::Function"]["parent_id"] == segments["AWS::Lambda"]["id"]


def test_remote_sampling_gets_the_accounts_default_rule_and_a_target_for_it(cloud, xray):
    [record] = xray.get_sampling_rules()["SamplingRuleRecords"]
    rule = record["SamplingRule"]
    assert (rule["RuleName"], rule["FixedRate"], rule["ReservoirSize"], rule["Priority"]) == ("Default", 0.05, 1, 10000)
    assert rule["RuleARN"] == "arn:aws:xray:us-east-1:123456789012:sampling-rule/Default"
    assert {rule[key] for key in ("ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath", "ResourceARN")} == {
        "*"
    }
    statistics = {"ClientID": "0" * 24, "Timestamp": time.time(), "RequestCount": 3, "SampledCount": 1}
    answer = xray.get_sampling_targets(
        SamplingStatisticsDocuments=[{**statistics, "RuleName": "Default"}, {**statistics, "RuleName": "checkout"}]
    )
    [target] = answer["SamplingTargetDocuments"]
    assert (target["RuleName"], target["FixedRate"], target["ReservoirQuota"], target["Interval"]) == (
        "Default",
        0.05,
        1,
        10,
    )
    assert [u["RuleName"] for u in answer["UnprocessedStatistics"]] == ["checkout"]


def test_an_xray_operation_the_local_cloud_lacks_is_refused_naming_it(cloud, xray):
    with pytest.raises(ClientError) as refused:
        xray.get_group(GroupName="Default")
    error = refused.value.response["Error"]
    assert error["Code"] == "NotImplemented"
    assert error["Message"].startswith("The local cloud does not implement X-Ray's GetGroup")

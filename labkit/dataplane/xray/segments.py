"""Spans as X-Ray segment documents, the way AWS's OpenTelemetry collector exporter (awsxrayexporter,
"Data Conversion") converts them.

- The trace id 0123456789abcdef... becomes 1-01234567-89abcdef...: X-Ray's version, 8 and 24 hex digits.
- A SERVER span, or one without a parent, is a segment named after its resource's service.name; every other
  span is a subsegment of its parent span's (sub)segment, named after its peer.service, the AWS service
  it calls (rpc.service) or the host it calls, else after the span.
- A CLIENT or PRODUCER span is in the "remote" namespace, an AWS SDK call (rpc.system aws-api) in "aws".
- http.* / url.* attributes (old and current semantic conventions) fill `http`, rpc.method and aws.* fill
  `aws`, cloud.platform gives the segment's `origin`; other attributes go to metadata.default.
- An ERROR status is a fault, or an error for a 4xx response (and a throttle for 429).
"""

from urllib.parse import urlparse

from labkit.dataplane.xray.otlp import Span

ORIGINS = {
    "aws_lambda": "AWS::Lambda::Function",
    "aws_ecs": "AWS::ECS::Container",
    "aws_ec2": "AWS::EC2::Instance",
    "aws_eks": "AWS::EKS::Container",
    "aws_elastic_beanstalk": "AWS::ElasticBeanstalk::Environment",
}
HTTP_REQUEST = {"method": ("http.request.method", "http.method"), "url": ("url.full", "http.url")}
HTTP_STATUS = ("http.response.status_code", "http.status_code")
MAPPED = {"rpc.system", "rpc.service", "rpc.method", "peer.service", "aws.region", "aws.request_id"}
MAPPED |= {name for names in HTTP_REQUEST.values() for name in names} | set(HTTP_STATUS)


def xray_trace_id(otel_trace_id: str) -> str:
    return f"1-{otel_trace_id[:8]}-{otel_trace_id[8:]}"


def is_segment(span: Span) -> bool:
    return span.kind == "SERVER" or span.parent_span_id is None


def documents(spans: list[Span]) -> list[dict]:
    """The trace's segment documents, each with its subsegments nested under their parents."""
    by_id = {span.span_id: _document(span) for span in spans}
    segments = []
    for span in sorted(spans, key=lambda s: s.start_ns):
        document = by_id[span.span_id]
        parent = by_id.get(span.parent_span_id) if not is_segment(span) else None
        if parent is not None:
            parent.setdefault("subsegments", []).append(document)
        elif is_segment(span):
            segments.append(document)
        # A subsegment whose parent span has not arrived yet waits for it, as X-Ray shows it only then.
    return segments


def _document(span: Span) -> dict:
    document = {
        "id": span.span_id,
        "name": _name(span),
        "start_time": span.start_ns / 1e9,
        "end_time": span.end_ns / 1e9,
    }
    if is_segment(span):
        document["trace_id"] = xray_trace_id(span.trace_id)
        if span.parent_span_id:
            document["parent_id"] = span.parent_span_id
        if origin := ORIGINS.get(span.resource.get("cloud.platform")):
            document["origin"] = origin
    if namespace := _namespace(span):
        document["namespace"] = namespace
    if http := _http(span):
        document["http"] = http
    if aws := _aws(span):
        document["aws"] = aws
    document.update(_outcome(span))
    if metadata := {key: value for key, value in span.attributes.items() if key not in MAPPED}:
        document["metadata"] = {"default": metadata}
    return document


def _name(span: Span) -> str:
    if is_segment(span):
        return span.resource.get("service.name") or span.name
    attributes = span.attributes
    if attributes.get("peer.service"):
        return attributes["peer.service"]
    if attributes.get("rpc.system") == "aws-api" and attributes.get("rpc.service"):
        return attributes["rpc.service"]
    if span.kind in ("CLIENT", "PRODUCER") and (url := _first(attributes, HTTP_REQUEST["url"])):
        return urlparse(url).hostname or span.name
    return span.name


def _namespace(span: Span) -> str | None:
    if span.attributes.get("rpc.system") == "aws-api":
        return "aws"
    if not is_segment(span) and span.kind in ("CLIENT", "PRODUCER"):
        return "remote"
    return None


def _http(span: Span) -> dict:
    request = {field: value for field, names in HTTP_REQUEST.items() if (value := _first(span.attributes, names))}
    http = {"request": request} if request else {}
    if (status := _first(span.attributes, HTTP_STATUS)) is not None:
        http["response"] = {"status": int(status)}
    return http


def _aws(span: Span) -> dict:
    attributes = span.attributes
    if attributes.get("rpc.system") != "aws-api":
        return {}
    aws = {"operation": attributes.get("rpc.method")}
    if attributes.get("aws.region"):
        aws["region"] = attributes["aws.region"]
    if attributes.get("aws.request_id"):
        aws["request_id"] = attributes["aws.request_id"]
    return aws


def _outcome(span: Span) -> dict:
    status = _first(span.attributes, HTTP_STATUS)
    status = int(status) if status is not None else None
    if status == 429:
        return {"error": True, "throttle": True}
    if status is not None and 400 <= status < 500:
        return {"error": True}
    if span.is_error or (status is not None and status >= 500):
        return {"fault": True}
    return {}


def _first(attributes: dict, names: tuple[str, ...]):
    return next((attributes[name] for name in names if attributes.get(name) is not None), None)

"""OTLP/HTTP trace export requests, decoded into plain spans.

Both encodings of the OpenTelemetry protocol (opentelemetry.io/docs/specs/otlp, "OTLP/HTTP"): binary
protobuf (Content-Type application/x-protobuf, what the Python SDK's exporter sends) and JSON
(application/json: ids as hex strings, enums as integers, 64-bit integers as strings), optionally gzipped.
"""

import base64
import gzip
import json
from dataclasses import dataclass

PROTOBUF, JSON = "application/x-protobuf", "application/json"
# SpanKind and Status.code numbers in opentelemetry/proto/trace/v1/trace.proto.
KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_ERROR = 2


class Unsupported(Exception):
    """A request the OTLP/HTTP receiver refuses: 415 for a content type, 400 for a body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Span:
    trace_id: str
    """32 hex digits."""
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    attributes: dict
    resource: dict
    """The attributes of the resource that made it (service.name, cloud.platform...)."""
    is_error: bool


def decode(body: bytes, content_type: str, content_encoding: str = "") -> list[Span]:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in (PROTOBUF, JSON):
        raise Unsupported(415, f"unsupported content type {media_type!r}: use {PROTOBUF} or {JSON}")
    try:
        if content_encoding.strip().lower() == "gzip":
            body = gzip.decompress(body)
        if media_type == JSON:
            return _spans(json.loads(body), _hex)
        return _spans(_protobuf_as_json(body), _base64_as_hex)
    except Unsupported:
        raise
    except Exception as error:  # noqa: BLE001 - any undecodable body is the sender's error
        raise Unsupported(400, f"the request body is not an OTLP ExportTraceServiceRequest: {error}") from error


def _protobuf_as_json(body: bytes) -> dict:
    # Imported on the first export only: protobuf's generated modules cost start-up time.
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return MessageToDict(request, use_integers_for_enums=True)


def _hex(value: str) -> str:
    return value.lower()


def _base64_as_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _spans(request: dict, as_hex) -> list[Span]:
    spans = []
    for resource_spans in request.get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                parent = span.get("parentSpanId")
                spans.append(
                    Span(
                        trace_id=as_hex(span["traceId"]),
                        span_id=as_hex(span["spanId"]),
                        parent_span_id=as_hex(parent) if parent else None,
                        name=span.get("name", ""),
                        kind=KINDS.get(int(span.get("kind", 0)), "UNSPECIFIED"),
                        start_ns=int(span.get("startTimeUnixNano", 0)),
                        end_ns=int(span.get("endTimeUnixNano", 0)),
                        attributes=_attributes(span.get("attributes", [])),
                        resource=resource,
                        is_error=int(span.get("status", {}).get("code", 0)) == STATUS_ERROR,
                    )
                )
    return spans


def _attributes(key_values: list) -> dict:
    return {item["key"]: _value(item.get("value", {})) for item in key_values}


def _value(any_value: dict):
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "doubleValue" in any_value:
        return float(any_value["doubleValue"])
    if "boolValue" in any_value:
        return bool(any_value["boolValue"])
    if "arrayValue" in any_value:
        return [_value(v) for v in any_value["arrayValue"].get("values", [])]
    return None

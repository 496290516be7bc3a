"""Traces on the local cloud: spans sent over OTLP/HTTP become X-Ray traces.

AWS recommends OpenTelemetry now that the X-Ray SDKs and daemon are in maintenance (since 2026-02-25):
spans go over OTLP to X-Ray's OTLP endpoint (https://xray.REGION.amazonaws.com/v1/traces) or through the
ADOT collector, and are read back with the X-Ray APIs. Here the local cloud's own port takes
POST /v1/traces (protobuf or JSON), converts the spans as AWS does (segments.py), and GetTraceSummaries,
BatchGetTraces and GetServiceGraph answer them (moto_patches.py), and the segments services make
themselves (put_segments: Lambda's, for a function whose TracingConfig is Active).
"""

import json
import re

from labkit.dataplane.core import seams
from labkit.dataplane.xray import otlp, sampling, store

ROUTE = "/v1/traces"
# A request signed for X-Ray: "Credential=KEY/DATE/REGION/xray/aws4_request" in its Authorization header.
_SIGNED_FOR_XRAY = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/xray/aws4_request")


def install() -> None:
    name = "xray: OTLP traces are read through the X-Ray APIs"
    seams.declare(name, "moto.xray.responses", "labkit.dataplane.xray.moto_patches:SEAMS")


def middleware(app):
    def wsgi(environ, start_response):
        operation = sampling.UNROUTED.get(environ.get("PATH_INFO", ""))
        signed = _SIGNED_FOR_XRAY.search(environ.get("HTTP_AUTHORIZATION", ""))
        if operation and signed:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            status, answer = sampling.answer(operation, signed.group(1), body)
            return _answer(start_response, status, "application/json", json.dumps(answer).encode())
        if environ.get("PATH_INFO") != ROUTE:
            return app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 405, otlp.JSON, b"")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        content_type = environ.get("CONTENT_TYPE", "")
        try:
            store.add(otlp.decode(body, content_type, environ.get("HTTP_CONTENT_ENCODING", "")))
        except otlp.Unsupported as refused:
            return _answer(start_response, refused.status, otlp.JSON, json.dumps({"message": str(refused)}).encode())
        # An empty ExportTraceServiceResponse: no bytes in protobuf, {} in JSON.
        is_json = content_type.startswith(otlp.JSON)
        return _answer(start_response, 200, otlp.JSON if is_json else otlp.PROTOBUF, b"{}" if is_json else b"")

    return wsgi


def _answer(start_response, status: int, content_type: str, body: bytes):
    reasons = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 415: "Unsupported Media Type"}
    reason = {**reasons, 501: "Not Implemented"}[status]
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def put_segments(segments: list[dict]) -> None:
    """Record segment documents an AWS service makes itself (Lambda's when tracing is active)."""
    store.add_segments(segments)


def reset() -> None:
    store.reset()

"""Active tracing of a REST API stage (TracingEnabled): API Gateway records a segment for each request,
named API-NAME/STAGE with origin AWS::ApiGateway::Stage, holding the request's method and URL and the
response's status, continues the trace of an X-Amzn-Trace-Id the client sent or starts one, and answers
with the header (X-Ray Developer Guide, "Amazon API Gateway active tracing support for AWS X-Ray"). The
local cloud samples every request. A function with active tracing behind it continues the trace."""

import secrets
import time
from dataclasses import dataclass

from labkit.dataplane import xray
from labkit.dataplane.apigateway.messages import ApiRequest, ApiResponse


@dataclass(frozen=True)
class Trace:
    trace_id: str
    segment_id: str
    parent: str | None

    @property
    def header(self) -> str:
        """What the integration's function continues (core.functions.TRACE_HEADER)."""
        return f"Root={self.trace_id};Parent={self.segment_id};Sampled=1"


def begin(request: ApiRequest) -> Trace:
    incoming = dict(
        part.strip().split("=", 1) for part in (request.header("X-Amzn-Trace-Id") or "").split(";") if "=" in part
    )
    started = request.received.epoch_ms / 1000
    trace_id = incoming.get("Root") or f"1-{int(started):08x}-{secrets.token_hex(12)}"
    return Trace(trace_id, secrets.token_hex(8), incoming.get("Parent"))


def record(api, stage_name: str, request: ApiRequest, response: ApiResponse, trace: Trace) -> None:
    started = request.received.epoch_ms / 1000
    trace_id = trace.trace_id
    segment = {
        "id": trace.segment_id,
        "trace_id": trace_id,
        "name": f"{api.name}/{stage_name}",
        "origin": "AWS::ApiGateway::Stage",
        "start_time": started,
        "end_time": time.time(),
        "http": {
            "request": {"method": request.method, "url": f"https://{request.host}{request.raw_path}"},
            "response": {"status": response.status},
        },
        "aws": {"api_id": api.id, "stage": stage_name, "request_id": request.received.request_id},
    }
    if trace.parent:
        segment["parent_id"] = trace.parent
    if response.status == 429:
        segment.update(error=True, throttle=True)
    elif 400 <= response.status < 500:
        segment["error"] = True
    elif response.status >= 500:
        segment["fault"] = True
    xray.put_segments([segment])
    response.headers.append(("X-Amzn-Trace-Id", f"Root={trace_id};Sampled=1"))

"""Active tracing (TracingConfig Mode=Active): Lambda records two segments for each sampled invocation, the
Lambda service's (origin AWS::Lambda) and the function's (AWS::Lambda::Function), the second a child of the
first, with Initialization (a cold start), Invocation and Overhead subsegments, and hands the runtime a trace
header whose Parent is the function's segment (the handler sees it as _X_AMZN_TRACE_ID) (X-Ray Developer
Guide, "AWS Lambda and AWS X-Ray"). The local cloud samples every invocation; AWS samples one request a
second and 5% of the rest."""

import secrets
import time
from dataclasses import dataclass

from labkit.dataplane import xray


@dataclass(frozen=True)
class Trace:
    trace_id: str
    service_segment: str
    function_segment: str
    started: float
    parent: str | None = None
    """The caller's segment, when the function continues its trace (API Gateway's)."""

    @property
    def header(self) -> str:
        return f"Root={self.trace_id};Parent={self.function_segment};Sampled=1"


def is_active(fn) -> bool:
    return (fn.tracing_config or {}).get("Mode") == "Active"


def begin(incoming: str | None = None) -> Trace:
    """A new trace, or the one of the caller's trace header (Root=...;Parent=...)."""
    started = time.time()
    fields = dict(part.strip().split("=", 1) for part in (incoming or "").split(";") if "=" in part)
    trace_id = fields.get("Root") or f"1-{int(started):08x}-{secrets.token_hex(12)}"
    return Trace(trace_id, secrets.token_hex(8), secrets.token_hex(8), started, fields.get("Parent"))


def record(fn, trace: Trace, request_id: str, outcome, errored: bool) -> None:
    ended = time.time()
    ran = outcome.elapsed_s if outcome is not None else 0.0
    init_s = (outcome.init_duration_ms or 0.0) / 1000 if outcome is not None else 0.0
    invocation_end = ended
    invocation_start = max(trace.started, invocation_end - ran)
    subsegments = []
    if init_s:
        init_start = max(trace.started, invocation_start - init_s)
        subsegments.append(_subsegment("Initialization", init_start, invocation_start))
    subsegments.append(_subsegment("Invocation", invocation_start, invocation_end))
    subsegments.append(_subsegment("Overhead", invocation_end, ended))
    name = fn.function_name
    service = {
        "id": trace.service_segment,
        "trace_id": trace.trace_id,
        "name": name,
        "origin": "AWS::Lambda",
        "start_time": trace.started,
        "end_time": ended,
        "http": {"response": {"status": 200}},
        "aws": {"request_id": request_id},
    }
    if trace.parent:
        service["parent_id"] = trace.parent
    function = {
        "id": trace.function_segment,
        "trace_id": trace.trace_id,
        "parent_id": trace.service_segment,
        "name": name,
        "origin": "AWS::Lambda::Function",
        "start_time": invocation_start - init_s,
        "end_time": ended,
        "aws": {"function_arn": fn.function_arn, "resource_names": [name], "account_id": fn.account_id},
        "subsegments": subsegments,
    }
    if errored:
        function["fault"] = True
    xray.put_segments([service, function])


def _subsegment(name: str, start: float, end: float) -> dict:
    return {"id": secrets.token_hex(8), "name": name, "start_time": start, "end_time": end}

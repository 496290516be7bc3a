"""The spans the local cloud received over OTLP, by trace, until `labkit reset`.

One store for every region: an OTLP request names none (on AWS each region has its own endpoint).
"""

import threading

from labkit.dataplane.xray.otlp import Span
from labkit.dataplane.xray.segments import xray_trace_id

_lock = threading.Lock()
_traces: dict[str, dict[str, Span]] = {}
"""X-Ray trace id -> span id -> span."""


def add(spans: list[Span]) -> None:
    with _lock:
        for span in spans:
            _traces.setdefault(xray_trace_id(span.trace_id), {})[span.span_id] = span


def trace(trace_id: str) -> list[Span] | None:
    with _lock:
        found = _traces.get(trace_id)
        return list(found.values()) if found else None


def traces() -> dict[str, list[Span]]:
    with _lock:
        return {trace_id: list(spans.values()) for trace_id, spans in _traces.items()}


def reset() -> None:
    with _lock:
        _traces.clear()

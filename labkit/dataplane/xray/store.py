"""The spans the local cloud received over OTLP, and the segments AWS services made (Lambda's, with
active tracing), by trace, until `labkit reset`.

One store for every region: an OTLP request names none (on AWS each region has its own endpoint).
"""

import threading

from labkit.dataplane.xray.otlp import Span
from labkit.dataplane.xray.segments import documents, xray_trace_id

_lock = threading.Lock()
_traces: dict[str, dict[str, Span]] = {}
"""X-Ray trace id -> span id -> span."""
_segments: dict[str, list[dict]] = {}
"""X-Ray trace id -> segment documents made whole (by a service rather than from spans)."""


def add(spans: list[Span]) -> None:
    with _lock:
        for span in spans:
            _traces.setdefault(xray_trace_id(span.trace_id), {})[span.span_id] = span


def add_segments(segments: list[dict]) -> None:
    with _lock:
        for segment in segments:
            _segments.setdefault(segment["trace_id"], []).append(segment)


def segments(trace_id: str) -> list[dict]:
    """The trace's segment documents, from its spans and as services made them."""
    with _lock:
        spans = list(_traces.get(trace_id, {}).values())
        made = list(_segments.get(trace_id, []))
    return documents(spans) + made


def trace_ids() -> list[str]:
    with _lock:
        return list(dict.fromkeys([*_traces, *_segments]))


def reset() -> None:
    with _lock:
        _traces.clear()
        _segments.clear()

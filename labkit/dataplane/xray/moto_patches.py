"""moto's X-Ray answers GetTraceSummaries and BatchGetTraces from what PutTraceSegments stored, and
GetServiceGraph with no services at all. Here the first two also answer the traces received over OTLP,
and the service graph is made from them. Imported only once moto.xray.models is."""

import datetime
import functools
import json

from moto.core.exceptions import AWSError

from labkit.dataplane.core.seams import Seam
from labkit.dataplane.xray import filters, queries


def _with_otlp_summaries(get_trace_summary):
    @functools.wraps(get_trace_summary)
    def get_trace_summary_with_otlp(self, start_time, end_time, filter_expression):
        # moto refuses every filter expression (InternalFailure); here they are applied to all summaries.
        try:
            condition = filters.parse(filter_expression) if filter_expression else None
        except filters.Invalid as invalid:
            # AWSError: moto's X-Ray answers any other exception as InternalFailure.
            raise AWSError(str(invalid), exception_type="InvalidRequestException", status=400) from invalid
        found = get_trace_summary(self, start_time, end_time, None)
        found["TraceSummaries"] += queries.summaries(start_time.timestamp(), end_time.timestamp())
        found["TracesProcessedCount"] = len(found["TraceSummaries"])
        if condition is not None:
            found["TraceSummaries"] = [s for s in found["TraceSummaries"] if filters.matches(condition, s)]
        return found

    return get_trace_summary_with_otlp


def _with_otlp_traces(get_trace_ids):
    @functools.wraps(get_trace_ids)
    def get_trace_ids_with_otlp(self, trace_ids):
        ours, missing = queries.traces(trace_ids)
        found = get_trace_ids(self, missing)
        found["Traces"] = ours + found["Traces"]
        return found

    return get_trace_ids_with_otlp


def _graph_of_otlp_traces(service_graph):
    @functools.wraps(service_graph)
    def otlp_service_graph(self):
        start, end = self._get_param("StartTime"), self._get_param("EndTime")
        if start is None or end is None:
            return service_graph(self)  # moto's MissingParameter answers
        start, end = _epoch(start), _epoch(end)
        services = queries.service_graph(start, end)
        answer = {"StartTime": start, "EndTime": end, "Services": services, "ContainsOldGroupVersions": False}
        return json.dumps(answer)

    return otlp_service_graph


def _epoch(value) -> float:
    # botocore sends rest-json timestamps as epoch seconds; other clients may send ISO 8601.
    try:
        return float(value)
    except (TypeError, ValueError):
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


SEAMS = (
    Seam(
        "moto.xray.models.XRayBackend.get_trace_summary",
        ("self", "start_time", "end_time", "filter_expression"),
        replace=_with_otlp_summaries,
    ),
    Seam("moto.xray.models.XRayBackend.get_trace_ids", ("self", "trace_ids"), replace=_with_otlp_traces),
    Seam("moto.xray.responses.XRayResponse.service_graph", ("self",), replace=_graph_of_otlp_traces),
)

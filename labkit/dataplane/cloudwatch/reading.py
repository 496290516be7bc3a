"""GetMetricStatistics and GetMetricData read metrics as AWS does, where moto does not:

- for exactly the dimensions asked: "CloudWatch treats each unique combination of dimensions as a
  separate metric. If a specific combination of dimensions was not published, you can't retrieve
  statistics for it" (CloudWatch API Reference, GetMetricStatistics, Dimensions). moto adds up every
  datapoint that has the dimensions asked among others (a function's Invocations under FunctionName
  would count those under FunctionName+Resource again), and every datapoint of the metric when none are
  asked; its GetMetricData does not even compare namespaces;
- with percentiles: GetMetricStatistics' ExtendedStatistics (p99) and a MetricStat's Stat p99, which
  moto ignores (statistics.py computes them).
A metric math expression of GetMetricData is still moto's, over moto's reading of its metrics.
series() is also how GetMetricWidgetImage reads a widget's metrics (metric_widgets.py)."""

import functools
import math
from datetime import timedelta

from labkit.dataplane.cloudwatch import reasons, statistics
from labkit.dataplane.core.seams import Seam


def _dimensions(pairs) -> list[tuple[str, str]]:
    return sorted((d["Name"], d.get("Value")) for d in pairs or [])


def _of(datum) -> list[tuple[str, str]]:
    return sorted((d.name, d.value) for d in datum.dimensions)


def _exactly(get_metric_statistics):
    @functools.wraps(get_metric_statistics)
    def get(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit=None):
        found = get_metric_statistics(
            self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit
        )
        wanted = _dimensions(dimensions)
        for period_statistics in found:
            period_statistics.metric_data = [d for d in period_statistics.metric_data if _of(d) == wanted]
        return [period_statistics for period_statistics in found if period_statistics.metric_data]

    return get


def _with_percentiles(get_metric_statistics):
    @functools.wraps(get_metric_statistics)
    def respond(self):
        answer = get_metric_statistics(self)
        asked = self._get_param("ExtendedStatistics") or []
        for datapoint in answer.result["Datapoints"] if asked else ():
            values = {name: statistics.of(datapoint.metric_data, name) for name in asked}
            datapoint.extended_statistics = {name: value for name, value in values.items() if value is not None}
        return answer

    return respond


def _metric_stats_exactly(get_metric_data):
    @functools.wraps(get_metric_data)
    def get(self, queries, start_time, end_time, scan_by="TimestampAscending"):
        found = get_metric_data(self, queries, start_time, end_time, scan_by)
        by_id = {query["Id"]: query["MetricStat"] for query in queries if "MetricStat" in query}
        for result in found:
            if result["id"] in by_id:
                result["values"], result["timestamps"] = series(
                    self, by_id[result["id"]], start_time, end_time, scan_by
                )
        return found

    return get


def series(backend, metric_stat: dict, start_time, end_time, scan_by: str) -> tuple[list, list]:
    """(values, timestamps) of a MetricStat ({"Metric", "Period", "Stat", "Unit"}) between the two times,
    as GetMetricData answers them: also what GetMetricWidgetImage draws (metric_widgets.py)."""
    metric = metric_stat["Metric"]
    wanted, unit = _dimensions(metric.get("Dimensions")), metric_stat.get("Unit")
    start, end = (
        reasons.naive_utc(start_time).replace(microsecond=0),
        reasons.naive_utc(end_time).replace(microsecond=0),
    )
    length = int(metric_stat["Period"])
    buckets: dict[int, list] = {}
    for datum in backend.get_all_metrics():
        if datum.namespace != metric["Namespace"] or datum.name != metric["MetricName"]:
            continue
        if (unit and datum.unit != unit) or not start <= datum.timestamp < end or _of(datum) != wanted:
            continue
        buckets.setdefault(math.floor((datum.timestamp - start).total_seconds() / length), []).append(datum)
    points = []
    for bucket in sorted(buckets, reverse=scan_by != "TimestampAscending"):
        value = statistics.of(buckets[bucket], metric_stat["Stat"])
        if value is not None:
            points.append((start + timedelta(seconds=bucket * length), value))
    return [value for _, value in points], [moment for moment, _ in points]


SEAMS = (
    Seam(
        "moto.cloudwatch.models.CloudWatchBackend.get_metric_statistics",
        ("self", "namespace", "metric_name", "start_time", "end_time", "period", "stats", "dimensions", "unit"),
        replace=_exactly,
    ),
    # Each period's Statistics computes its statistics from its metric_data when asked.
    Seam("moto.cloudwatch.models.Statistics.calc_sum", contains="self.metric_single_values_list"),
    Seam(
        "moto.cloudwatch.responses.CloudWatchResponse.get_metric_statistics",
        ("self",),
        contains='result = {"Label": metric_name, "Datapoints": datapoints}',
        replace=_with_percentiles,
    ),
    Seam(
        "moto.cloudwatch.models.CloudWatchBackend.get_metric_data",
        ("self", "queries", "start_time", "end_time", "scan_by"),
        contains='"id": query["Id"],',
        replace=_metric_stats_exactly,
    ),
)

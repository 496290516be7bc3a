"""GetMetricStatistics answers for exactly the dimensions asked, as on AWS: "CloudWatch treats each
unique combination of dimensions as a separate metric. If a specific combination of dimensions was not
published, you can't retrieve statistics for it" (CloudWatch API Reference, GetMetricStatistics,
Dimensions). moto adds up every datapoint that has the dimensions asked among others (a function's
Invocations under FunctionName would count those under FunctionName+Resource again), and every
datapoint of the metric when none are asked."""

import functools

from labkit.dataplane.core.seams import Seam


def _exactly(get_metric_statistics):
    @functools.wraps(get_metric_statistics)
    def get(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit=None):
        found = get_metric_statistics(
            self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit
        )
        wanted = sorted((d["Name"], d.get("Value")) for d in dimensions or [])
        for period_statistics in found:
            period_statistics.metric_data = [
                datum
                for datum in period_statistics.metric_data
                if sorted((d.name, d.value) for d in datum.dimensions) == wanted
            ]
        return [period_statistics for period_statistics in found if period_statistics.metric_data]

    return get


SEAMS = (
    Seam(
        "moto.cloudwatch.models.CloudWatchBackend.get_metric_statistics",
        ("self", "namespace", "metric_name", "start_time", "end_time", "period", "stats", "dimensions", "unit"),
        replace=_exactly,
    ),
    # Each period's Statistics computes its statistics from its metric_data when asked.
    Seam("moto.cloudwatch.models.Statistics.calc_sum", contains="self.metric_single_values_list"),
)

"""A statistic of the datapoints of one period, as CloudWatch computes it: SampleCount, Sum, Average,
Minimum, Maximum over single values and statistic sets alike, and pNN percentiles over the samples
(single values, and the samples the data plane keeps with its own statistic sets)."""

import math
import re

from labkit.dataplane.cloudwatch.metrics import SAMPLES
from labkit.dataplane.core import state

PERCENTILE = re.compile(r"p(\d{1,2}(\.\d+)?|100)")


def of(datums: list, statistic: str) -> float | None:
    """The statistic over moto's datums (MetricDatum, MetricAggregatedDatum); None when there is no
    datapoint, or a percentile has no samples."""
    if not datums:
        return None
    if PERCENTILE.fullmatch(statistic or ""):
        return _percentile(datums, float(statistic[1:]))
    count = total = 0.0
    low, high = math.inf, -math.inf
    for datum in datums:
        if hasattr(datum, "value"):
            count, total = count + 1, total + datum.value
            low, high = min(low, datum.value), max(high, datum.value)
        else:
            count, total = count + datum.sample_count, total + datum.sum
            low, high = min(low, datum.min), max(high, datum.max)
    return {
        "SampleCount": count,
        "Sum": total,
        "Average": total / count if count else None,
        "Minimum": low,
        "Maximum": high,
    }.get(statistic)


def _percentile(datums: list, percent: float) -> float | None:
    samples = []
    for datum in datums:
        if hasattr(datum, "value"):
            samples.append(datum.value)
        else:
            samples.extend(state.get(datum, SAMPLES, ()))
    if not samples:
        return None
    samples.sort()
    # Nearest rank: the smallest sample with at least percent of the samples at or below it.
    return samples[max(0, math.ceil(percent / 100 * len(samples)) - 1)]

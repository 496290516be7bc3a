"""The alarm engine: every period of each metric alarm (one AWS minute in one local second:
core.clock), the statistic of each period of its evaluation range, from moto's metric data, and the
state that follows (evaluation.py), worded as AWS words it (reasons.py).

A datapoint belongs to an alarm's metric when namespace, name and every dimension match exactly (and
the unit, when the alarm names one). Alarms on metric math (Metrics=[...]) are evaluated as
metric_math.py says; composite alarms are not (moto cannot make them)."""

import math
import threading
import time
import traceback
from datetime import UTC, datetime

from labkit.dataplane.cloudwatch import evaluation, metric_math, metrics, reasons, statistics
from labkit.dataplane.core import clock
from labkit.dataplane.core import state as kept

TICK_S = 0.05
_started = threading.Event()
_EPOCH = datetime(1970, 1, 1)


def start() -> None:
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_loop, daemon=True, name="cloudwatch-alarms").start()


def _loop() -> None:
    while True:
        time.sleep(TICK_S)
        try:
            metrics.flush()
            for backend in _backends():
                for alarm in list(backend.alarms.values()):
                    if alarm.rule is None:
                        _evaluate_when_due(backend, alarm)
        except Exception:  # one bad evaluation must not end the others
            traceback.print_exc()


def _evaluate_when_due(backend, alarm) -> None:
    period_s = metric_math.period_of(alarm)
    length = clock.local_seconds(period_s)
    latest = math.floor(time.time() / length) - 1  # the most recent complete period
    if kept.get(alarm, "evaluated") == latest:
        return
    kept.put(alarm, "evaluated", latest)
    operator = reasons.COMPARISONS.get(alarm.comparison_operator)
    if operator is None:  # anomaly detection bands are not evaluated locally
        return
    n = int(alarm.evaluation_periods)
    m = int(alarm.datapoints_to_alarm or n)
    periods = range(latest - n - evaluation.EXTRA_DATAPOINTS + 1, latest + 1)
    if alarm.metric_data_queries:
        statistic, counts = None, {}
        datapoints = _math_datapoints(backend, alarm, length, periods)
        if datapoints is None:
            return
    else:
        statistic = alarm.extended_statistic or alarm.statistic
        metric = (alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.unit)
        datapoints, counts = _datapoints(backend, metric, statistic, length, periods)
        if _too_few_samples(alarm, list(counts.values())[-n:]):
            return
    threshold = float(alarm.threshold)
    verdict = evaluation.evaluate(
        datapoints, lambda value: operator[1](float(value), threshold), n, m, alarm.treat_missing_data or "missing"
    )
    if verdict is None or verdict.state == alarm.state_value:
        return
    alarm.update_state(
        reasons.reason(verdict, n, m, alarm.comparison_operator, threshold),
        reasons.reason_data(verdict, statistic, alarm.unit, period_s, threshold, datapoints[-n][0], counts),
        verdict.state,
    )


def _datapoints(backend, metric: tuple, statistic: str, length: float, periods: range) -> tuple[list, dict]:
    """(period start, statistic) for each period, oldest first, and each period's sample count."""
    by_period = _datums_by_period(backend, metric, length, periods.start)
    datapoints, counts = [], {}
    for period in periods:
        start = _moment(period * length)
        datums = by_period.get(period, [])
        datapoints.append((start, statistics.of(datums, statistic)))
        counts[start] = statistics.of(datums, "SampleCount") or 0.0
    return datapoints, counts


def _math_datapoints(backend, alarm, length: float, periods: range) -> list | None:
    """The returned expression's value in each period; None when it cannot be evaluated here."""
    returned = metric_math.returned(alarm.metric_data_queries)
    if returned is None:
        return None
    series = {}
    for query in alarm.metric_data_queries:
        if query.metric_stat is not None:
            stat = query.metric_stat
            metric = (stat.metric.namespace, stat.metric.metric_name, stat.metric.dimensions, stat.unit)
            series[query.id] = _datapoints(backend, metric, stat.stat, length, periods)[0]
    datapoints = []
    for index, period in enumerate(periods):
        try:
            value = metric_math.value(returned.expression, {id: found[index][1] for id, found in series.items()})
        except metric_math.Unsupported:
            return None
        datapoints.append((_moment(period * length), value))
    return datapoints


class _Index:
    """moto's datums by namespace and metric name, indexed as they are appended (moto only appends to
    a backend's metric_data), so that an evaluation reads its metric's datums only."""

    def __init__(self):
        self.seen = 0
        self.by_metric: dict[tuple[str, str], list] = {}

    def datums(self, backend, namespace: str, name: str) -> list:
        added = backend.metric_data[self.seen :]
        self.seen += len(added)
        for datum in added:
            self.by_metric.setdefault((datum.namespace, datum.name), []).append(datum)
        return self.by_metric.get((namespace, name), [])


def _datums_by_period(backend, metric: tuple, length: float, first_period: int) -> dict[int, list]:
    namespace, name, dimensions, unit = metric
    wanted = sorted((d.name, d.value) for d in dimensions)
    found: dict[int, list] = {}
    for datum in kept.setdefault(backend, "metric index", _Index).datums(backend, namespace, name):
        if unit and datum.unit != unit:
            continue
        period = math.floor(_seconds(datum.timestamp) / length)
        if period < first_period or sorted((d.name, d.value) for d in datum.dimensions) != wanted:
            continue
        found.setdefault(period, []).append(datum)
    return found


def _too_few_samples(alarm, counts: list[float]) -> bool:
    """EvaluateLowSampleCountPercentile=ignore: a percentile alarm keeps its state while a period has
    fewer than 10/(1-p) samples (10/p below p50): "Percentile-based alarms and low data samples"."""
    if alarm.evaluate_low_sample_count_percentile != "ignore" or not alarm.extended_statistic:
        return False
    if not statistics.PERCENTILE.fullmatch(alarm.extended_statistic):
        return False
    fraction = float(alarm.extended_statistic[1:]) / 100
    needed = 10 / (1 - fraction) if fraction >= 0.5 and fraction < 1 else 10 / max(fraction, 1e-9)
    return any(0 < count < needed for count in counts)


def _seconds(moment: datetime) -> float:
    return (reasons.naive_utc(moment) - _EPOCH).total_seconds()


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _backends():
    from moto.cloudwatch.models import cloudwatch_backends

    for regions in list(cloudwatch_backends.values()):
        yield from list(regions.values())

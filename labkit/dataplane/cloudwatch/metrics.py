"""Metrics the data plane publishes for AWS services, aggregated in memory and put into moto's
CloudWatch backend (in this process) once per local second, AWS's one-minute resolution on the local
clock: a request costs a dict lookup and an append, not a PutMetricData.

Each flush puts one statistic set (SampleCount, Sum, Minimum, Maximum) per metric and second, the way
an AWS service publishes; for a metric whose percentiles are asked for (Duration, Latency, and every
custom metric: EMF's, metric filters') the samples go with it, so that pNN can be computed (moto keeps
statistic sets only). Counts (Invocations, RequestCount) keep none: under load that would be a float
for every request."""

import threading
import time
import traceback
from collections import defaultdict
from datetime import UTC, datetime

# (account, region, namespace, name, unit, dimensions as a tuple of pairs, local second)
_Key = tuple[str, str, str, str, str, tuple[tuple[str, str], ...], int]

_lock = threading.Lock()
_pending: dict[_Key, list[float]] = defaultdict(list)
_with_samples: set[str] = set()  # metric names whose samples are kept for percentiles
_samplers: list = []  # called each second: gauges (a queue's depth) record their value then
_flusher_started = threading.Event()

SAMPLES = "samples"  # where a flushed datum keeps its samples (core.state)


def keep_samples(*names: str) -> None:
    _with_samples.update(names)


def sample_every_second(sampler) -> None:
    _samplers.append(sampler)
    _start_flusher()


def record(account: str, region: str, namespace: str, samples, dimension_sets, at: float | None = None) -> None:
    """Samples, (metric name, value, unit), each under every dimension set given (tuples of (name,
    value)), at the epoch second `at` (now by default). One call per event: it takes the lock once."""
    second = int(at if at is not None else time.time())
    if not _flusher_started.is_set():
        _start_flusher()
    with _lock:
        for name, value, unit in samples:
            for dimensions in dimension_sets:
                _pending[(account, region, namespace, name, unit, dimensions, second)].append(value)


def flush() -> None:
    """Put every pending sample into moto's CloudWatch backends."""
    with _lock:
        if not _pending:
            return
        pending = dict(_pending)
        _pending.clear()
    from moto.cloudwatch.models import MetricAggregatedDatum, cloudwatch_backends

    from labkit.dataplane.core import state

    for (account, region, namespace, name, unit, dimensions, second), values in pending.items():
        datum = MetricAggregatedDatum(
            namespace=namespace,
            name=name,
            min_stat=min(values),
            max_stat=max(values),
            sample_count=float(len(values)),
            sum_stat=float(sum(values)),
            dimensions=[{"Name": k, "Value": v} for k, v in dimensions],
            timestamp=datetime.fromtimestamp(second, UTC).replace(tzinfo=None),
            unit=unit,
        )
        if name in _with_samples or not namespace.startswith("AWS/"):
            state.put(datum, SAMPLES, values)
        cloudwatch_backends[account][region].metric_data.append(datum)


def _start_flusher() -> None:
    with _lock:
        if _flusher_started.is_set():
            return
        _flusher_started.set()
    threading.Thread(target=_flush_every_second, daemon=True, name="cloudwatch-metrics").start()


def _flush_every_second() -> None:
    while True:
        time.sleep(1.0 - time.time() % 1.0)
        try:
            for sampler in _samplers:
                sampler()
            flush()
        except Exception:  # a metric that cannot be put must not stop the others
            traceback.print_exc()


def forget_pending() -> None:
    with _lock:
        _pending.clear()

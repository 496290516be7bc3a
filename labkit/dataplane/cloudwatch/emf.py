"""CloudWatch embedded metric format: a log line that is a JSON object with an `_aws` member becomes
metrics ("Specification: Embedded metric format", CloudWatch User Guide):

  {"_aws": {"Timestamp": 1574109732004, "CloudWatchMetrics": [{"Namespace": "lambda-function-metrics",
   "Dimensions": [["functionVersion"]], "Metrics": [{"Name": "time", "Unit": "Milliseconds"}]}]},
   "functionVersion": "$LATEST", "time": 100}

Each directive's metrics, counted at the document's Timestamp, take their values (a number, or an array
of up to 100 numbers) from the members the metric names, under each dimension set, whose values are the
(string) members the dimensions name. A line that does not follow the specification is only a log line,
as on AWS (where the log group keeps it and no metric is made); a Lambda function's output is
extracted, as on AWS."""

import json
import math

from labkit.dataplane.cloudwatch import metrics

MAX_VALUES = 100
MAX_DIMENSIONS = 30


def extract(account: str, region: str, lines) -> None:
    """Record the metrics of every EMF line among the log lines (strings)."""
    for line in lines:
        if line.startswith("{") and '"_aws"' in line:
            _extract_one(account, region, line)


def _extract_one(account: str, region: str, line: str) -> None:
    try:
        document = json.loads(line)
        directives = document["_aws"]["CloudWatchMetrics"]
        stamp = document["_aws"]["Timestamp"]  # epoch milliseconds: when the metrics are counted
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            return
        found = [_metrics_of(document, directive) for directive in directives]
    except (ValueError, KeyError, TypeError):
        return
    for namespace, dimension_sets, named in found:
        samples = [(name, value, unit) for name, unit, values in named for value in values]
        metrics.record(account, region, namespace, samples, dimension_sets, at=stamp / 1000)


def _metrics_of(document: dict, directive: dict) -> tuple:
    namespace = directive["Namespace"]
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
        raise ValueError("Namespace")
    dimension_sets = []
    for names in directive["Dimensions"]:
        if len(names) > MAX_DIMENSIONS or not all(isinstance(document[n], str) for n in names):
            raise ValueError("Dimensions")
        dimension_sets.append(tuple(sorted((n, document[n]) for n in names)))
    named = []
    for metric in directive["Metrics"]:
        raw = document[metric["Name"]]
        values = raw if isinstance(raw, list) else [raw]
        if len(values) > MAX_VALUES or not all(_is_number(v) for v in values):
            raise ValueError("values")
        named.append((metric["Name"], metric.get("Unit", "None"), [float(v) for v in values]))
    return namespace, dimension_sets, named


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

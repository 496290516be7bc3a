"""A MetricWidget, as GetMetricWidgetImage takes it ("GetMetricWidgetImage: Metric Widget Structure and
Syntax", CloudWatch API Reference), read into what is drawn: each metric's datapoints, read as GetMetricData
reads them (reading.series), each metric math expression's (metric_math.py, the arithmetic alarms are made
of), and the annotations, axes, legend and time range.

- metrics: rows [namespace, metricName, dimName, dimValue, ..., {options}], where "." repeats the row
  above's value at that place; options stat and period (else the widget's, else Average and 300), label,
  color, yAxis, id, visible; a row {"expression", "id", "label"} is an expression of the rows' ids;
- start and end: ISO 8601 durations before now (-PT3H, the default start; -PT0H, the default end) or
  absolute times; width and height in pixels (600 x 400 by default, 1 to 2000);
- annotations: horizontal values or bands (two values), vertical times or bands, and alarms (their
  thresholds; with no metrics, an alarm's own metric).
Like GetMetricData here, periods and times are real seconds: a period of 60 is a real minute."""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from labkit.dataplane.cloudwatch import metric_math, reading

VIEWS = ("timeSeries", "singleValue", "bar", "pie", "gauge")
_DURATION = re.compile(r"-P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_TIMEZONE = re.compile(r"([+-])(\d\d)(\d\d)")


class Invalid(Exception):
    """A MetricWidget CloudWatch refuses (InvalidParameterInput), with what is wrong in it."""


@dataclass
class Line:
    label: str
    times: list[datetime]
    values: list[float]
    color: str | None = None
    y_axis: str = "left"


@dataclass
class Annotation:
    value: float | datetime
    until: float | datetime | None = None  # a band's other end
    label: str = ""
    color: str | None = None
    fill: str | None = None
    y_axis: str = "left"


@dataclass
class Widget:
    width: int
    height: int
    start: datetime
    end: datetime
    view: str = "timeSeries"
    stacked: bool = False
    title: str = ""
    legend: str = "bottom"
    timezone: timezone = UTC
    lines: list[Line] = field(default_factory=list)
    horizontal: list[Annotation] = field(default_factory=list)
    vertical: list[Annotation] = field(default_factory=list)
    y_axes: dict = field(default_factory=dict)  # "left"/"right": {"min", "max", "label"}


def read(text: str, backend, now: datetime) -> Widget:
    """The widget the JSON text describes, its metrics read from moto's CloudWatch backend."""
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise Invalid("The field MetricWidget must be a valid JSON object")
    widget = Widget(
        width=_pixels(found, "width", 600),
        height=_pixels(found, "height", 400),
        start=_moment(found.get("start", "-PT3H"), "start", now),
        end=_moment(found.get("end", "-PT0H"), "end", now),
        view=_one_of(found, "view", VIEWS, "timeSeries"),
        stacked=found.get("stacked") is True,
        title=str(found.get("title", "")),
        legend=_one_of(found.get("legend") or {}, "position", ("bottom", "right", "hidden"), "bottom"),
        timezone=_timezone(found.get("timezone")),
        y_axes={side: _y_axis(found.get("yAxis") or {}, side) for side in ("left", "right")},
    )
    if widget.start >= widget.end:
        raise Invalid("The start of the MetricWidget's time range must be before its end")
    annotations = found.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise Invalid("The MetricWidget's annotations must be an object")
    alarms = [alarm for arn in annotations.get("alarms") or [] if (alarm := _alarm(backend, arn)) is not None]
    rows = found.get("metrics")
    if rows is None and alarms:
        rows = [_alarm_row(alarm) for alarm in alarms if alarm.metric_name]
    defaults = {"stat": found.get("stat", "Average"), "period": found.get("period", 300)}
    widget.lines = _lines(_rows(rows), defaults, backend, widget.start, widget.end)
    widget.horizontal = [_annotation(a, float) for a in annotations.get("horizontal") or []]
    widget.horizontal += [Annotation(float(alarm.threshold), label=alarm.name) for alarm in alarms]
    widget.vertical = [
        _annotation(a, lambda v: _moment(v, "annotation", now)) for a in annotations.get("vertical") or []
    ]
    return widget


def _pixels(found: dict, name: str, default: int) -> int:
    value = found.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2000:
        raise Invalid(f"The MetricWidget's {name} must be an integer from 1 to 2000 (pixels), not {value!r}")
    return value


def _one_of(found: dict, name: str, allowed: tuple, default: str) -> str:
    value = found.get(name, default)
    if value not in allowed:
        raise Invalid(f"The MetricWidget's {name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _moment(value, name: str, now: datetime) -> datetime:
    """An ISO 8601 duration before now (-PT3H, -P1D) or an absolute time (2018-04-25T12:00:00.000Z)."""
    if isinstance(value, str) and (match := _DURATION.fullmatch(value)) and any(match.groups()):
        years, months, weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        return now - timedelta(
            days=365 * years + 30 * months + 7 * weeks + days, hours=hours, minutes=minutes, seconds=seconds
        )
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"The MetricWidget's {name} must be a time or a duration before now, not {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _timezone(value) -> timezone:
    """ "+0130", "-0800"; UTC when not given (and for "LOCAL": the local cloud's browser is none)."""
    if value in (None, "LOCAL"):
        return UTC
    match = _TIMEZONE.fullmatch(str(value))
    if not match:
        raise Invalid(f"The MetricWidget's timezone must be like +0130 or -0800, not {value!r}")
    offset = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return timezone(offset if match[1] == "+" else -offset)


def _y_axis(axes: dict, side: str) -> dict:
    found = axes.get(side) or {}
    return {key: found[key] for key in ("min", "max", "label") if key in found}


def _rows(rows) -> list[tuple[list[str], dict]]:
    """Each row's strings ("." filled in from the row above) and options."""
    if not isinstance(rows, list) or not rows or not all(isinstance(row, list) for row in rows):
        raise Invalid("The MetricWidget's metrics must be an array of 1 to 100 arrays")
    if len(rows) > 100:
        raise Invalid(f"The MetricWidget's metrics may hold 100 metrics and expressions, not {len(rows)}")
    found, previous = [], []
    for row in rows:
        has_options = bool(row) and isinstance(row[-1], dict)
        options, names = (row[-1], row[:-1]) if has_options else ({}, row)
        if not all(isinstance(name, str) for name in names):
            raise Invalid(f"A metric of the MetricWidget must be strings and then its options: {row!r}")
        names = [previous[i] if name == "." and i < len(previous) else name for i, name in enumerate(names)]
        if not names and "expression" not in options:
            raise Invalid(f"A metric of the MetricWidget names no metric and no expression: {row!r}")
        if names and (len(names) < 2 or len(names) % 2):
            raise Invalid(f"A metric of the MetricWidget must be namespace, name and name-value pairs: {row!r}")
        found.append((names, options))
        previous = names or previous
    return found


def _lines(rows: list, defaults: dict, backend, start: datetime, end: datetime) -> list[Line]:
    lines, by_id = [], {}
    for index, (names, options) in enumerate(rows):
        if not names:
            continue
        metric_stat = {
            "Metric": {
                "Namespace": names[0],
                "MetricName": names[1],
                "Dimensions": [{"Name": n, "Value": v} for n, v in zip(names[2::2], names[3::2], strict=True)],
            },
            "Period": _period(options.get("period", defaults["period"])),
            "Stat": options.get("stat", defaults["stat"]),
        }
        # series() reads whole seconds: the datapoints of end's second are drawn too.
        values, times = reading.series(backend, metric_stat, start, end + timedelta(seconds=1), "TimestampAscending")
        by_id[options.get("id", f"m{index + 1}")] = dict(zip(times, values, strict=True))
        if options.get("visible", True):
            lines.append(_line(options, names[1], times, values))
    for names, options in rows:
        if not names and options.get("visible", True):
            if (line := _expression(options, by_id)) is not None:
                lines.append(line)
    return lines


def _period(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise Invalid(f"A period of the MetricWidget must be a whole number of seconds, not {value!r}")
    return value


def _expression(options: dict, by_id: dict) -> Line | None:
    """The expression's value at each time one of the ids it uses has a datapoint; None for an expression
    metric_math.py does not evaluate (it is not drawn)."""
    times = sorted({moment for points in by_id.values() for moment in points})
    drawn = []
    for moment in times:
        try:
            value = metric_math.value(options["expression"], {i: p.get(moment) for i, p in by_id.items()})
        except metric_math.Unsupported:
            return None
        if value is not None:
            drawn.append((moment, value))
    label = options.get("label", options.get("id", options["expression"]))
    return _line(options, label, [t for t, _ in drawn], [v for _, v in drawn])


def _line(options: dict, label: str, times: list, values: list) -> Line:
    return Line(
        label=str(options.get("label", label)),
        times=[moment.replace(tzinfo=UTC) for moment in times],
        values=values,
        color=options.get("color"),
        y_axis=options.get("yAxis", "left"),
    )


def _annotation(found, value_of) -> Annotation:
    """One annotation, or a band: [one end, the other]."""
    ends = found if isinstance(found, list) else [found]
    if not ends or not all(isinstance(end, dict) and "value" in end for end in ends) or len(ends) > 2:
        raise Invalid(f"An annotation of the MetricWidget must be an object with a value, or two: {found!r}")
    first = ends[0]
    try:
        values = [value_of(end["value"]) for end in ends]
    except (TypeError, ValueError):
        raise Invalid(f"An annotation of the MetricWidget has a value of the wrong type: {found!r}") from None
    return Annotation(
        value=values[0],
        until=values[1] if len(values) == 2 else None,
        label=str(first.get("label", "")),
        color=first.get("color"),
        fill=first.get("fill"),
        y_axis=first.get("yAxis", "left"),
    )


def _alarm(backend, arn: str):
    """The alarm of that ARN; None for none (nothing is drawn for it)."""
    alarm = backend.alarms.get(str(arn).rsplit(":", 1)[-1])
    return alarm if alarm is not None and alarm.alarm_arn == arn else None


def _alarm_row(alarm) -> list:
    dimensions = [part for d in alarm.dimensions for part in (d.name, d.value)]
    options = {"stat": alarm.extended_statistic or alarm.statistic, "period": int(alarm.period), "label": alarm.name}
    return [alarm.namespace, alarm.metric_name, *dimensions, options]

"""A log group's metric filters turn the events put into it into metrics, as CloudWatch Logs does
("Filter pattern syntax for metric filters", CloudWatch Logs User Guide), for the two kinds of pattern
the labs write:

- terms: every term of the pattern must appear in the event ("ERROR", "\"Task timed out\""), a term
  -x must not, and ?x ?y groups match if any group does; an empty pattern matches every event;
- JSON: { $.level = "ERROR" && $.latency > 100 }, with = != < > <= >=, && || and parentheses, strings
  with * wildcards, numbers, true, false, null, and IS NULL / EXISTS / NOT EXISTS;

each matching event adding its metricValue (a number, or $.field of a JSON event) to the metric, under
the dimensions its fields give, with the transformation's unit; and an event that does not match adding
defaultValue, when there is one. Space-delimited patterns ([ip, user, ...]) are accepted and make no
metric here. Events are counted at their own timestamp."""

import fnmatch
import functools
import json
import re
import traceback

from labkit.dataplane.cloudwatch import metrics
from labkit.dataplane.core.seams import Seam

_JSON_TOKEN = re.compile(
    r"\s*(\|\||&&|[()]|!=|>=|<=|[=<>]|IS\s+NULL\b|NOT\s+EXISTS\b|EXISTS\b|\$[\w.\[\]]*|\"(?:[^\"\\]|\\.)*\"|[^\s()=!<>&|]+)"
)
_MISSING = object()


def matches(pattern: str, message: str) -> bool | None:
    """Whether the event matches; None for a pattern not evaluated here (space-delimited)."""
    pattern = pattern.strip()
    if not pattern:
        return True
    if pattern.startswith("["):
        return None
    if pattern.startswith("{"):
        try:
            return _JsonPattern(pattern[1:-1]).matches(json.loads(message))
        except ValueError:  # not a JSON event, or a pattern not understood: no match
            return False
    return _terms_match(pattern, message)


def _terms_match(pattern: str, message: str) -> bool:
    terms = [t.replace('\\"', '"') for t in re.findall(r'[?-]?"(?:[^"\\]|\\.)*"|\S+', pattern)]
    groups: list[list[str]] = [[]]
    for term in terms:
        if term.startswith("?") and groups[-1]:
            groups.append([])
        groups[-1].append(term.lstrip("?"))
    return any(_group_matches(group, message) for group in groups)


def _group_matches(group: list[str], message: str) -> bool:
    for term in group:
        excluded = term.startswith("-")
        text = term[1:] if excluded else term
        if text.startswith('"') and text.endswith('"') and len(text) > 1:
            text = text[1:-1]
        if (text in message) == excluded:
            return False
    return True


class _JsonPattern:
    """A recursive descent over the tokens of a JSON pattern's expression."""

    def __init__(self, expression: str):
        self.tokens = _JSON_TOKEN.findall(expression)
        self.at = 0

    def matches(self, event) -> bool:
        found = self._or(event)
        if self.at != len(self.tokens):
            raise ValueError("unexpected text in the pattern")
        return found

    def _next(self) -> str:
        if self.at >= len(self.tokens):
            raise ValueError("the pattern ends early")
        self.at += 1
        return self.tokens[self.at - 1]

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _or(self, event) -> bool:
        found = self._and(event)
        while self._peek() == "||":
            self._next()
            found = self._and(event) or found
        return found

    def _and(self, event) -> bool:
        found = self._one(event)
        while self._peek() == "&&":
            self._next()
            found = self._one(event) and found
        return found

    def _one(self, event) -> bool:
        token = self._next()
        if token == "(":
            found = self._or(event)
            if self._next() != ")":
                raise ValueError("unbalanced parentheses")
            return found
        value = field(event, token)
        operator = self._next()
        if operator.startswith("IS"):
            return value is None
        if operator.startswith("NOT"):
            return value is _MISSING
        if operator == "EXISTS":
            return value is not _MISSING
        return _compare(value, operator, self._next())


def field(event, path: str):
    """The value at $.a.b[0] in a JSON event; _MISSING when there is none."""
    value = event
    for key in re.findall(r"[^.\[\]$]+", path):
        if isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return _MISSING
    return value


def _compare(value, operator: str, literal: str) -> bool:
    if value is _MISSING:
        return False
    if literal.startswith('"'):
        literal = json.loads(literal)
    elif literal in ("true", "false", "null"):
        return (operator == "=") == (value == json.loads(literal))
    else:
        try:
            number = float(literal)
        except ValueError:
            number = None
        if number is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return operator == "!="
            return {
                "=": value == number,
                "!=": value != number,
                "<": value < number,
                ">": value > number,
                "<=": value <= number,
                ">=": value >= number,
            }[operator]
    if operator not in ("=", "!=") or not isinstance(value, str):
        return operator == "!="
    return fnmatch.fnmatchcase(value, literal) == (operator == "=")


def _measured(logs_backend, group: str, events: list[dict]) -> None:
    filters = logs_backend.filters.get_matching_filters(log_group_name=group)
    for metric_filter in filters:
        for event in events:
            matched = matches(metric_filter["filterPattern"] or "", event["message"])
            if matched is None:
                continue
            for transformation in metric_filter["metricTransformations"]:
                _add(logs_backend, transformation, event, matched)


def _add(logs_backend, transformation: dict, event: dict, matched: bool) -> None:
    if not matched:
        if transformation.get("defaultValue") is None:
            return
        value, document = float(transformation["defaultValue"]), None
    else:
        document = _json_or_none(event["message"])
        value = _value(transformation["metricValue"], document)
        if value is None:
            return
    dimensions = tuple(
        sorted(
            (name, str(field(document, path)))
            for name, path in (transformation.get("dimensions") or {}).items()
            if document is not None and field(document, path) not in (_MISSING, None)
        )
    )
    metrics.record(
        logs_backend.account_id,
        logs_backend.region_name,
        transformation["metricNamespace"],
        [(transformation["metricName"], value, transformation.get("unit") or "None")],
        [dimensions],
        at=event["timestamp"] / 1000,
    )


def _value(metric_value: str, document) -> float | None:
    if metric_value.startswith("$"):
        found = field(document, metric_value) if document is not None else _MISSING
        is_number = isinstance(found, (int, float)) and not isinstance(found, bool)
        return float(found) if is_number else None
    try:
        return float(metric_value)
    except ValueError:
        return None


def _json_or_none(message: str):
    try:
        return json.loads(message) if message.lstrip().startswith("{") else None
    except ValueError:
        return None


def _measuring(put_log_events):
    @functools.wraps(put_log_events)
    def put(self, log_group_name, log_stream_name, log_events):
        answer = put_log_events(self, log_group_name, log_stream_name, log_events)
        try:
            _measured(self, log_group_name, log_events)
        except Exception:  # a filter that cannot be applied must not fail the put: the events are in
            traceback.print_exc()
        return answer

    return put


SEAMS = (
    Seam(
        "moto.logs.models.LogsBackend.put_log_events",
        ("self", "log_group_name", "log_stream_name", "log_events"),
        replace=_measuring,
    ),
    Seam("moto.logs.metric_filters.MetricFilters.get_matching_filters", contains='f["logGroupName"] == log_group_name'),
)

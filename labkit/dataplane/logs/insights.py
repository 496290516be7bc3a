"""Runs a Logs Insights query over log groups' events: the commands in order, each over what the one
before it left, then the rows as GetQueryResults gives them (field/value pairs, values as text)."""

import datetime
import math

from labkit.dataplane.logs import commands
from labkit.dataplane.logs.expressions import evaluate, format_value, number
from labkit.dataplane.logs.records import record

MAX_ROWS = 10_000
TIME_FIELDS = {"@timestamp", "@ingestionTime"}


def run(log_groups, query: str, start_time: int, end_time: int, account_id: str) -> list[dict[str, str]]:
    steps = commands.parse(query)  # a malformed query is refused before anything runs, as StartQuery does
    rows = [
        record(event, stream.log_stream_name, group.name, account_id)
        for group in log_groups
        for stream in group.streams.values()
        for event in stream.events
        if start_time * 1000 <= event.timestamp <= end_time * 1000
    ]
    rows.sort(key=lambda row: row["@timestamp"], reverse=True)  # newest first, unless sorted otherwise
    shown: list[str] | None = None
    time_fields = set(TIME_FIELDS)
    aggregated = False
    for step in steps:
        if isinstance(step, commands.Fields):
            for row in rows:
                row.update({name: evaluate(expression, row) for expression, name in step.columns})
            shown = (shown or []) + [name for _, name in step.columns if name not in (shown or [])]
        elif isinstance(step, commands.Display):
            shown = list(step.names)
        elif isinstance(step, commands.Filter):
            rows = [row for row in rows if evaluate(step.condition, row)]
        elif isinstance(step, commands.Parse):
            for row in rows:
                _parse(step, row)
        elif isinstance(step, commands.Stats):
            rows = _stats(step, rows, time_fields)
            shown, aggregated = [name for _, name in step.groups] + [a[2] for a in step.aggregations], True
        elif isinstance(step, commands.Sort):
            for expression, descending in reversed(step.keys):
                rows.sort(key=lambda row, e=expression: _natural(evaluate(e, row)), reverse=descending)
        elif isinstance(step, commands.Limit):
            rows = rows[: step.count]
        elif isinstance(step, commands.Dedup):
            rows = _dedup(step, rows)
    return [_result(row, shown, aggregated, time_fields) for row in rows[:MAX_ROWS]]


def _parse(step: commands.Parse, row: dict) -> None:
    value = evaluate(step.source, row)
    match = step.pattern.search(value) if isinstance(value, str) else None
    if match:
        row.update(zip(step.names, match.groups(), strict=False) if not step.pattern.groupindex else match.groupdict())


def _stats(step: commands.Stats, rows: list[dict], time_fields: set) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = tuple(_group_value(expression, row) for expression, _ in step.groups)
        groups.setdefault(key, []).append(row)
    for expression, name in step.groups:
        if expression[0] == "call" and expression[1] == "bin":
            time_fields.add(name)
    if not step.groups and not groups:
        groups[()] = []
    out = []
    for key, members in groups.items():
        result = {name: value for (_, name), value in zip(step.groups, key, strict=True)}
        for function, arguments, name in step.aggregations:
            result[name] = _aggregate(function, arguments, members)
        out.append(result)
    return out


def _group_value(expression, row: dict):
    if expression[0] == "call" and expression[1] == "bin":
        period = evaluate(expression[2][0], row)
        return math.floor(row["@timestamp"] / period) * period
    return evaluate(expression, row)


def _aggregate(function: str, arguments: tuple, rows: list[dict]):
    counts_all = not arguments or arguments[0] == ("literal", "*")
    values = [] if counts_all else [evaluate(arguments[0], row) for row in rows]
    present = [value for value in values if value is not None]
    if function == "count":
        return len(rows) if counts_all else len(present)
    if function == "count_distinct":
        return len({format_value(value) for value in present})
    numbers = sorted(n for n in map(number, present) if n is not None)
    if not numbers:
        return None
    if function == "sum":
        return sum(numbers)
    if function == "avg":
        return sum(numbers) / len(numbers)
    if function == "min":
        return numbers[0]
    if function == "max":
        return numbers[-1]
    # pct(field, percentile): the value below which that percentage of the values fall (nearest rank).
    rank = max(1, math.ceil(number(evaluate(arguments[1], {})) / 100 * len(numbers)))
    return numbers[rank - 1]


def _dedup(step: commands.Dedup, rows: list[dict]) -> list[dict]:
    seen, kept = set(), []
    for row in rows:
        key = tuple(format_value(row.get(name)) for name in step.names)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _natural(value):
    """Insights sorts non-numeric values before numbers, numbers by value (User Guide, "sort")."""
    found = number(value)
    if found is not None:
        return (1, found, "")
    return (0, 0, "" if value is None else format_value(value))


def _result(row: dict, shown: list[str] | None, aggregated: bool, time_fields: set) -> dict[str, str]:
    names = shown if shown is not None else [name for name in row if name != "@ptr"]
    result = {name: _text(name, row[name], time_fields) for name in names if row.get(name) is not None}
    if not aggregated:
        result["@ptr"] = str(row["@ptr"])
    return result


def _text(name: str, value, time_fields: set) -> str:
    if name in time_fields and isinstance(value, int | float):
        moment = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return format_value(value)

"""Alarms on metric math (PutMetricAlarm with Metrics=[...]): each MetricStat query's statistic in a
period, and the one expression that returns data computed from them, for the arithmetic alarms are
made of ("Alarms on metric math expressions", CloudWatch User Guide): + - * /, parentheses, numbers,
the queries' ids, and FILL(id, value) for a period an id has no datapoint in; otherwise, as in metric
math, a period where an id the expression uses has no datapoint has none either (nor has a division by
zero). An expression with any other function is not evaluated: the alarm stays INSUFFICIENT_DATA."""

import ast
import operator

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class Unsupported(Exception):
    pass


def period_of(alarm) -> int:
    """The alarm's Period, or for metric math its queries' (each MetricStat has the same)."""
    stats = [q.metric_stat for q in alarm.metric_data_queries if q.metric_stat is not None]
    return int(alarm.period or (stats[0].period if stats else 60) or 60)


def returns_data(query) -> bool:
    """ReturnData, true when not given."""
    return query.return_data in (None, True, "true", "True")


def returned(queries: list):
    """The query whose value the alarm watches (ReturnData true; one only, as AWS requires)."""
    found = [q for q in queries if returns_data(q) and q.expression]
    return found[0] if len(found) == 1 else None


def value(expression: str, values: dict[str, float | None]) -> float | None:
    """The expression's value in one period, given each query id's statistic there (None: missing)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as error:
        raise Unsupported(expression) from error
    return _value(tree, values)


def _value(node, values: dict) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise Unsupported(node.id)
        return values[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand, values)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _value(node.left, values), _value(node.right, values)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "FILL" and len(node.args) == 2:
        filled = _value(node.args[0], values)
        return filled if filled is not None else _value(node.args[1], values)
    raise Unsupported(ast.dump(node))

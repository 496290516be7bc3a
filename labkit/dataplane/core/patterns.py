"""Event patterns as AWS matches them (EventBridge's syntax, which Lambda event filtering shares): a
pattern is a JSON object whose leaves are lists of what a value may be. An event matches when every
field of the pattern matches: an object field the object of the event, a list field one of its
entries (exact values, or {"prefix"}, {"suffix"}, {"anything-but"}, {"numeric"}, {"exists"},
{"equals-ignore-case"}). An array in the event matches if any of its elements does."""

_MISSING = object()
_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


def matches(pattern: dict, event) -> bool:
    if not isinstance(event, dict):
        return False
    for field, wanted in pattern.items():
        value = event.get(field, _MISSING)
        if isinstance(wanted, dict):
            if not matches(wanted, value):
                return False
        elif not any(_matches_one(rule, value) for rule in wanted):
            return False
    return True


def _matches_one(rule, value) -> bool:
    if isinstance(rule, dict) and "exists" in rule:
        return (value is not _MISSING) == bool(rule["exists"])
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return any(_matches_one(rule, element) for element in value)
    if not isinstance(rule, dict):
        if _number(rule) and _number(value):
            return rule == value
        return type(rule) is type(value) and rule == value
    kind, operand = next(iter(rule.items()))
    if kind == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if kind == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(operand).lower()
    if kind == "anything-but":
        if isinstance(operand, dict):
            return not _matches_one(operand, value)
        excluded = operand if isinstance(operand, list) else [operand]
        return not any(_matches_one(item, value) for item in excluded)
    if kind == "numeric":
        return _number(value) and all(
            _COMPARE[op](value, bound) for op, bound in zip(operand[::2], operand[1::2], strict=True)
        )
    return False


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

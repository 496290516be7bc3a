"""Evaluating policies as IAM does, for one request: an explicit Deny wins, then an Allow, else the
request is implicitly denied (IAM User Guide, "Policy evaluation logic", for a principal in the same
account without permissions boundaries, session policies or SCPs). The same engine reads identity
policies (a role's) and resource policies (a function's, a queue's, a key's), whose statements name a
Principal.

What a statement may say: Effect; Principal ("*", {"Service": ...}, {"AWS": ...}); Action or
NotAction; Resource or NotResource, with * and ? wildcards (actions match without regard to case);
Condition with the String, Arn, Bool, Null and Numeric operators (keys without regard to case), their
IfExists forms and the ForAnyValue:/ForAllValues: prefixes, and ${aws:...} policy variables. A
statement with an operator this module does not know does not apply, so an unknown condition never
grants access.
"""

import fnmatch
import json
import re
from dataclasses import dataclass

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicit deny", "implicit deny"
_VARIABLE = re.compile(r"\$\{([\w:/-]+)\}")


@dataclass(frozen=True)
class Request:
    action: str  # "dynamodb:PutItem"
    resource: str  # an ARN, or "*" for actions that take none
    context: dict  # condition keys: "aws:SourceArn", "kms:EncryptionContext:orderId", ...
    principal: dict | None = None  # for resource policies: {"Service": "sns.amazonaws.com"} or {"AWS": ARN}


def evaluate(documents: list[dict], request: Request) -> str:
    """ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY for the request under these policy documents."""
    allowed = False
    for statement in _statements(documents):
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return EXPLICIT_DENY
        allowed = allowed or statement.get("Effect") == "Allow"
    return ALLOWED if allowed else IMPLICIT_DENY


def parse(document) -> dict:
    """A policy document as IAM stores it: a dict, or JSON text (URL-encoded by IAM's API)."""
    if isinstance(document, dict):
        return document
    from urllib.parse import unquote

    text = document if document.lstrip().startswith("{") else unquote(document)
    return json.loads(text)


def _statements(documents: list[dict]):
    for document in documents:
        statements = document.get("Statement", [])
        yield from [statements] if isinstance(statements, dict) else statements


def _applies(statement: dict, request: Request) -> bool:
    if "Principal" in statement and not _principal_matches(statement["Principal"], request.principal or {}):
        return False
    if "Action" in statement:
        if not _any_action(statement["Action"], request.action):
            return False
    elif "NotAction" in statement:
        if _any_action(statement["NotAction"], request.action):
            return False
    else:
        return False
    if "Resource" in statement:
        if not _any_resource(statement["Resource"], request.resource, request.context):
            return False
    elif "NotResource" in statement:
        if _any_resource(statement["NotResource"], request.resource, request.context):
            return False
    return _conditions_hold(statement.get("Condition") or {}, request.context)


def _principal_matches(named, principal: dict) -> bool:
    if named == "*":
        return True
    if not isinstance(named, dict):
        return False
    for kind, who in principal.items():
        wanted = _as_list(named.get(kind, []))
        if "*" in wanted or who in wanted:
            return True
        account = who.split(":")[4] if who.startswith("arn:") else None
        if kind == "AWS" and account and (account in wanted or f"arn:aws:iam::{account}:root" in wanted):
            return True
    return False


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _any_action(patterns, action: str) -> bool:
    return any(_matches(pattern.lower(), action.lower()) for pattern in _as_list(patterns))


def _any_resource(patterns, resource: str, context: dict) -> bool:
    return any(_matches(_substituted(pattern, context), resource) for pattern in _as_list(patterns))


def _matches(pattern: str, value: str) -> bool:
    """* and ? as IAM reads them; [ and ] are literal in ARNs."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _substituted(text: str, context: dict) -> str:
    return _VARIABLE.sub(lambda found: str(context.get(found.group(1), found.group(0))), text)


def _conditions_hold(conditions: dict, context: dict) -> bool:
    context = {key.lower(): value for key, value in context.items()}  # condition keys ignore case
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            if not _condition_holds(operator, key, _as_list(wanted), context):
                return False
    return True


def _condition_holds(operator: str, key: str, wanted: list, context: dict) -> bool:
    quantifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    key = key.lower()
    present = key in context
    if operator == "Null":
        return (not present) == (str(wanted[0]).lower() == "true")
    if not present:
        return if_exists or operator.startswith(("StringNot", "ArnNot"))
    values = _as_list(context[key])
    compare = _COMPARISONS.get(operator)
    if compare is None:
        return False
    wanted = [_substituted(str(w), context) for w in wanted]
    negated = "Not" in operator
    if quantifier == "ForAllValues":
        return all(compare(v, wanted) for v in values)
    if quantifier == "ForAnyValue" or not negated:
        return any(compare(v, wanted) for v in values)
    return all(compare(v, wanted) for v in values)


def _numbers(value, wanted):
    try:
        return float(value), [float(w) for w in wanted]
    except ValueError:
        return None, []


def _numeric(test):
    def compare(value, wanted):
        number, limits = _numbers(value, wanted)
        return number is not None and any(test(number, limit) for limit in limits)

    return compare


_COMPARISONS = {
    "StringEquals": lambda v, w: str(v) in w,
    "StringNotEquals": lambda v, w: str(v) not in w,
    "StringEqualsIgnoreCase": lambda v, w: str(v).lower() in [x.lower() for x in w],
    "StringNotEqualsIgnoreCase": lambda v, w: str(v).lower() not in [x.lower() for x in w],
    "StringLike": lambda v, w: any(_matches(x, str(v)) for x in w),
    "StringNotLike": lambda v, w: not any(_matches(x, str(v)) for x in w),
    "ArnEquals": lambda v, w: str(v) in w,
    "ArnNotEquals": lambda v, w: str(v) not in w,
    "ArnLike": lambda v, w: any(_matches(x, str(v)) for x in w),
    "ArnNotLike": lambda v, w: not any(_matches(x, str(v)) for x in w),
    "Bool": lambda v, w: str(v).lower() in [x.lower() for x in w],
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericNotEquals": _numeric(lambda a, b: a != b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
}

"""The IAM policy a Lambda authorizer returns, evaluated against the method ARN being called:
an explicit Deny wins, then an Allow; without either the caller is not allowed."""

import re

ALLOW, DENY, NO_MATCH = "Allow", "Deny", "none"


def method_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    """arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH, as authorizers receive it."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def evaluate(policy: dict, arn: str) -> str:
    """ALLOW, DENY, or NO_MATCH. Raises ValueError when the policy is not a policy document."""
    if not isinstance(policy, dict):
        raise ValueError("policyDocument is not an object")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise ValueError("policyDocument has no Statement list")
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            raise ValueError("a Statement is not an object")
        if not (
            _matches_any(statement.get("Action"), "execute-api:Invoke", case_sensitive=False)
            and _matches_any(statement.get("Resource"), arn, case_sensitive=True)
        ):
            continue
        if statement.get("Effect") == DENY:
            return DENY
        allowed = allowed or statement.get("Effect") == ALLOW
    return ALLOW if allowed else NO_MATCH


def _matches_any(patterns, value: str, case_sensitive: bool) -> bool:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list):
        return False
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        # IAM wildcards: * any run of characters (across "/" too), ? one character.
        regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
        flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
        if re.fullmatch(regex, value, flags=flags):
            return True
    return False

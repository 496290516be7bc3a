"""The IAM policy a Lambda authorizer returns, evaluated against the method ARN being called:
an explicit Deny wins, then an Allow; without either the caller is not allowed."""

from labkit.dataplane.core import policies as core_policies

ALLOW, DENY, NO_MATCH = "Allow", "Deny", "none"


def method_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    """arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH, as authorizers receive it."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def evaluate(policy: dict, arn: str) -> str:
    """ALLOW, DENY, or NO_MATCH, by IAM's rules (labkit.dataplane.core.policies). Raises ValueError when
    the policy is not a policy document: API Gateway then answers 500."""
    if not isinstance(policy, dict):
        raise ValueError("policyDocument is not an object")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(statement, dict) for statement in statements):
        raise ValueError("policyDocument has no Statement list of objects")
    decision = core_policies.evaluate([{"Statement": statements}], core_policies.Request("execute-api:Invoke", arn, {}))
    return {core_policies.ALLOWED: ALLOW, core_policies.EXPLICIT_DENY: DENY}.get(decision, NO_MATCH)

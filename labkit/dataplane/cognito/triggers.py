"""A user pool's Lambda triggers (its LambdaConfig), run as Cognito runs them: synchronously, on behalf
of cognito-idp.amazonaws.com (the function's resource policy must allow the pool), with AWS's event
and AWS's errors. moto stores LambdaConfig and runs none of them. Here: PreSignUp (its answer can
confirm the user and verify the email), PostConfirmation, PreTokenGeneration (version 1: claims
added to, or suppressed from, the ID token), CustomMessage (codes.py) and UserMigration (migration.py)."""

import json

from labkit.dataplane.core import functions

COGNITO = "cognito-idp.amazonaws.com"


class TriggerFailed(Exception):
    """Raised as the error Cognito answers with (the error type and message of moto's JsonRESTError)."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type, self.message = error_type, message


def run(pool, trigger: str, source: str, user_name: str, client_id: str | None, request: dict) -> dict:
    """The function's `response`, or {} when the pool has no such trigger. Raises moto's error for
    what Cognito answers when the function cannot be invoked, fails, or answers nonsense."""
    from moto.core.exceptions import JsonRESTError

    try:
        return _run(pool, trigger, source, user_name, client_id, request)
    except TriggerFailed as failed:
        raise JsonRESTError(failed.error_type, failed.message) from None


def _run(pool, trigger, source, user_name, client_id, request) -> dict:
    arn = (pool.extended_config.get("LambdaConfig") or {}).get(trigger)
    if not arn:
        return {}
    event = {
        "version": "1",
        "region": pool.region,
        "userPoolId": pool.id,
        "userName": user_name,
        "callerContext": {
            "awsSdkVersion": "aws-sdk-unknown-unknown",
            "clientId": client_id or "CLIENT_ID_NOT_APPLICABLE",
        },
        "triggerSource": source,
        "request": request,
        "response": {},
    }
    try:
        result = functions.invoke(arn, event, on_behalf_of=functions.OnBehalfOf(COGNITO, (pool.arn,)))
    except functions.NotPermitted:
        raise TriggerFailed(
            "UnexpectedLambdaException", f"{trigger} invocation failed due to error AccessDeniedException."
        )
    except functions.FunctionUnavailable as unavailable:
        raise TriggerFailed(
            "UnexpectedLambdaException", f"{trigger} invocation failed due to error {unavailable.error_type}."
        )
    answer = _json(result.payload)
    if result.function_error:
        message = answer.get("errorMessage", "") if isinstance(answer, dict) else ""
        raise TriggerFailed("UserLambdaValidationException", f"{trigger} failed with error {message}.")
    if not isinstance(answer, dict) or not isinstance(answer.get("response", {}), dict):
        raise TriggerFailed("InvalidLambdaResponseException", f"Unrecognizable lambda output from {trigger}.")
    return answer.get("response") or {}


def user_attributes(user) -> dict:
    """The attributes a trigger gets: the user's, with its sub and status as Cognito adds them."""
    attributes = {a["Name"]: a["Value"] for a in user.attributes}
    attributes.setdefault("sub", user.id)
    attributes["cognito:user_status"] = str(getattr(user.status, "value", user.status))
    return attributes


def _json(payload: bytes):
    try:
        return json.loads(payload or b"null")
    except ValueError:
        return None


def with_pre_sign_up(sign_up):
    """Wraps CognitoIdpBackend.sign_up: PreSignUp first (a failure leaves no user), then its answer."""

    def sign_up_as_cognito_does(self, client_id, username, password, attributes):
        from moto.cognitoidp.models import UserStatus

        pool = next((p for p in list(self.user_pools.values()) if client_id in p.clients), None)
        if pool is None:
            return sign_up(self, client_id, username, password, attributes)
        given = {a["Name"]: a["Value"] for a in attributes or []}
        if "email" in (pool.extended_config.get("UsernameAttributes") or []) and "@" in username:
            given.setdefault("email", username)  # an email username is the user's email attribute
        request = {"userAttributes": given, "validationData": None}
        response = run(pool, "PreSignUp", "PreSignUp_SignUp", username, client_id, request)
        user, delivery = sign_up(self, client_id, username, password, attributes)
        if response.get("autoVerifyEmail") and "email" in user.attribute_lookup:
            user.attributes.append({"Name": "email_verified", "Value": "true"})
        if response.get("autoConfirmUser"):
            user.status, delivery = UserStatus.CONFIRMED, None  # confirmed: no code is sent
        return user, delivery

    return sign_up_as_cognito_does


def post_confirmation(pool, user, client_id: str) -> None:
    request = {"userAttributes": user_attributes(user)}
    run(pool, "PostConfirmation", "PostConfirmation_ConfirmSignUp", user.username, client_id, request)


def id_token_claims(pool, claims: dict, client_id: str, username: str) -> dict:
    """The ID token's claims once PreTokenGeneration (version 1) has added, overridden or suppressed some."""
    user = pool._get_user(username)
    if user is None:
        return claims
    groups = claims.get("cognito:groups", [])
    request = {
        "userAttributes": user_attributes(user),
        "groupConfiguration": {"groupsToOverride": groups, "iamRolesToOverride": [], "preferredRole": None},
    }
    response = run(pool, "PreTokenGeneration", "TokenGeneration_Authentication", user.username, client_id, request)
    details = response.get("claimsOverrideDetails") or {}
    claims = {**claims, **(details.get("claimsToAddOrOverride") or {})}
    for name in details.get("claimsToSuppress") or []:
        claims.pop(name, None)
    overridden = (details.get("groupOverrideDetails") or {}).get("groupsToOverride")
    if overridden is not None:
        claims["cognito:groups"] = overridden
    return claims

"""Authorizers enforced before the integration runs, with AWS's answers when they refuse.

REST APIs: COGNITO_USER_POOLS (the local Cognito's tokens), Lambda authorizers of type TOKEN and
REQUEST (the returned IAM policy decides, its context reaches the integration), and AWS_IAM, which
only checks that the request is SigV4-signed (the local cloud does not verify signatures).
HTTP APIs: JWT authorizers (issuer, audience, route scopes).
Results are not cached: every request asks the authorizer again, whatever its TTL.
"""

import json
import re
import time

from labkit.dataplane.apigateway import errors, events, integrations, policies, tokens
from labkit.dataplane.apigateway.deployments import AuthorizerSpec, MethodSpec, RestDeployment
from labkit.dataplane.apigateway.events import RouteMatch
from labkit.dataplane.apigateway.messages import ApiRequest, utc_time

AUTHORIZATION_HEADER = "method.request.header.Authorization"
# A Lambda authorizer's own limit is the integration limit too.
AUTHORIZER_TIMEOUT_S = integrations.DEFAULT_TIMEOUT_MS / 1000
_SIGV4 = "AWS4-HMAC-SHA256 "


def authorize_rest(
    method: MethodSpec, deployment: RestDeployment, request: ApiRequest, match: RouteMatch, region: str
) -> dict | None:
    """What the authorizer passes to the integration (requestContext.authorizer), or None."""
    kind = method.authorization_type
    if kind == "NONE":
        return None
    if kind == "AWS_IAM":
        if not (request.header("Authorization") or "").startswith(_SIGV4):
            raise errors.missing_authentication_token("AWS_IAM authorization needs a request signed with SigV4")
        return None
    authorizer = deployment.authorizers.get(method.authorizer_id)
    if authorizer is None:
        raise errors.configuration_error(f"the method's authorizer {method.authorizer_id!r} is not in this deployment")
    if kind == "COGNITO_USER_POOLS":
        return _cognito(authorizer, method, request)
    if kind == "CUSTOM":
        return _lambda(authorizer, request, match, region)
    raise errors.configuration_error(f"authorization type {kind!r}")


def _cognito(authorizer: AuthorizerSpec, method: MethodSpec, request: ApiRequest) -> dict:
    # The raw token, no "Bearer " prefix: that is what REST APIs' Cognito authorizers accept.
    source = authorizer.identity_source or AUTHORIZATION_HEADER
    token = _identity(source, request, None)
    if not token:
        raise errors.unauthorized(f"no token in {source}")
    pools = [pool for pool in map(tokens.pool_of_arn, authorizer.provider_arns) if pool]
    try:
        pool, claims = tokens.verify(token, pools)
    except tokens.InvalidToken as refused:
        raise errors.unauthorized(str(refused))
    issued_to = tokens.client_id(claims)
    if issued_to not in pool.client_ids():
        raise errors.unauthorized(f"the token was issued to {issued_to!r}, not to an app client of {pool.pool_id}")
    granted = tokens.scopes(claims)
    needed = set(method.authorization_scopes)
    if needed and (claims.get("token_use") != "access" or not needed & set(granted)):
        raise errors.unauthorized(
            f"the method needs an access token with one of the scopes {', '.join(sorted(needed))}"
        )
    return {"claims": rest_claims(claims), "scopes": granted or None}


def _lambda(authorizer: AuthorizerSpec, request: ApiRequest, match: RouteMatch, region: str) -> dict:
    arn = integrations.function_arn(integrations.with_stage_variables(authorizer.uri or "", match.stage_variables))
    method_arn = policies.method_arn(region, match.account_id, match.api_id, match.stage, request.method, request.path)
    if authorizer.type == "TOKEN":
        source = authorizer.identity_source or AUTHORIZATION_HEADER
        token = _identity(source, request, match)
        if not token:
            raise errors.unauthorized(f"no token in {source}")
        expression = authorizer.identity_validation_expression
        if expression and not re.fullmatch(expression, token):
            raise errors.unauthorized("the token does not match the identity validation expression")
        event = {"type": "TOKEN", "methodArn": method_arn, "authorizationToken": token}
    else:
        sources = [part.strip() for part in (authorizer.identity_source or "").split(",")]
        for source in filter(None, sources):
            if not _identity(source, request, match):
                raise errors.unauthorized(f"the identity source {source} is missing")
        event = events.request_authorizer_event(request, match, method_arn)
    started = time.monotonic()
    try:
        source = f"arn:aws:execute-api:{region}:{match.account_id}:{match.api_id}/authorizers/{authorizer.id}"
        result = integrations.invoke_lambda(arn, event, AUTHORIZER_TIMEOUT_S, (source,))
    except (integrations.IntegrationUnreachable, integrations.IntegrationTimeout) as failure:
        raise errors.authorizer_configuration_error(f"authorizer {authorizer.name}: {failure}")
    latency_ms = int((time.monotonic() - started) * 1000)
    try:
        output = json.loads(result.payload)
    except ValueError:
        output = None
    if result.function_error:
        message = output.get("errorMessage") if isinstance(output, dict) else None
        if message == "Unauthorized":  # how an authorizer says 401 (AWS Lambda authorizer docs)
            raise errors.unauthorized(f"authorizer {authorizer.name} raised Unauthorized")
        raise errors.authorizer_configuration_error(f"authorizer {authorizer.name} failed: {message}")
    return _allowed_by_policy(output, authorizer.name, method_arn, latency_ms)


def _allowed_by_policy(output, name: str, method_arn: str, latency_ms: int) -> dict:
    if not isinstance(output, dict) or not output.get("principalId"):
        raise errors.authorizer_configuration_error(
            f"authorizer {name} returned no principalId (it must return principalId and policyDocument)"
        )
    try:
        decision = policies.evaluate(output.get("policyDocument"), method_arn)
    except ValueError as malformed:
        raise errors.authorizer_configuration_error(f"authorizer {name}: {malformed}")
    if decision != policies.ALLOW:
        raise errors.access_denied(
            f"authorizer {name}'s policy does not allow {method_arn}", explicit=decision == policies.DENY
        )
    context = output.get("context") or {}
    if not isinstance(context, dict) or any(isinstance(value, (dict, list)) for value in context.values()):
        raise errors.authorizer_configuration_error(
            f"authorizer {name}'s context must map names to strings, numbers or booleans"
        )
    return {
        "principalId": str(output["principalId"]),
        "integrationLatency": latency_ms,
        **{key: _as_string(value) for key, value in context.items()},
    }


def _identity(source: str, request: ApiRequest, match: RouteMatch | None) -> str | None:
    """The value an identity source names in the request (None when absent)."""
    if source.startswith("method.request.header."):
        return request.header(source[len("method.request.header.") :])
    if source.startswith("method.request.querystring."):
        name = source[len("method.request.querystring.") :]
        return next((value for key, value in reversed(request.query_items) if key == name), None)
    if source.startswith("stageVariables.") and match is not None:
        return match.stage_variables.get(source[len("stageVariables.") :])
    if source.startswith("context."):
        return source  # always present: $context variables come from API Gateway itself
    return None


def authorize_http(route, api, request: ApiRequest, account_id: str) -> dict | None:
    """HTTP API routes: what the authorizer passes on (requestContext.authorizer), or None."""
    kind = (route.authorization_type or "NONE").upper()
    if kind == "NONE":
        return None
    if kind == "AWS_IAM":
        if not (request.header("Authorization") or "").startswith(_SIGV4):
            raise errors.http_forbidden("AWS_IAM authorization needs a SigV4-signed request")
        return None
    authorizer = api.authorizers.get(route.authorizer_id)
    if kind != "JWT" or authorizer is None:
        raise errors.internal_server_error(
            f"route {route.route_key}: authorization {kind}, authorizer {route.authorizer_id!r} "
            "(labkit's local HTTP APIs enforce JWT authorizers only)"
        )
    return _jwt(authorizer, route, request, account_id)


def _jwt(authorizer, route, request: ApiRequest, account_id: str) -> dict:
    sources = authorizer.identity_source or ["$request.header.Authorization"]
    if isinstance(sources, str):
        sources = [sources]
    header = sources[0].removeprefix("$request.header.")
    token = tokens.bearer(request.header(header))
    if not token:
        raise errors.http_unauthorized(f"no token in the {header} header")
    config = authorizer.jwt_config or {}
    pool = tokens.pool_of_issuer(config.get("issuer") or "", account_id)
    if pool is None:
        raise errors.http_unauthorized(
            f"issuer {config.get('issuer')!r} is not a user pool of the "
            "local Cognito, the only issuer the local cloud can verify"
        )
    try:
        _, claims = tokens.verify(token, [pool])
    except tokens.InvalidToken as refused:
        raise errors.http_unauthorized(str(refused))
    audience = claims.get("aud")
    issued_to = {*(audience if isinstance(audience, list) else [audience]), claims.get("client_id")}
    if not set(config.get("audience") or []) & issued_to:
        raise errors.http_unauthorized("neither the token's aud nor its client_id is in the authorizer's audience")
    granted = tokens.scopes(claims)
    if route.authorization_scopes and not set(granted) & set(route.authorization_scopes):
        raise errors.http_forbidden(
            f"route {route.route_key} needs one of the scopes {', '.join(route.authorization_scopes)}"
        )
    return {"jwt": {"claims": {name: _as_string(value) for name, value in claims.items()}, "scopes": granted or None}}


def rest_claims(claims: dict) -> dict:
    """Claims as REST APIs pass them on: strings, with exp and iat written as dates."""
    passed = {}
    for name, value in claims.items():
        if name in ("exp", "iat") and isinstance(value, (int, float)):
            passed[name] = utc_time("%a %b %d %H:%M:%S UTC %Y", value)
        else:
            passed[name] = _as_string(value)
    return passed


def _as_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_as_string(item) for item in value) + "]"
    return str(value)

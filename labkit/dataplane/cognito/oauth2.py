"""A user pool domain's token endpoint, POST /oauth2/token, for the client credentials grant:
machine-to-machine access tokens with a resource server's scopes (moto has no token endpoint). Errors
are the OAuth 2.0 ones Cognito answers with, as {"error": ...} and status 400.

On AWS the endpoint is https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/token; locally it is
/_labkit/cognito/DOMAIN/oauth2/token on the local cloud (labkit.urls.token_url gives either)."""

import base64
import secrets
import time
from urllib.parse import parse_qs

from labkit.dataplane.cognito import validity

ROUTE_PREFIX = "/_labkit/cognito/"


def answer(domain: str, form: bytes, authorization: str | None) -> tuple[int, dict]:
    fields = {name: values[0] for name, values in parse_qs(form.decode("utf-8", "replace")).items()}
    pool = _pool_of(domain)
    if pool is None:
        return 400, {"error": "invalid_request"}
    client_id, secret = _credentials(fields, authorization)
    client = pool.clients.get(client_id or "")
    if client is None or not client.generate_secret or secret != client.secret:
        return 400, {"error": "invalid_client"}
    if fields.get("grant_type") != "client_credentials":
        return 400, {"error": "unsupported_grant_type"}
    config = client.extended_config
    if not config.get("AllowedOAuthFlowsUserPoolClient") or "client_credentials" not in (
        config.get("AllowedOAuthFlows") or []
    ):
        return 400, {"error": "unauthorized_client"}
    allowed = [s for s in config.get("AllowedOAuthScopes") or [] if _is_resource_server_scope(pool, s)]
    asked = fields["scope"].split() if fields.get("scope") else allowed
    if not asked or any(scope not in allowed for scope in asked):
        return 400, {"error": "invalid_scope"}
    lifetime = validity.local_seconds(client, "access")
    return 200, {"access_token": _sign(pool, client, asked, lifetime), "expires_in": lifetime, "token_type": "Bearer"}


def _credentials(fields: dict, authorization: str | None) -> tuple[str | None, str | None]:
    """client_secret_basic (the Authorization header) or client_secret_post (the form)."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(authorization.split(" ", 1)[1]).decode().partition(":")
            return client_id, secret
        except ValueError:
            return None, None
    return fields.get("client_id"), fields.get("client_secret")


def _is_resource_server_scope(pool, scope: str) -> bool:
    identifier, _, name = scope.rpartition("/")
    server = pool.resource_servers.get(identifier)
    return server is not None and any(s.get("ScopeName") == name for s in server.scopes or [])


def _sign(pool, client, scopes: list[str], lifetime: int) -> str:
    from joserfc import jwt

    now = int(time.time())
    claims = {
        "sub": client.id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": now,
        "iss": f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.id}",
        "exp": now + lifetime,
        "iat": now,
        "version": 2,
        "jti": secrets.token_hex(16),
        "client_id": client.id,
    }
    return jwt.encode({"kid": pool.json_web_key.kid, "alg": "RS256"}, claims, pool.json_web_key)


def _pool_of(domain: str):
    from moto.cognitoidp.models import cognitoidp_backends

    for regions in list(cognitoidp_backends.values()):
        for backend in list(regions.values()):
            found = backend.user_pool_domains.get(domain)
            if found is not None:
                return backend.user_pools.get(found.user_pool_id)
    return None

"""Lab 05 · identity: a Cognito user pool and its tokens, enforced on the Bookshop's routes by API Gateway's
authorizers, and a scoped token for service-to-service calls.

The checks sign in users of their own (made in the learner's pool, deleted afterwards), so they never need the
learner's passwords, and call the learner's APIs with those users' tokens."""

import base64
import contextlib
import json
import secrets
import uuid

import requests

from labkit import urls
from labkit.awsapi import pages
from labkit.checks import Lab
from labkit.checks import learner as learner_code

lab = Lab("05", "Identity: Cognito and API authorizers")

POOL, WEB_CLIENT, MACHINE_CLIENT, GROUP = "bookshop-users", "bookshop-web", "notifications", "staff"
CATALOG_API, ORDERS_API, STAGE = "catalog", "orders", "prod"
STAFF = ["grace@bookshop.example"]
LINUS = "linus@bookshop.example"
USER_SCOPE, READ_SCOPE = "aws.cognito.signin.user.admin", "orders/read"
ORDER_ROUTES = {"POST /orders": USER_SCOPE, "GET /orders": USER_SCOPE, "GET /orders/{customer}": READ_SCOPE}
TOKEN_MINUTES = 5
CHECK_USER = "labkit-check-{}@bookshop.example"


def _pool(ctx) -> str:
    name = ctx.env.name(POOL)
    pools = pages(ctx.client("cognito-idp"), "list_user_pools", "UserPools", MaxResults=60)
    named = [pool["Id"] for pool in pools if pool["Name"] == name]
    if not named:
        ctx.missing(f"Cognito user pool {name!r}", "create it in step 1")
    if len(named) > 1:
        ctx.fail(f"expected one user pool called {name!r}, found {len(named)}: delete the extra ones")
    return named[0]


def _client(ctx, pool: str, name: str, fix: str) -> dict:
    cognito = ctx.client("cognito-idp")
    for client in pages(cognito, "list_user_pool_clients", "UserPoolClients", UserPoolId=pool, MaxResults=60):
        if client["ClientName"] == name:
            return cognito.describe_user_pool_client(UserPoolId=pool, ClientId=client["ClientId"])["UserPoolClient"]
    ctx.missing(f"app client {name!r} in the pool", fix)


@lab.check(
    "pool",
    "The user pool signs users in by email, with a password policy and a staff group",
    step=1,
    hints=[
        'pool_settings = {"UsernameAttributes": ["email"], "AutoVerifiedAttributes": ["email"], "Policies": '
        '{"PasswordPolicy": {"MinimumLength": 12, ...}}}; the given code makes the group staff.',
        'The password policy: {"MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True, '
        '"RequireNumbers": True, "RequireSymbols": False}. An email username cannot be added to a pool that exists: '
        "delete the pool (cognito.delete_user_pool(UserPoolId=pool_id)) and run the cell again.",
    ],
)
def pool_is_set_up(ctx):
    cognito = ctx.client("cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=_pool(ctx))["UserPool"]
    usernames = pool.get("UsernameAttributes") or []
    ctx.expect(
        usernames == ["email"],
        f"expected users to sign in with their email (UsernameAttributes ['email']), found {usernames}: it cannot "
        "change, so delete the pool and run step 1 again",
    )
    verified = pool.get("AutoVerifiedAttributes") or []
    ctx.expect(
        "email" in verified,
        f"expected Cognito to verify the email (AutoVerifiedAttributes ['email']), found {verified}",
    )
    policy = (pool.get("Policies") or {}).get("PasswordPolicy") or {}
    ctx.expect(
        policy.get("MinimumLength", 0) >= 12,
        f"expected passwords of at least 12 characters, found a minimum of {policy.get('MinimumLength')}",
    )
    missing = [rule for rule in ("RequireLowercase", "RequireUppercase", "RequireNumbers") if not policy.get(rule)]
    ctx.expect(
        not missing,
        f"expected the password policy to require lower case, upper case and numbers, found {', '.join(missing)} off",
    )
    groups = [g["GroupName"] for g in pages(cognito, "list_groups", "Groups", UserPoolId=pool["Id"])]
    if GROUP not in groups:
        ctx.missing(f"group {GROUP!r} in the pool", "run step 1's cell again: it makes it")


@lab.check(
    "web-client",
    "The web app client has no secret, signs in with a password, and its tokens last 5 minutes",
    step=1,
    hints=[
        'client_settings = {"GenerateSecret": False, "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", '
        '"ALLOW_REFRESH_TOKEN_AUTH"], ...}: a browser or a notebook cannot keep a secret.',
        '"AccessTokenValidity": 5, "IdTokenValidity": 5, "RefreshTokenValidity": 60, "TokenValidityUnits": '
        '{"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"}, '
        '"PreventUserExistenceErrors": "ENABLED".',
    ],
)
def web_client_is_set_up(ctx):
    client = _client(ctx, _pool(ctx), WEB_CLIENT, "create it in step 1")
    ctx.expect(
        not client.get("ClientSecret"),
        f"expected the app client {WEB_CLIENT} to have no secret (it runs in a browser or a notebook, which cannot "
        "keep one), found one: set GenerateSecret to False and run step 1 again",
    )
    flows = client.get("ExplicitAuthFlows") or []
    wanted = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    ctx.expect(all(flow in flows for flow in wanted), f"expected the auth flows {wanted}, found {flows}")
    units = client.get("TokenValidityUnits") or {}
    for setting, unit in (("AccessTokenValidity", "AccessToken"), ("IdTokenValidity", "IdToken")):
        value, found_unit = client.get(setting), units.get(unit, "hours")
        ctx.expect(
            value == TOKEN_MINUTES and found_unit == "minutes",
            f"expected {setting} {TOKEN_MINUTES} minutes (short, so that you can see a token expire), found "
            f"{value if value is not None else 1} {found_unit if value is not None else 'hour'}",
        )
    prevent = client.get("PreventUserExistenceErrors")
    ctx.expect(
        prevent == "ENABLED",
        f"expected PreventUserExistenceErrors ENABLED (a wrong email and a wrong password fail alike), found {prevent}",
    )


@lab.check(
    "users",
    "The Bookshop's users are in the pool, with verified emails, and only staff in the staff group",
    step=2,
    hints=[
        'cognito.admin_create_user(UserPoolId=pool_id, Username=user["email"], MessageAction="SUPPRESS", '
        'UserAttributes=[{"Name": "email", ...}, {"Name": "email_verified", "Value": "true"}, {"Name": "name", ...}])',
        "Catch cognito.exceptions.UsernameExistsException to keep a user an earlier run made; then "
        'cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=user["email"], GroupName="staff") for each '
        "user in STAFF, and for no one else.",
    ],
)
def users_are_imported(ctx):
    pool = _pool(ctx)
    cognito = ctx.client("cognito-idp")
    monolith = ctx.get(ctx.service_url("bookshop") + "/users").json()
    for user in monolith:
        with ctx.not_done_if_missing(f"user {user['email']} in the pool", "import the monolith's users in step 2"):
            found = cognito.admin_get_user(UserPoolId=pool, Username=user["email"])
        attributes = {a["Name"]: a["Value"] for a in found["UserAttributes"]}
        ctx.expect(
            attributes.get("email") == user["email"] and attributes.get("email_verified") == "true",
            f'expected {user["email"]} to have the email {user["email"]}, verified (email_verified "true"), found '
            f"email {attributes.get('email')}, email_verified {attributes.get('email_verified')}",
        )
    staff = sorted(
        next(a["Value"] for a in u["Attributes"] if a["Name"] == "email")
        for u in pages(cognito, "list_users_in_group", "Users", UserPoolId=pool, GroupName=GROUP)
    )
    ctx.expect(staff == STAFF, f"expected the group staff to hold {STAFF} only, found {staff}")


@lab.check(
    "sign-in",
    "A user signs up, confirms, signs in and refreshes",
    step=3,
    hints=[
        'sign_in: cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters='
        '{"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]',
        'refresh: the same call with AuthFlow="REFRESH_TOKEN_AUTH" and AuthParameters={"REFRESH_TOKEN": '
        "refresh_token}; confirm: cognito.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=code).",
    ],
)
def users_sign_in(ctx):
    pool = _pool(ctx)
    client = _client(ctx, pool, WEB_CLIENT, "create it in step 1")
    cognito = ctx.client("cognito-idp")
    with ctx.not_done_if_missing(f"user {LINUS} in the pool", "sign him up in step 3"):
        status = cognito.admin_get_user(UserPoolId=pool, Username=LINUS)["UserStatus"]
    ctx.expect(status == "CONFIRMED", f"expected {LINUS} to be CONFIRMED, found {status}: confirm him with the code")
    sign_in, refresh = ctx.learner_function("sign_in"), ctx.learner_function("refresh")
    with _check_user(ctx, pool, client) as (email, password, _):
        tokens = sign_in(email, password)
        ctx.expect(
            isinstance(tokens, dict) and {"AccessToken", "IdToken", "RefreshToken"} <= set(tokens),
            "expected sign_in to return the AuthenticationResult (AccessToken, IdToken, RefreshToken), found "
            f"{sorted(tokens) if isinstance(tokens, dict) else type(tokens).__name__}",
        )
        ctx.expect(
            _claims(tokens["AccessToken"]).get("client_id") == client["ClientId"],
            f"expected sign_in's tokens to be issued to the app client {WEB_CLIENT}, found client "
            f"{_claims(tokens['AccessToken']).get('client_id')}",
        )
        again = refresh(tokens["RefreshToken"])
        ctx.expect(
            isinstance(again, dict) and "AccessToken" in again,
            "expected refresh to return the AuthenticationResult with a new AccessToken, found "
            f"{sorted(again) if isinstance(again, dict) else type(again).__name__}",
        )


@lab.check(
    "verify",
    "verify() accepts this pool's valid tokens of the use asked for, and nothing else",
    step=4,
    hints=[
        "key = jwks.get_signing_key_from_jwt(token).key; claims = jwt.decode(token, key, algorithms=['RS256'], "
        "issuer=urls.issuer(pool_id), options={'verify_aud': False})",
        "Then raise jwt.InvalidTokenError unless claims['token_use'] == token_use, and unless the token was issued "
        "to client_id: claims['aud'] for an ID token, claims['client_id'] for an access token.",
    ],
)
def verify_refuses_bad_tokens(ctx):
    import jwt

    pool = _pool(ctx)
    client = _client(ctx, pool, WEB_CLIENT, "create it in step 1")
    verify = ctx.learner_value("verify")  # called below with what it may raise told apart

    def outcome(token: str, token_use: str):
        """The claims verify returns, None when it refuses (raises jwt.PyJWTError); anything else it raises
        fails the check in one line."""

        def attempt():
            try:
                return verify(token, token_use)
            except jwt.PyJWTError:
                return None

        return learner_code.call(attempt)

    with _check_user(ctx, pool, client) as (_, _, tokens):
        claims = outcome(tokens["AccessToken"], "access")
        ctx.expect(
            isinstance(claims, dict) and claims.get("sub") == _claims(tokens["AccessToken"])["sub"],
            f"expected verify(a valid access token, 'access') to return its claims, found {_shown(claims)}",
        )
        ctx.expect(
            outcome(tokens["IdToken"], "access") is None,
            "expected verify(an ID token, 'access') to refuse it (an ID token where an access token is required), "
            "found it accepted: compare the claim token_use with token_use",
        )
        ctx.expect(
            outcome(_tampered(tokens["AccessToken"], sub="someone-else"), "access") is None,
            "expected verify to refuse a token whose claims were changed after it was signed, found it accepted: "
            "verify the signature with the pool's key",
        )
        with _other_pool(ctx) as foreign:
            ctx.expect(
                outcome(foreign["AccessToken"], "access") is None,
                "expected verify to refuse a token from another user pool, found it accepted: verify its signature "
                "against this pool's keys (jwks) and its iss against urls.issuer(pool_id)",
            )
        with _other_client(ctx, pool) as other_tokens:
            ctx.expect(
                outcome(other_tokens["AccessToken"], "access") is None,
                "expected verify to refuse an access token issued to another app client of the pool, found it "
                "accepted: compare its client_id with client_id",
            )
    # Only this pool's key signs as this pool, so no real token can test the issuer check: verify's key set
    # (the given `jwks`) is swapped for the check's own key, which signs one token with this pool's iss and one
    # with another pool's. When verify refuses the first, it does not take its keys from `jwks`: nothing to tell.
    with _keys_of_the_checks_own(verify) as sign:
        claims = {"sub": "labkit-check", "token_use": "access", "client_id": client["ClientId"]}
        if outcome(sign(iss=urls.issuer(pool), **claims), "access") is not None:
            elsewhere = urls.issuer(pool.split("_")[0] + "_labkitCheckOtherPool")
            ctx.expect(
                outcome(sign(iss=elsewhere, **claims), "access") is None,
                f"expected verify to refuse a token whose iss is not this pool's ({urls.issuer(pool)}), found it "
                f"accepted with iss {elsewhere}: pass issuer=urls.issuer(pool_id) to jwt.decode",
            )


@lab.check(
    "catalog",
    "POST /books needs a Cognito token, and only staff may add a book",
    step=5,
    hints=[
        'authorizer = {"name": "bookshop-users", "type": "COGNITO_USER_POOLS", "providerARNs": [pool_arn], '
        '"identitySource": "method.request.header.Authorization"}; post_books = {"authorizationType": '
        '"COGNITO_USER_POOLS"}',
        'staff_only: groups = claims.get("cognito:groups", "").strip("[]").replace(",", " ").split(); return '
        'respond(403, {"message": "only staff may add books"}) unless "staff" is in groups, else None.',
    ],
)
def catalog_is_guarded(ctx):
    pool = _pool(ctx)
    client = _client(ctx, pool, WEB_CLIENT, "create it in step 1")
    url = ctx.api_url(ctx.env.name(CATALOG_API), STAGE, fix="run step 5")
    rest = ctx.client("apigateway")
    api = next(a["id"] for a in pages(rest, "get_rest_apis", "items") if a["name"] == ctx.env.name(CATALOG_API))
    books = next((r for r in pages(rest, "get_resources", "items", restApiId=api) if r["path"] == "/books"), None)
    if books is None or "POST" not in (books.get("resourceMethods") or {}):
        ctx.missing("method POST /books on the catalog API", "run step 5")
    method = rest.get_method(restApiId=api, resourceId=books["id"], httpMethod="POST")
    kind = method.get("authorizationType")
    ctx.expect(
        kind == "COGNITO_USER_POOLS",
        f"expected POST /books to need a Cognito token (authorizationType COGNITO_USER_POOLS), found {kind}: "
        'anyone can add a book. Set post_books = {"authorizationType": "COGNITO_USER_POOLS"} and run step 5\'s '
        "cells again",
    )
    authorizer = rest.get_authorizer(restApiId=api, authorizerId=method["authorizerId"])
    pool_arn = ctx.client("cognito-idp").describe_user_pool(UserPoolId=pool)["UserPool"]["Arn"]
    ctx.expect(
        authorizer.get("providerARNs") == [pool_arn],
        f"expected the authorizer to trust the pool {ctx.env.name(POOL)} ({pool_arn}), found "
        f"{authorizer.get('providerARNs')}",
    )
    book = {"title": "a book the check adds", "author": "labkit"}
    anonymous = ctx.post(url + "/books", json=book)
    ctx.expect(
        anonymous.status_code == 401,
        f"expected POST /books without a token to get 401, found "
        f"{anonymous.status_code}: redeploy the stage (run step 5's cells again)",
    )
    with _check_user(ctx, pool, client) as (_, _, customer):
        answer = ctx.post(url + "/books", json=book, headers={"Authorization": customer["IdToken"]})
        ctx.expect(
            answer.status_code == 403,
            f"expected POST /books with a customer's token (not in the group staff) to get 403, found "
            f"{answer.status_code} {answer.text[:200]}: staff_only must refuse whoever is not staff",
        )
    with _check_user(ctx, pool, client, staff=True) as (_, _, staff):
        answer = ctx.post(url + "/books", json=book, headers={"Authorization": staff["IdToken"]})
        ctx.expect(
            answer.status_code == 201,
            f"expected POST /books with a staff member's token to get 201, found {answer.status_code} "
            f"{answer.text[:200]}"
            + (
                ": staff_only refused a member of the group staff. API Gateway passes cognito:groups as one "
                'string, such as "[staff]": split it into names before looking for staff'
                if answer.status_code == 403
                else ""
            ),
        )


@lab.check(
    "orders",
    "Orders takes the customer from the token, and each route asks for its scope",
    step=6,
    hints=[
        'jwt_authorizer = {"Name": "bookshop-users", "AuthorizerType": "JWT", "IdentitySource": '
        '["$request.header.Authorization"], "JwtConfiguration": {"Issuer": urls.issuer(pool_id), "Audience": '
        "[client_id]}}",
        f"route_scopes: {json.dumps({route: [scope] for route, scope in ORDER_ROUTES.items()})}; customer_of returns "
        'event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"].',
    ],
)
def orders_are_guarded(ctx):
    pool = _pool(ctx)
    client = _client(ctx, pool, WEB_CLIENT, "create it in step 1")
    url = ctx.api_url(ctx.env.name(ORDERS_API), fix="run step 6")
    _routes_are_guarded(ctx, pool)
    ctx.expect(
        ctx.post(url + "/orders", json={"items": []}).status_code == 401,
        "expected POST /orders without a token to get 401",
    )
    with _check_user(ctx, pool, client) as (_, _, tokens), _check_user(ctx, pool, client) as (_, _, other):
        me, them = _claims(tokens["AccessToken"])["sub"], _claims(other["AccessToken"])["sub"]
        placed = ctx.post(
            url + "/orders",
            json={"customer": them, "user_id": them, "items": []},
            headers=_bearer(tokens["AccessToken"]),
        )
        ctx.expect(
            placed.status_code == 201,
            f"expected POST /orders with a customer's access token to get 201, "
            f"found {placed.status_code} {placed.text[:200]}",
        )
        owner = placed.json().get("customer")
        ctx.expect(
            owner == me,
            f"expected the order to be the token's customer ({me}), found it placed for {owner}, whom the request's "
            "body named: customer_of must read the claim sub, never the body",
        )
        theirs = ctx.get(f"{url}/orders/{them}", headers=_bearer(tokens["AccessToken"]))
        ctx.expect(
            theirs.status_code == 403,
            f"expected a customer's token to get 403 for another customer's orders (GET /orders/{{customer}} needs "
            f"the scope {READ_SCOPE}), found {theirs.status_code}",
        )
        _delete_orders(ctx, [me, them])


def _routes_are_guarded(ctx, pool: str) -> None:
    v2 = ctx.client("apigatewayv2")
    api = next(a["ApiId"] for a in pages(v2, "get_apis", "Items") if a["Name"] == ctx.env.name(ORDERS_API))
    routes = {r["RouteKey"]: r for r in pages(v2, "get_routes", "Items", ApiId=api)}
    for key, scope in ORDER_ROUTES.items():
        if key not in routes:
            ctx.missing(f"route {key} on the orders API", "run step 6")
        route = routes[key]
        ctx.expect(
            route.get("AuthorizationType") == "JWT",
            f"expected {key} to need a token (AuthorizationType JWT), found {route.get('AuthorizationType')}: "
            "anyone can call it",
        )
        scopes = route.get("AuthorizationScopes") or []
        ctx.expect(
            scopes == [scope],
            f"expected {key} to require the scope {scope} only, found {scopes}"
            + (
                f": without it, an ID token (it has no scope) or another service's token gets in. Set "
                f"route_scopes[{key!r}] = [{scope!r}] and run step 6's cell again"
                if not scopes
                else f": set route_scopes[{key!r}] = [{scope!r}] and run step 6's cell again"
            ),
        )
        authorizer = v2.get_authorizer(ApiId=api, AuthorizerId=route["AuthorizerId"])
        issuer = (authorizer.get("JwtConfiguration") or {}).get("Issuer")
        ctx.expect(
            issuer == urls.issuer(pool),
            f"expected the JWT authorizer's issuer to be the pool's, {urls.issuer(pool)}, found {issuer}",
        )


@lab.check(
    "service-token",
    "Notifications reads any customer's orders with a token scoped orders/read, and nothing more",
    step=7,
    hints=[
        'resource_server = {"Identifier": "orders", "Name": "orders", "Scopes": [{"ScopeName": "read", '
        '"ScopeDescription": "..."}]}; machine_client_settings = {"GenerateSecret": True, "AllowedOAuthFlows": '
        '["client_credentials"], "AllowedOAuthFlowsUserPoolClient": True, "AllowedOAuthScopes": ["orders/read"]}',
        'The orders API accepts only its audience\'s tokens: jwt_authorizer["JwtConfiguration"]["Audience"] = '
        "[client_id, machine_client_id], then orders_routes(jwt_authorizer, route_scopes).",
    ],
)
def service_token_reads_orders(ctx):
    pool = _pool(ctx)
    cognito = ctx.client("cognito-idp")
    with ctx.not_done_if_missing("resource server 'orders'", "create it in step 7"):
        server = cognito.describe_resource_server(UserPoolId=pool, Identifier="orders")["ResourceServer"]
    scopes = [s["ScopeName"] for s in server.get("Scopes") or []]
    ctx.expect(scopes == ["read"], f"expected the resource server orders to have the scope read, found {scopes}")
    machine = _client(ctx, pool, MACHINE_CLIENT, "create it in step 7")
    ctx.expect(machine.get("ClientSecret"), f"expected the app client {MACHINE_CLIENT} to have a secret, found none")
    flows, allowed = machine.get("AllowedOAuthFlows") or [], machine.get("AllowedOAuthScopes") or []
    ctx.expect(
        flows == ["client_credentials"] and machine.get("AllowedOAuthFlowsUserPoolClient"),
        f"expected {MACHINE_CLIENT} to use the client_credentials flow only (AllowedOAuthFlowsUserPoolClient True), "
        f"found {flows}",
    )
    ctx.expect(allowed == [READ_SCOPE], f"expected {MACHINE_CLIENT} to be allowed {READ_SCOPE} only, found {allowed}")
    answer = requests.post(
        urls.token_url(pool),
        auth=(machine["ClientId"], machine["ClientSecret"]),
        data={"grant_type": "client_credentials", "scope": READ_SCOPE},
        timeout=10,
    )
    ctx.expect(
        answer.status_code == 200,
        f"expected the token endpoint to issue {MACHINE_CLIENT} a token, found "
        f"{answer.status_code} {answer.text[:200]}",
    )
    token = answer.json()["access_token"]
    url = ctx.api_url(ctx.env.name(ORDERS_API), fix="run step 6")
    read = ctx.get(f"{url}/orders/labkit-check-nobody", headers=_bearer(token))
    ctx.expect(
        read.status_code == 200,
        f"expected {MACHINE_CLIENT}'s token to read a customer's orders (200), found {read.status_code}: is "
        f"{MACHINE_CLIENT} in the JWT authorizer's Audience?"
        + (
            " A 401 says the authorizer refused the token: set "
            'jwt_authorizer["JwtConfiguration"]["Audience"] = [client_id, machine_client_id] and run that cell again'
            if read.status_code == 401
            else ""
        ),
    )
    placed = ctx.post(url + "/orders", json={"items": []}, headers=_bearer(token))
    ctx.expect(
        placed.status_code == 403,
        f"expected {MACHINE_CLIENT}'s token to be refused POST /orders (403: no "
        f"{USER_SCOPE} scope), found {placed.status_code}",
    )


# --- the checks' own users, clients, pools and keys, made and removed around each use


class _KeySet:
    """Stands in for verify's PyJWKClient: one key, the check's own."""

    def __init__(self, jwk):
        self.jwk = jwk

    def get_signing_key_from_jwt(self, token):
        return self.jwk

    def get_signing_key(self, kid):
        return self.jwk

    def get_signing_keys(self, refresh=False):
        return [self.jwk]


@contextlib.contextmanager
def _keys_of_the_checks_own(verify):
    """sign(**claims): a token signed with a key of the check's own, which verify's `jwks` (the notebook's
    global) hands out while the block runs. Without a `jwks` global, sign's tokens are simply refused."""
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = f"labkit-check-{uuid.uuid4().hex[:8]}"
    public = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key())), "kid": kid, "alg": "RS256"}

    def sign(**claims):
        now = int(time.time())
        claims = {"iat": now, "auth_time": now, "exp": now + 3600, "jti": uuid.uuid4().hex, **claims}
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})

    namespace = getattr(verify, "__globals__", {})
    if not hasattr(namespace.get("jwks"), "get_signing_key_from_jwt"):
        yield sign
        return
    theirs = namespace["jwks"]
    namespace["jwks"] = _KeySet(jwt.PyJWK(public, algorithm="RS256"))
    try:
        yield sign
    finally:
        namespace["jwks"] = theirs


@contextlib.contextmanager
def _check_user(ctx, pool: str, client: dict, staff: bool = False):
    """A user of the check's own in the pool, signed in with the client: (email, password, tokens)."""
    cognito = ctx.client("cognito-idp")
    email, password = CHECK_USER.format(uuid.uuid4().hex[:8]), f"Check-{secrets.token_hex(8)}-A1"
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
    )
    try:
        cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
        if staff:
            cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=GROUP)
        tokens = _sign_in(cognito, client["ClientId"], email, password)
        yield email, password, tokens
    finally:
        cognito.admin_delete_user(UserPoolId=pool, Username=email)


def _sign_in(cognito, client_id: str, username: str, password: str) -> dict:
    return cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password}
    )["AuthenticationResult"]


@contextlib.contextmanager
def _other_client(ctx, pool: str):
    """The tokens of a check user signed in with another app client of the same pool."""
    cognito = ctx.client("cognito-idp")
    other = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="labkit-check", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]
    try:
        with _check_user(ctx, pool, other) as (_, _, tokens):
            yield tokens
    finally:
        cognito.delete_user_pool_client(UserPoolId=pool, ClientId=other["ClientId"])


@contextlib.contextmanager
def _other_pool(ctx):
    """The tokens of a user of another pool (tagged as the lab's, deleted afterwards)."""
    cognito = ctx.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=ctx.env.name("labkit-check"), UserPoolTags=ctx.env.tags)["UserPool"]["Id"]
    try:
        client = cognito.create_user_pool_client(
            UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]
        cognito.admin_create_user(UserPoolId=pool, Username="mallory", MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool, Username="mallory", Password="Another-shop-2026", Permanent=True
        )
        yield _sign_in(cognito, client["ClientId"], "mallory", "Another-shop-2026")
    finally:
        cognito.delete_user_pool(UserPoolId=pool)


def _delete_orders(ctx, customers: list[str]) -> None:
    table = ctx.table(ctx.env.name("orders"))
    for customer in customers:
        for item in table.query(KeyConditionExpression="customer = :c", ExpressionAttributeValues={":c": customer})[
            "Items"
        ]:
            table.delete_item(Key={"customer": customer, "id": item["id"]})


def _claims(token: str) -> dict:
    """A token's claims, unverified: to read what the check itself was issued."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _tampered(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = {**_claims(token), **changes}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _shown(value) -> str:
    return "it refused" if value is None else f"{type(value).__name__} {str(value)[:80]}"

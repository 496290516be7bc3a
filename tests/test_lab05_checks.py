"""Lab 05's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook runs once for the module (its cells but the cleanup), which deploys the pool, the APIs and
the functions; each test then makes one mistake with boto3 (a route left open, a handler that believes the
body, a wrong verify function...), runs the check, and puts the right answer back. The handlers are the
solution notebook's own (its %%writefile cells), with one line changed."""

import base64
import json

import boto3
import jwt
import nbformat
import pytest
from solution_files import written_file
from solution_runs import deployed_by_solution
from support.checks import checks_of

from labkit import config, labs, packaging, urls
from labkit.labs import lab05

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "05_identity.ipynb"
result, assert_fails_saying_exactly = checks_of("05")
CATALOG = written_file(SOLUTION, "catalog_file")
ORDERS = written_file(SOLUTION, "orders_file")


@pytest.fixture(scope="module")
def deployed(cloud):
    """The lab as its solution leaves it before the cleanup: (pool id, web client id)."""
    with deployed_by_solution(SOLUTION, "05"):
        cognito = boto3.client("cognito-idp")
        pool = next(p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == lab05.POOL)
        web = next(
            c["ClientId"]
            for c in cognito.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"]
            if c["ClientName"] == lab05.WEB_CLIENT
        )
        yield pool, web


def assert_fails(check_id, says, **learner):
    found = result(check_id, **learner)
    assert (found.status, found.message[: len(says)]) == ("failed", says), found.message


def notebook_verify(pool, client, change=("", "")):
    """The solution's verify cell, run in a namespace of its own as the notebook's (with its global `jwks`),
    with one change made to it."""
    path = config.COURSE_ROOT / "solutions" / SOLUTION
    source = next(c.source for c in nbformat.read(path, as_version=4).cells if c.source.startswith("def verify("))
    assert change[0] in source
    namespace = {"jwt": jwt, "urls": urls, "pool_id": pool, "client_id": client}
    namespace["jwks"] = jwt.PyJWKClient(urls.jwks_url(pool))
    exec(source.replace(*change), namespace)
    return namespace["verify"]


def verifier(pool, client, *, token_use=True, audience=True, keys_of_the_tokens_own_issuer=False):
    """A learner's verify(), right or with one check left out."""
    pool_keys = jwt.PyJWKClient(urls.jwks_url(pool))

    def verify(token, wanted="access"):
        if keys_of_the_tokens_own_issuer:  # the keys of whichever pool the token says issued it
            claimed = jwt.decode(token, options={"verify_signature": False})["iss"].rsplit("/", 1)[-1]
            key = jwt.PyJWKClient(urls.jwks_url(claimed)).get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})
        else:
            key = pool_keys.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token, key, algorithms=["RS256"], issuer=urls.issuer(pool), options={"verify_aud": False}
            )
        if token_use and claims["token_use"] != wanted:
            raise jwt.InvalidTokenError("not the use asked for")
        issued_to = claims.get("aud") if claims["token_use"] == "id" else claims.get("client_id")
        if audience and issued_to != client:
            raise jwt.InvalidTokenError("not this client's")
        return claims

    return verify


@pytest.fixture
def redeployed(tmp_path):
    """Deploys a variant of a function's handler; the solution's handler is deployed again afterwards."""
    lambda_ = boto3.client("lambda")
    deployed_here = {}

    def deploy(name, source):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        (folder / "handler.py").write_text(source)
        lambda_.update_function_code(FunctionName=name, ZipFile=packaging.zip_bytes(folder / "handler.py"))
        lambda_.get_waiter("function_updated_v2").wait(FunctionName=name)
        deployed_here[name] = source

    yield deploy
    for name in deployed_here:
        deploy(name, {"catalog": CATALOG, "orders": ORDERS}[name])


def orders_api():
    v2 = boto3.client("apigatewayv2")
    api = next(a["ApiId"] for a in v2.get_apis()["Items"] if a["Name"] == lab05.ORDERS_API)
    return v2, api, {r["RouteKey"]: r for r in v2.get_routes(ApiId=api)["Items"]}


def test_the_solution_passes_every_check(deployed):
    pool, web = deployed
    learner = {"verify": verifier(pool, web), "sign_in": sign_in_with(web), "refresh": refresh_with(web)}
    failing = [(r.id, r.message) for r in labs.require("05").run(**learner) if not r.passed]
    assert failing == []


def sign_in_with(client, whole_answer=False):
    def sign_in(email, password):
        answer = boto3.client("cognito-idp").initiate_auth(
            ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password}
        )
        return answer if whole_answer else answer["AuthenticationResult"]

    return sign_in


def refresh_with(client):
    def refresh(token):
        return boto3.client("cognito-idp").initiate_auth(
            ClientId=client, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": token}
        )["AuthenticationResult"]

    return refresh


def test_tokens_that_last_an_hour_fail_and_the_check_asks_for_5_minutes(deployed):
    pool, web = deployed
    cognito = boto3.client("cognito-idp")
    cognito.update_user_pool_client(
        UserPoolId=pool,
        ClientId=web,
        ClientName=lab05.WEB_CLIENT,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=60,
        IdTokenValidity=60,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
        PreventUserExistenceErrors="ENABLED",
    )
    try:
        assert_fails(
            "web-client",
            "expected AccessTokenValidity 5 minutes (short, so that you can see a token expire), found 60 minutes",
        )
    finally:
        cognito.update_user_pool_client(
            UserPoolId=pool,
            ClientId=web,
            ClientName=lab05.WEB_CLIENT,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            AccessTokenValidity=5,
            IdTokenValidity=5,
            RefreshTokenValidity=60,
            TokenValidityUnits={"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "minutes"},
            PreventUserExistenceErrors="ENABLED",
        )


def test_a_customer_in_the_staff_group_fails_and_the_check_names_who_is_there(deployed):
    pool, _ = deployed
    cognito = boto3.client("cognito-idp")
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="bob@bookshop.example", GroupName="staff")
    try:
        assert_fails(
            "users",
            "expected the group staff to hold ['grace@bookshop.example'] only, found "
            "['bob@bookshop.example', 'grace@bookshop.example']",
        )
    finally:
        cognito.admin_remove_user_from_group(UserPoolId=pool, Username="bob@bookshop.example", GroupName="staff")


def test_a_sign_in_that_returns_the_whole_answer_fails_and_asks_for_the_authentication_result(deployed):
    _, web = deployed
    assert_fails(
        "sign-in",
        "expected sign_in to return the AuthenticationResult (AccessToken, IdToken, RefreshToken), found "
        "['AuthenticationResult', ",
        sign_in=sign_in_with(web, whole_answer=True),
        refresh=refresh_with(web),
    )


def test_a_verify_that_takes_an_id_token_for_an_access_token_fails(deployed):
    pool, web = deployed
    assert_fails(
        "verify",
        "expected verify(an ID token, 'access') to refuse it (an ID token where an access token is required), "
        "found it accepted: compare the claim token_use with token_use",
        verify=verifier(pool, web, token_use=False),
    )


def test_a_verify_that_trusts_any_app_client_of_the_pool_fails(deployed):
    pool, web = deployed
    assert_fails(
        "verify",
        "expected verify to refuse an access token issued to another app client of the pool, found it accepted: "
        "compare its client_id with client_id",
        verify=verifier(pool, web, audience=False),
    )


def test_a_verify_that_fetches_the_keys_of_the_tokens_own_issuer_takes_another_pools_token_and_fails(deployed):
    pool, web = deployed
    assert_fails(
        "verify",
        "expected verify to refuse a token from another user pool, found it accepted: verify its signature "
        "against this pool's keys (jwks) and its iss against urls.issuer(pool_id)",
        verify=verifier(pool, web, keys_of_the_tokens_own_issuer=True, audience=False),
    )


def test_the_notebooks_verify_passes_and_gets_its_own_key_set_back(deployed):
    pool, web = deployed
    verify = notebook_verify(pool, web)
    keys = verify.__globals__["jwks"]
    assert result("verify", verify=verify).passed
    assert verify.__globals__["jwks"] is keys


def test_a_verify_that_skips_the_issuer_fails_and_says_to_pass_issuer(deployed):
    pool, web = deployed
    verify = notebook_verify(pool, web, ("issuer=urls.issuer(pool_id),", ""))
    elsewhere = urls.issuer(pool.split("_")[0] + "_labkitCheckOtherPool")
    assert_fails_saying_exactly(
        "verify",
        f"expected verify to refuse a token whose iss is not this pool's ({urls.issuer(pool)}), found it accepted "
        f"with iss {elsewhere}: pass issuer=urls.issuer(pool_id) to jwt.decode",
        verify=verify,
    )
    assert isinstance(verify.__globals__["jwks"], jwt.PyJWKClient)


def test_a_verify_that_raises_something_else_than_a_jwt_error_fails_in_one_line(deployed):
    def verify(token, token_use="access"):
        return json.loads(base64.b64decode(token))  # not a JWT library's decoding

    found = result("verify", verify=verify)
    assert found.status == "failed" and found.message.startswith("your code raised "), found.message


def test_post_books_left_open_fails_and_says_anyone_can_add_a_book(deployed):
    rest = boto3.client("apigateway")
    api = next(a["id"] for a in rest.get_rest_apis()["items"] if a["name"] == lab05.CATALOG_API)
    books = next(r for r in rest.get_resources(restApiId=api)["items"] if r["path"] == "/books")
    method = rest.get_method(restApiId=api, resourceId=books["id"], httpMethod="POST")

    def post_books(**authorization):  # moto has no UpdateMethod: the method made again, as the notebook does
        rest.delete_method(restApiId=api, resourceId=books["id"], httpMethod="POST")
        rest.put_method(restApiId=api, resourceId=books["id"], httpMethod="POST", **authorization)
        rest.put_integration(
            restApiId=api,
            resourceId=books["id"],
            httpMethod="POST",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=method["methodIntegration"]["uri"],
        )
        rest.create_deployment(restApiId=api, stageName="prod")

    post_books(authorizationType="NONE")
    try:
        assert_fails_saying_exactly(
            "catalog",
            "expected POST /books to need a Cognito token (authorizationType COGNITO_USER_POOLS), found NONE: "
            'anyone can add a book. Set post_books = {"authorizationType": "COGNITO_USER_POOLS"} and run step 5\'s '
            "cells again",
        )
    finally:
        post_books(authorizationType="COGNITO_USER_POOLS", authorizerId=method["authorizerId"])


def test_a_catalog_that_lets_any_signed_in_user_add_a_book_fails(deployed, redeployed):
    redeployed("catalog", CATALOG.replace('    if "staff" not in groups:', '    if "staff" in []:'))
    assert_fails(
        "catalog",
        "expected POST /books with a customer's token (not in the group staff) to get 403, found 201",
    )


def test_a_catalog_that_compares_the_groups_whole_refuses_staff_and_the_check_says_to_split_them(deployed, redeployed):
    split = 'groups = claims.get("cognito:groups", "").strip("[]").replace(",", " ").split()'
    assert split in CATALOG
    redeployed("catalog", CATALOG.replace(split, 'groups = [claims.get("cognito:groups", "")]'))
    assert_fails_saying_exactly(
        "catalog",
        "expected POST /books with a staff member's token to get 201, found 403 "
        '{"message": "only staff may add books"}: staff_only refused a member of the group staff. API Gateway '
        'passes cognito:groups as one string, such as "[staff]": split it into names before looking for staff',
    )


def test_orders_that_take_the_customer_from_the_body_fail_and_say_so(deployed, redeployed):
    right = 'return event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]'
    assert right in ORDERS
    redeployed("orders", ORDERS.replace(right, 'return json.loads(event.get("body") or "{}")["customer"]'))
    found = result("orders")
    assert found.status == "failed", found.message
    assert found.message.startswith("expected the order to be the token's customer ("), found.message
    assert found.message.endswith(
        "whom the request's body named: customer_of must read the claim sub, never the body"
    ), found.message


def test_an_orders_route_left_open_fails_and_says_anyone_can_call_it(deployed):
    v2, api, routes = orders_api()
    route = routes["POST /orders"]
    v2.update_route(ApiId=api, RouteId=route["RouteId"], AuthorizationType="NONE")
    try:
        assert_fails("orders", "expected POST /orders to need a token (AuthorizationType JWT), found NONE")
    finally:
        v2.update_route(
            ApiId=api,
            RouteId=route["RouteId"],
            AuthorizationType="JWT",
            AuthorizerId=route["AuthorizerId"],
            AuthorizationScopes=route["AuthorizationScopes"],
        )


def test_an_orders_route_without_scopes_fails_and_says_an_id_token_gets_in(deployed):
    v2, api, routes = orders_api()
    route = routes["POST /orders"]

    def post_orders(scopes):  # made again, as the notebook's orders_routes does (moto ignores an empty update)
        v2.delete_route(ApiId=api, RouteId=route["RouteId"])
        route["RouteId"] = v2.create_route(
            ApiId=api,
            RouteKey=route["RouteKey"],
            Target=route["Target"],
            AuthorizationType="JWT",
            AuthorizerId=route["AuthorizerId"],
            AuthorizationScopes=scopes,
        )["RouteId"]

    post_orders([])
    try:
        assert_fails_saying_exactly(
            "orders",
            "expected POST /orders to require the scope aws.cognito.signin.user.admin only, found []: without it, "
            "an ID token (it has no scope) or another service's token gets in. Set route_scopes['POST /orders'] = "
            "['aws.cognito.signin.user.admin'] and run step 6's cell again",
        )
    finally:
        post_orders([lab05.USER_SCOPE])


def test_customers_orders_readable_with_a_users_token_fail_and_the_check_names_the_scope(deployed):
    v2, api, routes = orders_api()
    route = routes["GET /orders/{customer}"]
    v2.update_route(ApiId=api, RouteId=route["RouteId"], AuthorizationScopes=[lab05.USER_SCOPE])
    try:
        assert_fails(
            "orders",
            "expected GET /orders/{customer} to require the scope orders/read only, found "
            "['aws.cognito.signin.user.admin']",
        )
    finally:
        v2.update_route(ApiId=api, RouteId=route["RouteId"], AuthorizationScopes=[lab05.READ_SCOPE])


def test_a_machine_client_outside_the_authorizers_audience_fails_and_the_check_says_where_to_add_it(deployed):
    pool, web = deployed
    v2, api, routes = orders_api()
    authorizer = routes["GET /orders/{customer}"]["AuthorizerId"]
    config_before = v2.get_authorizer(ApiId=api, AuthorizerId=authorizer)["JwtConfiguration"]
    v2.update_authorizer(
        ApiId=api, AuthorizerId=authorizer, JwtConfiguration={"Issuer": urls.issuer(pool), "Audience": [web]}
    )
    try:
        assert_fails_saying_exactly(
            "service-token",
            "expected notifications's token to read a customer's orders (200), found 401: is notifications in the "
            "JWT authorizer's Audience? A 401 says the authorizer refused the token: set "
            'jwt_authorizer["JwtConfiguration"]["Audience"] = [client_id, machine_client_id] and run that cell again',
        )
    finally:
        v2.update_authorizer(ApiId=api, AuthorizerId=authorizer, JwtConfiguration=config_before)

"""API Gateway on the local cloud, as a learner meets it over HTTP: REST APIs and HTTP APIs
answer at their invoke URLs, run the real Lambda handler, enforce authorizers and answer errors as
AWS does.

Every test with a Lambda integration or a Lambda authorizer needs the Lambda data plane
(labkit.dataplane.lambda_) to run the handler.
"""

import io
import json
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests

from labkit import urls
from labkit.errors import LabkitError

SAMPLES = Path(__file__).parent / "data" / "apigateway"
REGION = "us-east-1"
ACCOUNT = "123456789012"
SHOP_ORIGIN = "https://shop.example"

FUNCTION_CODE = """
import base64
import json
import time


def handler(event, context):
    path = event.get("rawPath") or event.get("path") or ""
    if path.endswith("/fail"):
        raise RuntimeError("failed on purpose")
    if path.endswith("/malformed"):
        return {"statusCode": 200, "body": {"a body": "that is not a string"}}
    if path.endswith("/sleep"):
        time.sleep(3)
    if path.endswith("/bare"):
        return {"served": "bare"}
    if path.endswith("/words"):
        return "plain words"
    if path.endswith("/image"):
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "isBase64Encoded": True, "body": base64.b64encode(b"\\x89PNG binary").decode()}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"X-Served-By": ["echo", "lambda"]}, "body": json.dumps(event)}


def authorize(event, context):
    query = event.get("queryStringParameters") or {}  # a REQUEST authorizer's ticket
    token = event.get("authorizationToken") or query.get("ticket")
    if token not in ("let-me-in", "keep-out"):
        raise Exception("Unauthorized")
    effect = "Allow" if token == "let-me-in" else "Deny"
    return {"principalId": "ada",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
            "context": {"tier": 3, "member": True}}


def custom(event, context):
    if event.get("fail"):
        raise ValueError("NotFound: no such book")
    return {"received": event}
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def functions(cloud):
    """ARNs of three functions from one zip: echo (times out after 1 s), authorizer, custom."""
    role = boto3.client("iam").create_role(
        RoleName="apigateway-test-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    client = boto3.client("lambda")
    arns = {}
    for name, handler in (("echo", "app.handler"), ("authorizer", "app.authorize"), ("custom", "app.custom")):
        arns[name] = client.create_function(
            FunctionName=f"apigw-{name}",
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": zipped(FUNCTION_CODE)},
            Timeout=1,
        )["FunctionArn"]
        # API Gateway invokes a function only as its resource policy allows.
        client.add_permission(
            FunctionName=f"apigw-{name}",
            StatementId="apigateway",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:*",
        )
    return arns


def lambda_uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


class BackendHandler(BaseHTTPRequestHandler):
    """A service behind an HTTP integration: answers 201 with what it received."""

    def answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body.decode()}
        payload = json.dumps(received).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", "loopback")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), BackendHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def user_pool(cloud):
    """A user pool with a confirmed user; its tokens come from USER_PASSWORD_AUTH."""
    idp = boto3.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="apigateway-test")["UserPool"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="shop",
        ExplicitAuthFlows=["USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=client_id, Username="ada", Password="Analytical-Engine-1843")
    idp.admin_confirm_sign_up(UserPoolId=pool["Id"], Username="ada")
    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada", "PASSWORD": "Analytical-Engine-1843"},
    )["AuthenticationResult"]
    return {
        "id": pool["Id"],
        "arn": pool["Arn"],
        "client_id": client_id,
        "id_token": tokens["IdToken"],
        "access_token": tokens["AccessToken"],
    }


class RestApiBuilder:
    def __init__(self, name: str):
        self.client = boto3.client("apigateway")
        self.id = self.client.create_rest_api(name=name)["id"]
        self.resources = {"/": self.client.get_resources(restApiId=self.id)["items"][0]["id"]}

    def resource(self, path: str) -> str:
        if path not in self.resources:
            parent, _, part = path.rpartition("/")
            self.resources[path] = self.client.create_resource(
                restApiId=self.id, parentId=self.resource(parent or "/"), pathPart=part
            )["id"]
        return self.resources[path]

    def method(
        self,
        path: str,
        verb: str,
        integration: dict,
        authorization: str = "NONE",
        responses: list[dict] = (),
        **method_args,
    ) -> None:
        resource = self.resource(path)
        self.client.put_method(
            restApiId=self.id, resourceId=resource, httpMethod=verb, authorizationType=authorization, **method_args
        )
        self.client.put_integration(restApiId=self.id, resourceId=resource, httpMethod=verb, **integration)
        for response in responses:
            self.client.put_method_response(
                restApiId=self.id, resourceId=resource, httpMethod=verb, statusCode=response["statusCode"]
            )
            self.client.put_integration_response(restApiId=self.id, resourceId=resource, httpMethod=verb, **response)

    def lambda_proxy(self, path: str, verb: str, function_arn: str, **method_args) -> None:
        integration = {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": lambda_uri(function_arn)}
        if "timeoutInMillis" in method_args:
            integration["timeoutInMillis"] = method_args.pop("timeoutInMillis")
        self.method(path, verb, integration, **method_args)


@pytest.fixture(scope="module")
def rest_api(cloud, functions, backend, user_pool):
    """A REST API deployed to stage "test" (stage variable env=dev), with the invoke URL."""
    api = RestApiBuilder("apigateway-test")
    echo = functions["echo"]
    api.lambda_proxy("/books", "GET", echo)
    api.lambda_proxy("/books/{id}", "GET", echo)
    api.lambda_proxy("/books/special", "GET", echo)
    api.lambda_proxy("/files/{proxy+}", "ANY", echo)
    api.lambda_proxy("/slow/{rest+}", "ANY", echo, timeoutInMillis=300)
    api.method(
        "/mock",
        "GET",
        {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}},
        responses=[
            {
                "statusCode": "200",
                "responseTemplates": {"application/json": '{"stage": "$context.stage", "env": "$stageVariables.env"}'},
                "responseParameters": {"method.response.header.X-Mocked": "'yes'"},
            }
        ],
    )
    # The OPTIONS method the console's "Enable CORS" creates.
    api.method(
        "/mock",
        "OPTIONS",
        {"type": "MOCK", "requestTemplates": {"application/json": '{"statusCode": 200}'}},
        responses=[
            {
                "statusCode": "200",
                "responseParameters": {
                    "method.response.header.Access-Control-Allow-Headers": "'Content-Type,Authorization'",
                    "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
                    "method.response.header.Access-Control-Allow-Origin": "'*'",
                },
            }
        ],
    )
    api.method(
        "/custom",
        "POST",
        {
            "type": "AWS",
            "integrationHttpMethod": "POST",
            "uri": lambda_uri(functions["custom"]),
            "requestTemplates": {
                "application/json": "{\"book\": $input.json('$.book'), "
                "\"fail\": $input.json('$.fail'), "
                '"stage": "$context.stage"}'
            },
        },
        responses=[
            {"statusCode": "200"},
            {
                "statusCode": "404",
                "selectionPattern": "NotFound:.*",
                "responseTemplates": {
                    "application/json": '{"error": "$util.escapeJavaScript($input.path(\'$.errorMessage\'))"}'
                },
            },
        ],
    )
    api.method(
        "/backend/{proxy+}",
        "ANY",
        {
            "type": "HTTP_PROXY",
            "integrationHttpMethod": "ANY",
            "uri": f"{backend}/{{proxy}}",
            "requestParameters": {"integration.request.path.proxy": "method.request.path.proxy"},
        },
    )
    api.method(
        "/shelf/{id}",
        "GET",
        {
            "type": "HTTP",
            "integrationHttpMethod": "GET",
            "uri": f"{backend}/shelves/{{shelf}}",
            "requestParameters": {
                "integration.request.path.shelf": "method.request.path.id",
                "integration.request.header.X-Stage": "stageVariables.env",
            },
        },
        responses=[
            {
                "statusCode": "200",
                "selectionPattern": "2\\d{2}",
                "responseTemplates": {
                    "application/json": "{\"path\": $input.json('$.path'), \"stage\": $input.json('$.headers.X-Stage')}"
                },
            }
        ],
    )
    cognito = api.client.create_authorizer(
        restApiId=api.id,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[user_pool["arn"]],
        identitySource="method.request.header.Authorization",
    )
    api.lambda_proxy("/secure", "GET", echo, authorization="COGNITO_USER_POOLS", authorizerId=cognito["id"])
    token = api.client.create_authorizer(
        restApiId=api.id,
        name="vip",
        type="TOKEN",
        authorizerUri=lambda_uri(functions["authorizer"]),
        identitySource="method.request.header.Authorization",
    )
    api.lambda_proxy("/vip", "GET", echo, authorization="CUSTOM", authorizerId=token["id"])
    ticket = api.client.create_authorizer(
        restApiId=api.id,
        name="ticket",
        type="REQUEST",
        authorizerUri=lambda_uri(functions["authorizer"]),
        identitySource="method.request.querystring.ticket",
    )
    api.lambda_proxy("/show", "GET", echo, authorization="CUSTOM", authorizerId=ticket["id"])
    api.client.create_deployment(restApiId=api.id, stageName="test", variables={"env": "dev"})
    api.url = urls.url_for(api.id, "test")
    return api


@pytest.fixture(scope="module")
def http_api(cloud, functions, user_pool):
    """An HTTP API with a $default stage (autoDeploy) and a "beta" stage, CORS for the shop's
    origin, and a JWT authorizer trusting the user pool."""
    v2 = boto3.client("apigatewayv2")
    api_id = v2.create_api(
        Name="apigateway-test-http",
        ProtocolType="HTTP",
        CorsConfiguration={
            "AllowOrigins": [SHOP_ORIGIN],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["authorization", "content-type"],
            "MaxAge": 300,
        },
    )["ApiId"]
    echo_v2 = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=functions["echo"],
        PayloadFormatVersion="2.0",
        IntegrationMethod="POST",
    )["IntegrationId"]
    echo_v1 = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=functions["echo"],
        PayloadFormatVersion="1.0",
        IntegrationMethod="POST",
    )["IntegrationId"]
    jwt = v2.create_authorizer(
        ApiId=api_id,
        Name="users",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={
            "Audience": [user_pool["client_id"]],
            "Issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{user_pool['id']}",
        },
    )["AuthorizerId"]
    protected = {"AuthorizationType": "JWT", "AuthorizerId": jwt}
    routes = {
        "GET /books/{id}": (echo_v2, {}),
        "ANY /items/{proxy+}": (echo_v2, {}),
        "GET /legacy": (echo_v1, {}),
        "ANY /private/{shelf}": (echo_v2, protected),
        "GET /scoped": (echo_v2, {**protected, "AuthorizationScopes": ["shop/admin"]}),
    }
    for route_key, (target, options) in routes.items():
        v2.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{target}", **options)
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    v2.create_stage(ApiId=api_id, StageName="beta", AutoDeploy=True, StageVariables={"env": "beta"})
    return {"id": api_id, "url": urls.url_for(api_id), "beta_url": urls.url_for(api_id, "beta")}


def shape(
    value,
    user_maps=(
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "claims",
    ),
):
    """The keys at every level, without descending into maps whose keys are request data."""
    if not isinstance(value, dict):
        return None
    return {key: (None if key in user_maps else shape(item)) for key, item in value.items()}


# REST APIs ---------------------------------------------------------------------------------------


def test_rest_proxy_runs_the_handler_with_the_request_as_its_event(rest_api):
    response = requests.get(rest_api.url + "/books?author=Le%20Guin&author=Lem", headers={"X-Trace-Me": "yes"})
    assert response.status_code == 200
    event = response.json()
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/books", "/books", "GET")
    assert event["headers"]["X-Trace-Me"] == "yes"  # names keep the client's spelling
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["queryStringParameters"] == {"author": "Lem"}
    assert event["multiValueQueryStringParameters"] == {"author": ["Le Guin", "Lem"]}
    assert event["pathParameters"] is None and event["body"] is None
    context = event["requestContext"]
    assert (context["stage"], context["resourcePath"], context["path"]) == ("test", "/books", "/test/books")
    assert context["apiId"] == rest_api.id and context["accountId"] == ACCOUNT
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert context["extendedRequestId"] == response.headers["x-amz-apigw-id"]
    assert response.headers["X-Served-By"] == "echo, lambda"  # multiValueHeaders, both sent


def test_the_most_specific_resource_wins_and_fills_path_parameters(rest_api):
    by_id = requests.get(rest_api.url + "/books/42").json()
    assert (by_id["resource"], by_id["pathParameters"]) == ("/books/{id}", {"id": "42"})
    special = requests.get(rest_api.url + "/books/special").json()
    assert (special["resource"], special["pathParameters"]) == ("/books/special", None)
    greedy = requests.post(rest_api.url + "/files/reports/2026/q3.csv", data="a,b").json()
    assert greedy["resource"] == "/files/{proxy+}" and greedy["httpMethod"] == "POST"
    assert greedy["pathParameters"] == {"proxy": "reports/2026/q3.csv"} and greedy["body"] == "a,b"


def test_a_base64_encoded_result_reaches_the_client_as_bytes(rest_api):
    response = requests.get(rest_api.url + "/files/image")
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == b"\x89PNG binary"


def test_an_unknown_path_or_method_answers_missing_authentication_token(rest_api):
    unknown_path, unknown_method = (requests.get(rest_api.url + "/nowhere"), requests.delete(rest_api.url + "/books"))
    for response in (unknown_path, unknown_method):
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    no_stage = requests.get(rest_api.url.replace("/test/", "/prod/") + "/books")
    assert no_stage.status_code == 403 and no_stage.json() == {"message": "Forbidden"}


def test_stage_variables_reach_the_event_and_survive_a_redeploy(rest_api):
    assert requests.get(rest_api.url + "/books").json()["stageVariables"] == {"env": "dev"}
    rest_api.client.create_deployment(restApiId=rest_api.id, stageName="test")
    assert requests.get(rest_api.url + "/books").json()["stageVariables"] == {"env": "dev"}


def test_a_change_reaches_the_stage_only_once_deployed(rest_api, functions):
    rest_api.lambda_proxy("/late", "GET", functions["echo"])
    assert requests.get(rest_api.url + "/late").status_code == 403
    rest_api.client.create_deployment(restApiId=rest_api.id, stageName="test")
    assert requests.get(rest_api.url + "/late").status_code == 200


def test_mock_integration_answers_with_its_response_template(rest_api):
    response = requests.get(rest_api.url + "/mock")
    assert response.status_code == 200
    assert response.json() == {"stage": "test", "env": "dev"}
    assert response.headers["X-Mocked"] == "yes"


def test_an_options_mock_method_answers_the_cors_preflight(rest_api):
    response = requests.options(
        rest_api.url + "/mock", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"


def test_http_proxy_forwards_to_a_service_on_loopback(rest_api):
    response = requests.put(
        rest_api.url + "/backend/catalog/7?fields=title", data="{}", headers={"X-Client": "notebook"}
    )
    assert response.status_code == 201 and response.headers["X-Backend"] == "loopback"
    received = response.json()
    assert received["method"] == "PUT" and received["path"] == "/catalog/7?fields=title"
    assert received["headers"]["X-Client"] == "notebook" and received["body"] == "{}"


def test_http_integration_maps_parameters_and_the_response(rest_api):
    response = requests.get(rest_api.url + "/shelf/3")
    assert response.status_code == 200  # the backend's 201, mapped by the selection pattern
    assert response.json() == {"path": "/shelves/3", "stage": "dev"}


def test_gateway_responses_customise_api_gateway_own_errors(cloud):
    api = RestApiBuilder("apigateway-test-gateway-responses")
    api.method("/ping", "GET", {"type": "MOCK"}, responses=[{"statusCode": "200"}])
    api.client.put_gateway_response(
        restApiId=api.id,
        responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
        responseTemplates={"application/json": '{"error": $context.error.messageString}'},
    )
    api.client.create_deployment(restApiId=api.id, stageName="live")
    response = requests.get(urls.url_for(api.id, "live") + "/nowhere")
    assert response.status_code == 403
    assert response.json() == {"error": "Missing Authentication Token"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_aws_integration_maps_request_and_error_through_templates(rest_api):
    ok = requests.post(rest_api.url + "/custom", json={"book": {"title": "Dune"}})
    assert ok.status_code == 200
    assert ok.json() == {"received": {"book": {"title": "Dune"}, "fail": None, "stage": "test"}}
    missing = requests.post(rest_api.url + "/custom", json={"fail": True})
    assert missing.status_code == 404 and missing.json() == {"error": "NotFound: no such book"}


@pytest.mark.parametrize("path", ["/files/fail", "/files/malformed", "/files/sleep"])
def test_a_failed_timed_out_or_malformed_function_result_is_502(rest_api, path):
    response = requests.get(rest_api.url + path)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_an_integration_slower_than_its_timeout_is_504(rest_api):
    started = time.monotonic()
    response = requests.get(rest_api.url + "/slow/sleep")
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}
    assert time.monotonic() - started < 0.9  # timeoutInMillis=300, the function sleeps longer


def test_cognito_authorizer_needs_a_valid_token_from_the_user_pool(rest_api, user_pool):
    assert requests.get(rest_api.url + "/secure").status_code == 401
    forged = requests.get(rest_api.url + "/secure", headers={"Authorization": user_pool["id_token"][:-4] + "AAAA"})
    assert forged.status_code == 401 and forged.json() == {"message": "Unauthorized"}
    allowed = requests.get(rest_api.url + "/secure", headers={"Authorization": user_pool["id_token"]})
    assert allowed.status_code == 200
    claims = allowed.json()["requestContext"]["authorizer"]["claims"]
    assert claims["cognito:username"] == "ada" and claims["aud"] == user_pool["client_id"]


def test_lambda_authorizers_allow_deny_and_pass_their_context(rest_api):
    allowed = requests.get(rest_api.url + "/vip", headers={"Authorization": "let-me-in"})
    assert allowed.status_code == 200
    authorizer = allowed.json()["requestContext"]["authorizer"]
    # The context's number and boolean reach the integration as strings.
    assert (authorizer["principalId"], authorizer["tier"], authorizer["member"]) == ("ada", "3", "true")
    denied = requests.get(rest_api.url + "/vip", headers={"Authorization": "keep-out"})
    assert denied.status_code == 403
    assert denied.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    assert requests.get(rest_api.url + "/vip", headers={"Authorization": "who?"}).status_code == 401
    assert requests.get(rest_api.url + "/vip").status_code == 401
    # A REQUEST authorizer refuses a request without its identity source before it runs.
    assert requests.get(rest_api.url + "/show").status_code == 401
    assert requests.get(rest_api.url + "/show?ticket=let-me-in").status_code == 200


def test_rest_event_has_the_keys_of_aws_sample_event(rest_api, user_pool):
    event = requests.get(rest_api.url + "/secure", headers={"Authorization": user_pool["id_token"]}).json()
    sample = json.loads((SAMPLES / "rest_proxy_event_v1.json").read_text())
    del sample["requestContext"]["identity"]["clientCert"]  # mutual TLS only
    assert shape(event) == shape(sample)


def function_for_an_api(name: str) -> str:
    """A function of its own for one test's REST API, with the role the fixture `functions` makes; its ARN."""
    return boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/apigateway-test-role",
        Handler="app.handler",
        Code={"ZipFile": zipped(FUNCTION_CODE)},
    )["FunctionArn"]


def permit(function_name: str, statement_id: str, source_arn: str) -> None:
    boto3.client("lambda").add_permission(
        FunctionName=function_name,
        StatementId=statement_id,
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source_arn,
    )


def test_a_function_whose_policy_does_not_allow_the_api_answers_500_until_it_does(functions):
    arn = function_for_an_api("apigw-unpermitted")
    api = RestApiBuilder("apigateway-permissions")
    api.lambda_proxy("/books", "GET", arn)
    api.client.create_deployment(restApiId=api.id, stageName="prod")
    url = urls.url_for(api.id, "prod") + "/books"

    without = requests.get(url)
    permit("apigw-unpermitted", "another-api", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:another/*/GET/books")
    for_another_api = requests.get(url)
    permit("apigw-unpermitted", "this-api", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.id}/*/GET/books")
    with_permission = requests.get(url)
    assert (without.status_code, without.json()) == (500, {"message": "Internal server error"})
    assert for_another_api.status_code == 500
    assert with_permission.status_code == 200


def test_a_lambda_integration_called_with_get_answers_500_as_lambda_takes_only_post(functions):
    arn = function_for_an_api("apigw-called-with-get")
    api = RestApiBuilder("apigateway-get-integration")
    api.method("/books", "GET", {"type": "AWS_PROXY", "integrationHttpMethod": "GET", "uri": lambda_uri(arn)})
    api.client.create_deployment(restApiId=api.id, stageName="prod")
    permit("apigw-called-with-get", "this-api", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.id}/*/GET/books")
    url = urls.url_for(api.id, "prod") + "/books"

    with_get = requests.get(url)
    api.lambda_proxy("/books", "GET", arn)  # the integration again, with POST
    api.client.create_deployment(restApiId=api.id, stageName="prod")
    with_post = requests.get(url)

    assert (with_get.status_code, with_get.json()) == (500, {"message": "Internal server error"})
    assert with_post.status_code == 200


# HTTP APIs ---------------------------------------------------------------------------------------


def test_http_api_sends_payload_2_0_and_reads_the_result(http_api):
    response = requests.get(
        http_api["url"] + "/books/7?x=1&x=2", headers={"X-Trace-Me": "a", "Cookie": "theme=dark; lang=en"}
    )
    assert response.status_code == 200
    event = response.json()
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "GET /books/{id}", "/books/7")
    assert event["pathParameters"] == {"id": "7"} and event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["theme=dark", "lang=en"] and "cookie" not in event["headers"]
    assert event["headers"]["x-trace-me"] == "a" and event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["requestId"] == response.headers["apigw-requestid"]
    bare = requests.get(http_api["url"] + "/items/bare")  # a result without statusCode
    assert bare.status_code == 200 and bare.json() == {"served": "bare"}
    assert bare.headers["content-type"] == "application/json"
    assert requests.get(http_api["url"] + "/items/words").text == "plain words"


def test_http_api_named_stage_and_payload_1_0(http_api):
    event = requests.get(http_api["beta_url"] + "/books/7").json()
    assert (event["rawPath"], event["requestContext"]["stage"]) == ("/beta/books/7", "beta")
    assert event["stageVariables"] == {"env": "beta"}
    legacy = requests.get(http_api["url"] + "/legacy").json()
    assert legacy["version"] == "1.0" and legacy["resource"] == "/legacy"


def test_http_api_answers_404_for_no_route_and_500_for_a_failed_function(http_api):
    missing = requests.get(http_api["url"] + "/nowhere")
    assert missing.status_code == 404 and missing.json() == {"message": "Not Found"}
    failed = requests.get(http_api["url"] + "/items/fail")
    assert failed.status_code == 500 and failed.json() == {"message": "Internal Server Error"}
    no_stage = requests.get(http_api["url"].replace("$default", "gamma") + "/books/1")
    assert no_stage.status_code == 404


def test_jwt_authorizer_checks_token_audience_and_scopes(http_api, user_pool):
    assert requests.get(http_api["url"] + "/private/top").status_code == 401
    bearer = {"Authorization": f"Bearer {user_pool['id_token']}"}
    allowed = requests.get(http_api["url"] + "/private/top", headers=bearer)
    assert allowed.status_code == 200
    jwt = allowed.json()["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["cognito:username"] == "ada"
    scoped = requests.get(http_api["url"] + "/scoped", headers=bearer)
    assert scoped.status_code == 403 and scoped.json() == {"message": "Forbidden"}


def test_http_api_answers_cors_preflights_from_its_configuration(http_api):
    preflight = requests.options(
        http_api["url"] + "/books/7", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-max-age"] == "300"
    stranger = requests.options(
        http_api["url"] + "/books/7",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in stranger.headers
    simple = requests.get(http_api["url"] + "/books/7", headers={"Origin": SHOP_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == SHOP_ORIGIN


def test_http_api_event_has_the_keys_of_aws_sample_event(http_api, user_pool):
    event = requests.post(
        http_api["beta_url"] + "/private/top?a=1",
        data="hello",
        headers={"Authorization": user_pool["id_token"], "Cookie": "a=b", "Content-Type": "text/plain"},
    ).json()
    sample = json.loads((SAMPLES / "http_api_event_v2.json").read_text())
    del sample["requestContext"]["authentication"]  # mutual TLS only
    assert shape(event) == shape(sample)


def test_the_host_header_style_reaches_the_same_apis(rest_api, http_api, cloud):
    rest = requests.get(f"{cloud.endpoint}/test/books", headers={"Host": f"{rest_api.id}.execute-api.localhost"})
    assert rest.status_code == 200 and rest.json()["resource"] == "/books"
    host = {"Host": f"{http_api['id']}.execute-api.localhost"}
    default_stage = requests.get(f"{cloud.endpoint}/books/7", headers=host).json()
    assert default_stage["requestContext"]["stage"] == "$default"
    named = requests.get(f"{cloud.endpoint}/beta/books/7", headers=host).json()
    assert (named["requestContext"]["stage"], named["rawPath"]) == ("beta", "/beta/books/7")


# url_for -----------------------------------------------------------------------------------------


def test_url_for_gives_the_local_invoke_urls(rest_api, http_api, cloud):
    assert rest_api.url == f"{cloud.endpoint}/restapis/{rest_api.id}/test/_user_request_"
    assert http_api["url"] == f"{cloud.endpoint}/restapis/{http_api['id']}/$default/_user_request_"
    with pytest.raises(LabkitError, match="no stage 'prod'"):
        urls.url_for(rest_api.id, "prod")
    with pytest.raises(LabkitError, match="say which stage"):
        urls.url_for(rest_api.id)
    with pytest.raises(LabkitError, match="no REST API or HTTP API"):
        urls.url_for("nosuchapi1")


@pytest.mark.no_cloud
def test_url_for_gives_the_aws_invoke_urls():
    assert (
        urls.invoke_url("a1b2c3d4e5", "prod", target="aws", region="eu-west-1")
        == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod"
    )
    http_api = {"target": "aws", "region": "eu-west-1", "http_api": True}
    assert urls.invoke_url("abcdefgh", "$default", **http_api) == "https://abcdefgh.execute-api.eu-west-1.amazonaws.com"
    assert (
        urls.invoke_url("abcdefgh", "beta", **http_api) == "https://abcdefgh.execute-api.eu-west-1.amazonaws.com/beta"
    )

"""The course's payment provider (services/payment_provider): deployed as any third party would be reached,
an HTTPS API with API keys, but run as a Lambda function behind an HTTP API so that it runs on both targets.

`deploy(env)` makes its keys table, role, function and API (reusing what an earlier run made) and issues one
new key, the one "the provider gave you"; `Provider.accepts(key)` asks the provider whether a key works.
Plain boto3, so the same code runs on the local cloud and on AWS."""

import json
import secrets
from dataclasses import dataclass

import boto3
import requests

from labkit import config, packaging, urls
from labkit.awsapi import once_the_role_is_usable, pages

NAME = "payment-provider"
HANDLER_FILE = config.COURSE_ROOT / "services" / "payment_provider" / "handler.py"
ROUTES = ("GET /whoami", "POST /charges", "POST /keys", "DELETE /keys/current")
HTTP_TIMEOUT_S = 10
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class Provider:
    url: str  # the API's base URL: POST {url}/charges

    def accepts(self, key: str) -> bool:
        """Whether the provider takes this key now (GET /whoami answers 200)."""
        answer = requests.get(f"{self.url}/whoami", headers={"Authorization": f"Bearer {key}"}, timeout=HTTP_TIMEOUT_S)
        return answer.status_code == 200


def new_key() -> str:
    """A key as providers issue them: a prefix saying what it is, and 32 random hexadecimal digits."""
    return "sk_test_" + secrets.token_hex(16)


def deploy(env) -> tuple[Provider, str]:
    """The provider, deployed or found, and a key it has just issued to the Bookshop."""
    table = _keys_table(env)
    function_arn = _function(env, table)
    provider = Provider(url=_http_api(env, function_arn))
    key = new_key()
    # Issued as the provider does for a new customer: straight into its table of valid keys.
    boto3.resource("dynamodb").Table(table).put_item(Item={"api_key": key, "status": "active", "created_at": 0})
    return provider, key


def _keys_table(env) -> str:
    dynamodb, name = boto3.client("dynamodb"), env.name(f"{NAME}-keys")
    try:
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            Tags=env.tag_list(),
            KeySchema=[{"AttributeName": "api_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "api_key", "AttributeType": "S"}],
        )
    except dynamodb.exceptions.ResourceInUseException:
        pass  # made by an earlier run
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    return name


def _function(env, table: str) -> str:
    iam, lambda_, name = boto3.client("iam"), boto3.client("lambda"), env.name(NAME)
    role = env.name(f"{NAME}-role")
    try:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST), Tags=env.tag_list())
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    table_arn = f"arn:aws:dynamodb:{env.region}:{env.account_id}:table/{table}"
    logs_arn = f"arn:aws:logs:{env.region}:{env.account_id}:log-group:/aws/lambda/{name}:*"
    statements = [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            "Resource": table_arn,
        },
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": logs_arn},
    ]
    iam.put_role_policy(
        RoleName=role,
        PolicyName="keys-and-logs",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    role_arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    env.log_group(f"/aws/lambda/{name}")
    code = packaging.zip_bytes(HANDLER_FILE)
    try:
        once_the_role_is_usable(
            lambda: lambda_.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Handler="handler.handler",
                Role=role_arn,
                Code={"ZipFile": code},
                Timeout=10,
                MemorySize=256,
                Environment={"Variables": {"KEYS_TABLE": table}},
                Tags=env.tags,
            )
        )
    except lambda_.exceptions.ResourceConflictException:
        pass  # deployed by an earlier run: the provider's code does not change
    lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
    return lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def _api_id(env) -> str | None:
    v2 = boto3.client("apigatewayv2")
    return next((api["ApiId"] for api in pages(v2, "get_apis", "Items") if api["Name"] == env.name(NAME)), None)


def _http_api(env, function_arn: str) -> str:
    v2 = boto3.client("apigatewayv2")
    api = _api_id(env)
    if api is None:
        api = v2.create_api(Name=env.name(NAME), ProtocolType="HTTP", Tags=env.tags)["ApiId"]
        integration = v2.create_integration(
            ApiId=api, IntegrationType="AWS_PROXY", IntegrationUri=function_arn, PayloadFormatVersion="2.0"
        )["IntegrationId"]
        for route in ROUTES:
            v2.create_route(ApiId=api, RouteKey=route, Target=f"integrations/{integration}")
        v2.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
        boto3.client("lambda").add_permission(
            FunctionName=function_arn,
            StatementId="provider-api",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{env.region}:{env.account_id}:{api}/*",
        )
    return urls.url_for(api)

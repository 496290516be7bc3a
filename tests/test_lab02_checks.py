"""Lab 02's checks against wrong answers: each failure says what was expected and what was found.

The handler is the solution notebook's own (its %%writefile cell) and passes; variants of it with one
mistake each fail."""

import json

import boto3
import pytest
from solution_files import line_of, written_file

from labkit import labs, packaging

REFERENCE_HANDLER = written_file("02_the_catalog_service.ipynb", "handler_file")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def result(check_id):
    return next(r for r in labs.require("02").run() if r.id == check_id)


@pytest.fixture
def books_table(cloud):
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="books",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = boto3.resource("dynamodb").Table("books")
    authors = ["Sam Newman", "Martin Fowler", "Eric Evans"]
    for number in range(1, 13):
        table.put_item(
            Item={
                "id": str(number),
                "title": f"Book {number}",
                "author": authors[number % 3],
                "price_cents": 1000 + number,
                "stock": 5,
            }
        )
    yield dynamodb.describe_table(TableName="books")["Table"]["TableArn"]
    dynamodb.delete_table(TableName="books")


@pytest.fixture
def role(cloud):
    iam = boto3.client("iam")
    arn = iam.create_role(RoleName="catalog-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    yield arn
    for name in iam.list_role_policies(RoleName="catalog-role")["PolicyNames"]:
        iam.delete_role_policy(RoleName="catalog-role", PolicyName=name)
    iam.delete_role(RoleName="catalog-role")


@pytest.fixture
def deploy(books_table, role, tmp_path):
    client = boto3.client("lambda")

    def deploy(source: str):
        (tmp_path / "handler.py").write_text(source)
        # What the solution grants (IAM is enforced for the function); a test may replace it with allow().
        allow(role, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"], books_table_arn())
        client.create_function(
            FunctionName="catalog",
            Runtime="python3.12",
            Handler="handler.handler",
            Role=role,
            Code={"ZipFile": packaging.zip_bytes(tmp_path / "handler.py")},
            Timeout=10,
            Environment={"Variables": {"BOOKS_TABLE": "books"}},
        )

    yield deploy
    client.delete_function(FunctionName="catalog")
    # Its log group, made untagged by Lambda's first invocation: teardown would never remove it.
    logs = boto3.client("logs")
    try:
        logs.delete_log_group(logGroupName="/aws/lambda/catalog")
    except logs.exceptions.ResourceNotFoundException:
        pass


def books_table_arn() -> str:
    return boto3.client("dynamodb").describe_table(TableName="books")["Table"]["TableArn"]


def allow(role_arn, actions, resource):
    boto3.client("iam").put_role_policy(
        RoleName="catalog-role",
        PolicyName="catalog-access",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}
        ),
    )


def test_the_reference_handler_passes(deploy):
    deploy(REFERENCE_HANDLER)
    assert result("function").status == "passed"


def test_a_handler_answering_200_for_a_missing_book_is_explained(deploy):
    deploy(REFERENCE_HANDLER.replace("return respond(404,", "return respond(200,"))
    found = result("function")
    assert found.status == "failed"
    assert found.message == "expected 404 for GET /books/no-such-book, found 200"


def test_a_body_that_is_not_a_string_is_explained(deploy):
    deploy(REFERENCE_HANDLER.replace('"body": json.dumps(body, default=_plain_number)', '"body": body'))
    found = result("function")
    assert found.status == "failed"
    assert found.message.startswith(
        "expected GET /books to return a dict with an int statusCode and a string "
        "body (API Gateway answers 502 otherwise), found {'statusCode': 200"
    )


def test_a_handler_that_raises_is_summarised_with_its_error_and_line(deploy):
    raising = REFERENCE_HANDLER.replace('event["httpMethod"]', 'event["method"]')
    deploy(raising)
    line = line_of(raising, 'event["method"]')
    found = result("function")
    assert (found.status, found.message) == (
        "failed",
        f"for GET /books, your handler raised KeyError: 'method' (handler.py, line {line})",
    )


def test_a_role_allowed_every_dynamodb_action_is_not_least_privilege(books_table, role):
    allow(role, ["dynamodb:*", "logs:CreateLogStream", "logs:PutLogEvents"], "*")
    found = result("role")
    assert found.status == "failed"
    assert found.message == (
        "expected exactly the DynamoDB actions ['dynamodb:GetItem', 'dynamodb:PutItem', "
        "'dynamodb:Scan'], found ['dynamodb:*']"
    )


def test_a_role_on_every_table_is_not_least_privilege(books_table, role):
    allow(role, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"], "*")
    found = result("role")
    assert found.status == "failed"
    assert found.message == f"expected the DynamoDB actions on {books_table} only, found ['*']"

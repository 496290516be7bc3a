"""IAM for workloads: a function calls AWS with its execution role's temporary credentials, and the local
cloud refuses what the role's policies do not allow, with AWS's error and message. The learner's own
credentials stay an administrator's."""

import json
import urllib.request
import uuid

import boto3
import pytest
from test_dataplane_lambda import call, clients_for, deploy, make_table

ACCOUNT = "123456789012"
CALL_AWS = """
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    client = boto3.client(event["service"])
    try:
        getattr(client, event["operation"])(**event["params"])
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
    return {"code": None}
"""
CREDENTIALS = """
import os

def handler(event, context):
    return {name: os.environ.get(name, "") for name in ("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")}
"""


@pytest.fixture(scope="module")
def aws(cloud):
    return clients_for(boto3.Session())


def grant(aws, *statements) -> str:
    """The role's name, with these statements as its one inline policy."""
    name = aws["role"].rsplit("/", 1)[-1]
    aws["iam"].put_role_policy(
        RoleName=name,
        PolicyName="under-test",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )
    return name


def put_item(table: str) -> dict:
    return {
        "service": "dynamodb",
        "operation": "put_item",
        "params": {"TableName": table, "Item": {"id": {"S": "b1"}}},
    }


def test_a_function_gets_temporary_credentials_of_its_role(aws):
    name = deploy(aws, CREDENTIALS)
    _, found = call(aws, name)
    assert found["AWS_ACCESS_KEY_ID"].startswith("ASIA") and len(found["AWS_ACCESS_KEY_ID"]) == 20
    assert found["AWS_SESSION_TOKEN"]


def test_the_role_allows_its_table_and_refuses_another_with_aws_message(aws):
    books, archive = make_table(aws), make_table(aws)
    role = grant(
        aws,
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": f"arn:aws:dynamodb:*:*:table/{books}"},
    )
    name = deploy(aws, CALL_AWS)
    _, allowed = call(aws, name, put_item(books))
    _, refused = call(aws, name, put_item(archive))
    assert allowed == {"code": None}
    assert aws["dynamodb"].get_item(TableName=books, Key={"id": {"S": "b1"}})["Item"]
    assert refused == {
        "code": "AccessDeniedException",
        "message": f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name} is not authorized to perform: "
        f"dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{archive} because no "
        f"identity-based policy allows the dynamodb:PutItem action",
    }
    assert "Item" not in aws["dynamodb"].get_item(TableName=archive, Key={"id": {"S": "b1"}})


def test_an_explicit_deny_is_named_as_such(aws):
    table = make_table(aws)
    role = grant(
        aws,
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": "*"},
    )
    name = deploy(aws, CALL_AWS)
    _, refused = call(aws, name, put_item(table))
    assert refused["message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name} is not authorized to perform: dynamodb:PutItem "
        f"on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table} with an explicit deny in an "
        f"identity-based policy"
    )


def test_sqs_and_sns_refuse_in_their_own_words(aws):
    queue_url = aws["sqs"].create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    topic_arn = boto3.client("sns").create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    grant(aws, {"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
    name = deploy(aws, CALL_AWS)
    _, sqs = call(
        aws,
        name,
        {"service": "sqs", "operation": "send_message", "params": {"QueueUrl": queue_url, "MessageBody": "x"}},
    )
    _, sns = call(
        aws, name, {"service": "sns", "operation": "publish", "params": {"TopicArn": topic_arn, "Message": "x"}}
    )
    assert sqs["code"] == "AccessDenied" and "sqs:SendMessage on resource: arn:aws:sqs:" in sqs["message"]
    assert sns["code"] == "AuthorizationError" and f"sns:Publish on resource: {topic_arn}" in sns["message"]
    assert "Messages" not in aws["sqs"].receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)


def test_the_learners_own_credentials_are_not_limited_by_any_role(aws):
    table = make_table(aws)
    grant(aws, {"Effect": "Deny", "Action": "*", "Resource": "*"})
    aws["dynamodb"].put_item(TableName=table, Item={"id": {"S": "b1"}})
    assert aws["dynamodb"].get_item(TableName=table, Key={"id": {"S": "b1"}})["Item"]


def test_each_decision_is_recorded_with_its_principal_action_and_resource(aws, cloud):
    table = make_table(aws)
    role = grant(aws, {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
    name = deploy(aws, CALL_AWS)
    call(aws, name, put_item(table))
    with urllib.request.urlopen(f"{cloud.endpoint}/_labkit/iam/decisions", timeout=5) as response:
        decisions = json.load(response)["Decisions"]
    assert {
        "Principal": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name}",
        "Action": "dynamodb:PutItem",
        "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}",
        "Decision": "implicit deny",
    } in [{key: d[key] for key in ("Principal", "Action", "Resource", "Decision")} for d in decisions]


def test_a_condition_on_the_kms_encryption_context_is_evaluated(aws):
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    grant(
        aws,
        {
            "Effect": "Allow",
            "Action": "kms:Encrypt",
            "Resource": key,
            "Condition": {"StringEquals": {"kms:EncryptionContext:service": "payments"}},
        },
    )
    name = deploy(aws, CALL_AWS)

    def encrypt(context: dict) -> dict:
        params = {"KeyId": key, "Plaintext": "card", "EncryptionContext": context}
        return call(aws, name, {"service": "kms", "operation": "encrypt", "params": params})[1]

    assert encrypt({"service": "payments"}) == {"code": None}
    refused = encrypt({"service": "orders"})
    assert refused["code"] == "AccessDeniedException" and f"kms:Encrypt on resource: {key}" in refused["message"]


def test_a_function_is_its_assumed_role_to_sts(aws):
    role = grant(aws, {"Effect": "Deny", "Action": "*", "Resource": "*"})  # GetCallerIdentity needs no permission
    source = (
        "import boto3\n\ndef handler(event, context):\n    return boto3.client('sts').get_caller_identity()['Arn']\n"
    )
    name = deploy(aws, source)
    assert call(aws, name)[1] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name}"

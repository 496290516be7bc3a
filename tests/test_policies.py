"""Policy evaluation (labkit.dataplane.core.policies) as IAM does it: explicit deny wins, then allow, else
implicit deny; wildcards, NotAction/NotResource, principals of resource policies, and the condition
operators the labs use."""

import pytest

from labkit.dataplane.core.policies import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, evaluate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/books"
pytestmark = pytest.mark.no_cloud


def policy(*statements):
    return [{"Version": "2012-10-17", "Statement": list(statements)}]


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_allowed_is_an_implicit_deny():
    assert evaluate([], Request("dynamodb:PutItem", TABLE, {})) == IMPLICIT_DENY


def test_an_action_on_its_resource_is_allowed_and_another_table_is_not():
    documents = policy(allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE))
    assert evaluate(documents, Request("dynamodb:PutItem", TABLE, {})) == ALLOWED
    assert evaluate(documents, Request("dynamodb:PutItem", TABLE + "-archive", {})) == IMPLICIT_DENY
    assert evaluate(documents, Request("dynamodb:UpdateItem", TABLE, {})) == IMPLICIT_DENY


def test_actions_match_without_regard_to_case_and_with_wildcards():
    documents = policy(allow("DynamoDB:Get*", "arn:aws:dynamodb:*:*:table/b?oks"))
    assert evaluate(documents, Request("dynamodb:GetItem", TABLE, {})) == ALLOWED
    assert evaluate(documents, Request("dynamodb:Query", TABLE, {})) == IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow():
    documents = policy(allow("dynamodb:*"), {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"})
    assert evaluate(documents, Request("dynamodb:DeleteItem", TABLE, {})) == EXPLICIT_DENY
    assert evaluate(documents, Request("dynamodb:PutItem", TABLE, {})) == ALLOWED


def test_not_action_and_not_resource_allow_everything_else():
    documents = policy(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::public/*"},
    )
    assert evaluate(documents, Request("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q", {})) == ALLOWED
    assert evaluate(documents, Request("iam:CreateRole", "*", {})) == IMPLICIT_DENY
    assert evaluate(documents, Request("s3:GetObject", "arn:aws:s3:::public/a.txt", {})) == ALLOWED
    assert evaluate(documents, Request("s3:GetObject", "arn:aws:s3:::private/a.txt", {})) == EXPLICIT_DENY


def test_conditions_on_the_source_arn_and_the_encryption_context():
    documents = policy(
        allow(
            "kms:Decrypt",
            Condition={
                "ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:orders"},
                "StringEquals": {"kms:EncryptionContext:service": "payments"},
            },
        )
    )
    both = {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:orders", "kms:EncryptionContext:service": "payments"}
    assert evaluate(documents, Request("kms:Decrypt", "*", both)) == ALLOWED
    wrong = {**both, "kms:EncryptionContext:service": "orders"}
    assert evaluate(documents, Request("kms:Decrypt", "*", wrong)) == IMPLICIT_DENY
    assert evaluate(documents, Request("kms:Decrypt", "*", {})) == IMPLICIT_DENY


def test_an_unknown_condition_operator_never_grants():
    documents = policy(allow("sqs:*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}))
    assert evaluate(documents, Request("sqs:SendMessage", "*", {"aws:CurrentTime": "2026-12-04T00:00:00Z"})) == (
        IMPLICIT_DENY
    )


def test_a_resource_policy_allows_only_the_principal_and_source_it_names():
    function = "arn:aws:lambda:us-east-1:123456789012:function:catalog"
    documents = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": function,
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/*"}},
        }
    )
    api = {"aws:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/books"}
    gateway = {"Service": "apigateway.amazonaws.com"}
    assert evaluate(documents, Request("lambda:InvokeFunction", function, api, gateway)) == ALLOWED
    other_api = {"aws:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:zzz999/prod/GET/books"}
    assert evaluate(documents, Request("lambda:InvokeFunction", function, other_api, gateway)) == IMPLICIT_DENY
    sns = {"Service": "sns.amazonaws.com"}
    assert evaluate(documents, Request("lambda:InvokeFunction", function, api, sns)) == IMPLICIT_DENY

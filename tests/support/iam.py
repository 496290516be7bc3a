"""Granting a test's role what its function calls: IAM is enforced for workloads on the local cloud."""

import json

import boto3

# What Lambda's pollers call with a function's role to read an SQS event source.
QUEUE_READER = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def grant(role: str, actions: list[str], resource: str = "*", policy_name: str = "granted-by-the-test") -> None:
    """Give the role (its name or ARN) an inline policy allowing the actions on the resource."""
    boto3.client("iam").put_role_policy(
        RoleName=role.rsplit("/", 1)[-1],
        PolicyName=policy_name,
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}
        ),
    )

"""Secrets Manager rotation on the local cloud runs the learner's rotation function as AWS runs it: in the
background, step by step, with AWS's event, on behalf of secretsmanager.amazonaws.com; the function moves
the labels, and a failed step leaves AWSPENDING where it is, so the next rotation is refused; a schedule
rotates again on the local clock."""

import json
import uuid

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from private_cloud import pointed_at_a_private_cloud
from support import grant, wait_for
from test_dataplane_lambda import call, clients_for, deploy, log_messages

from labkit import course

# The shape of AWS's rotation function template (SecretsManagerRotationTemplate), for a provider's API key.
ROTATION = """
import json
import os
import time

import boto3

service = boto3.client("secretsmanager")


def handler(event, context):
    print("event " + json.dumps(event))
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    metadata = service.describe_secret(SecretId=arn)
    if not metadata["RotationEnabled"]:
        raise ValueError("Secret %s is not enabled for rotation" % arn)
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        raise ValueError("Secret version %s has no stage for rotation of secret %s." % (token, arn))
    if "AWSCURRENT" in versions[token]:
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))
    if step == "createSecret":
        time.sleep(float(os.environ.get("CREATE_TAKES_S", "0")))
        service.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
        try:
            service.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        except service.exceptions.ResourceNotFoundException:
            service.put_secret_value(
                SecretId=arn, ClientRequestToken=token, SecretString="key-" + token[:8], VersionStages=["AWSPENDING"]
            )
    elif step == "testSecret" and os.environ.get("PROVIDER_REFUSES"):
        raise ValueError("the provider refused the new key")
    elif step == "finishSecret":
        current = next(version for version, stages in versions.items() if "AWSCURRENT" in stages)
        service.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
        )
"""
EVERY_DAY = {"AutomaticallyAfterDays": 1}


@pytest.fixture
def aws(cloud):
    return clients_for(boto3.Session())


def rotation_function(aws, **environment) -> str:
    """A rotation function that Secrets Manager may invoke, whose role may change secrets: its ARN."""
    grant(aws["role"], ["secretsmanager:*"])
    name = deploy(aws, ROTATION, Environment={"Variables": environment}, Timeout=10)
    aws["lambda"].add_permission(
        FunctionName=name,
        StatementId="SecretsManagerAccess",
        Action="lambda:InvokeFunction",
        Principal="secretsmanager.amazonaws.com",
    )
    return aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def new_secret(aws) -> tuple[str, str]:
    """(the secret's ARN, the id of its first version)."""
    found = aws["secretsmanager"].create_secret(Name=f"provider-key-{uuid.uuid4().hex[:6]}", SecretString="key-0")
    return found["ARN"], found["VersionId"]


def stages(aws, secret: str) -> dict:
    return aws["secretsmanager"].describe_secret(SecretId=secret)["VersionIdsToStages"]


def events(aws, function: str) -> list[dict]:
    name = function.rsplit(":", 1)[-1]
    return [json.loads(m.split(" ", 1)[1]) for m in log_messages(aws, name) if m.startswith("event ")]


def rotations(cloud, secret: str) -> list[dict]:
    found = requests.get(f"{cloud.endpoint}/_labkit/secretsmanager/rotations", timeout=5).json()["Rotations"]
    return [r for r in found if r["SecretId"] == secret]


def test_a_rotation_runs_the_four_steps_with_awss_event_and_moves_the_labels_as_the_function_does(aws, cloud):
    function = rotation_function(aws)
    secret, first = new_secret(aws)

    started = aws["secretsmanager"].rotate_secret(SecretId=secret, RotationLambdaARN=function, RotationRules=EVERY_DAY)
    token = started["VersionId"]
    assert token != first and started["ARN"] == secret

    wait_for(lambda: "AWSCURRENT" in stages(aws, secret).get(token, []), 20, "finishSecret to move AWSCURRENT")
    assert stages(aws, secret)[first] == ["AWSPREVIOUS"]
    assert aws["secretsmanager"].get_secret_value(SecretId=secret)["SecretString"] == f"key-{token[:8]}"
    previous = aws["secretsmanager"].get_secret_value(SecretId=secret, VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "key-0"
    steps = wait_for(lambda: len(events(aws, function)) == 4 and events(aws, function), 5, "four invocations")
    rotation_token = steps[0]["RotationToken"]
    assert steps == [
        {"SecretId": secret, "ClientRequestToken": token, "RotationToken": rotation_token, "Step": step}
        for step in ("createSecret", "setSecret", "testSecret", "finishSecret")
    ]
    outcome = wait_for(lambda: rotations(cloud, secret), 5, "the rotation's outcome")
    assert [(r["Outcome"], r["VersionId"]) for r in outcome] == [("RotationSucceeded", token)]
    assert aws["secretsmanager"].describe_secret(SecretId=secret)["LastRotatedDate"]


def test_rotate_secret_answers_before_the_function_has_finished(aws):
    function = rotation_function(aws, CREATE_TAKES_S="2")
    secret, first = new_secret(aws)
    token = aws["secretsmanager"].rotate_secret(SecretId=secret, RotationLambdaARN=function, RotationRules=EVERY_DAY)[
        "VersionId"
    ]
    assert stages(aws, secret)[token] == ["AWSPENDING"]  # the function's first step takes 2 s
    assert aws["secretsmanager"].get_secret_value(SecretId=secret)["SecretString"] == "key-0"
    wait_for(lambda: "AWSCURRENT" in stages(aws, secret).get(token, []), 20, "the rotation to finish")


def test_a_failed_step_leaves_awspending_on_the_new_version_and_the_next_rotation_is_refused(aws, cloud):
    function = rotation_function(aws, PROVIDER_REFUSES="yes")
    secret, first = new_secret(aws)

    token = aws["secretsmanager"].rotate_secret(SecretId=secret, RotationLambdaARN=function, RotationRules=EVERY_DAY)[
        "VersionId"
    ]
    failed = wait_for(lambda: rotations(cloud, secret), 20, "the rotation's outcome")
    assert [(r["Outcome"], r["Step"], r["Error"]) for r in failed] == [
        ("RotationFailed", "testSecret", "ValueError: the provider refused the new key")
    ]
    assert [e["Step"] for e in events(aws, function)] == ["createSecret", "setSecret", "testSecret"]
    assert stages(aws, secret) == {first: ["AWSCURRENT"], token: ["AWSPENDING"]}
    assert aws["secretsmanager"].get_secret_value(SecretId=secret)["SecretString"] == "key-0"

    with pytest.raises(ClientError) as refused:
        aws["secretsmanager"].rotate_secret(SecretId=secret)
    assert refused.value.response["Error"] == {
        "Code": "InvalidRequestException",
        "Message": "A previous rotation isn't complete. That rotation will be reattempted.",
    }


def test_once_awspending_is_removed_from_a_failed_rotations_version_a_new_rotation_starts(aws, cloud):
    function = rotation_function(aws, PROVIDER_REFUSES="yes")
    secret, first = new_secret(aws)
    failed = aws["secretsmanager"].rotate_secret(SecretId=secret, RotationLambdaARN=function, RotationRules=EVERY_DAY)
    wait_for(lambda: rotations(cloud, secret), 20, "the rotation's outcome")

    aws["secretsmanager"].update_secret_version_stage(
        SecretId=secret, VersionStage="AWSPENDING", RemoveFromVersionId=failed["VersionId"]
    )
    again = aws["secretsmanager"].rotate_secret(SecretId=secret)["VersionId"]
    assert again != failed["VersionId"]
    assert stages(aws, secret)[first] == ["AWSCURRENT"]


def test_a_function_whose_policy_does_not_allow_secrets_manager_is_refused_and_nothing_changes(aws):
    grant(aws["role"], ["secretsmanager:*"])
    name = deploy(aws, ROTATION)
    function = aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    secret, first = new_secret(aws)

    with pytest.raises(ClientError) as refused:
        aws["secretsmanager"].rotate_secret(SecretId=secret, RotationLambdaARN=function, RotationRules=EVERY_DAY)
    assert refused.value.response["Error"] == {
        "Code": "AccessDeniedException",
        "Message": "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy "
        "grants access to the principal secretsmanager.amazonaws.com.",
    }
    assert stages(aws, secret) == {first: ["AWSCURRENT"]}
    assert "RotationLambdaARN" not in aws["secretsmanager"].describe_secret(SecretId=secret)


def test_rotate_secret_without_a_function_rotates_with_the_one_configured(aws):
    function = rotation_function(aws)
    secret, _ = new_secret(aws)
    first = aws["secretsmanager"].rotate_secret(SecretId=secret, RotationLambdaARN=function, RotationRules=EVERY_DAY)
    wait_for(lambda: "AWSCURRENT" in stages(aws, secret).get(first["VersionId"], []), 20, "the first rotation")

    second = aws["secretsmanager"].rotate_secret(SecretId=secret)["VersionId"]
    wait_for(lambda: "AWSCURRENT" in stages(aws, secret).get(second, []), 20, "the second rotation")
    assert aws["secretsmanager"].describe_secret(SecretId=secret)["RotationLambdaARN"] == function
    assert aws["secretsmanager"].get_secret_value(SecretId=secret)["SecretString"] == f"key-{second[:8]}"


def test_rotate_secret_without_any_function_is_refused(aws):
    secret, first = new_secret(aws)
    with pytest.raises(ClientError) as refused:
        aws["secretsmanager"].rotate_secret(SecretId=secret)
    assert refused.value.response["Error"] == {
        "Code": "InvalidRequestException",
        "Message": "No Lambda rotation function ARN is associated with this secret.",
    }
    assert stages(aws, secret) == {first: ["AWSCURRENT"]}


def test_moving_awscurrent_back_by_hand_is_what_get_secret_value_answers(aws):
    secret, first = new_secret(aws)
    second = aws["secretsmanager"].put_secret_value(SecretId=secret, SecretString="key-1")["VersionId"]
    aws["secretsmanager"].update_secret_version_stage(
        SecretId=secret, VersionStage="AWSCURRENT", MoveToVersionId=first, RemoveFromVersionId=second
    )
    assert aws["secretsmanager"].get_secret_value(SecretId=secret)["SecretString"] == "key-0"
    assert stages(aws, secret) == {first: ["AWSCURRENT"], second: ["AWSPREVIOUS"]}


def test_rotation_configured_to_wait_tests_the_function_with_testsecret_only_and_leaves_no_pending_version(aws):
    function = rotation_function(aws)
    secret, first = new_secret(aws)
    token = aws["secretsmanager"].rotate_secret(
        SecretId=secret, RotationLambdaARN=function, RotationRules=EVERY_DAY, RotateImmediately=False
    )["VersionId"]
    wait_for(lambda: token not in stages(aws, secret), 20, "the test's pending version to go")
    assert [e["Step"] for e in events(aws, function)] == ["testSecret"]
    assert stages(aws, secret) == {first: ["AWSCURRENT"]}
    assert aws["secretsmanager"].describe_secret(SecretId=secret)["RotationEnabled"] is True


def test_a_rotation_schedule_rotates_again_on_the_local_clock(tmp_path, monkeypatch):
    # A cloud of its own whose clock passes an AWS hour in a local second: rate(4 hours) is 4 seconds.
    with pointed_at_a_private_cloud(tmp_path / "state"):
        monkeypatch.setenv("LABKIT_CLOCK_SPEEDUP", "3600")
        course.start(quiet=True)
        aws = clients_for(boto3.Session())
        function = rotation_function(aws)
        secret, first = new_secret(aws)
        aws["secretsmanager"].rotate_secret(
            SecretId=secret,
            RotationLambdaARN=function,
            RotationRules={"ScheduleExpression": "rate(4 hours)"},
            RotateImmediately=False,
        )

        def current() -> str:
            return next(v for v, labels in stages(aws, secret).items() if "AWSCURRENT" in labels)

        scheduled = wait_for(lambda: current() != first and current(), 15, "the first scheduled rotation")
        wait_for(lambda: current() not in (first, scheduled), 15, "the second scheduled rotation")
        steps = [e["Step"] for e in events(aws, function)]
        assert steps[:5] == ["testSecret", "createSecret", "setSecret", "testSecret", "finishSecret"]


READ_SECRET = """
import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    secrets = boto3.client("secretsmanager")
    try:
        if "new" in event:
            secrets.put_secret_value(SecretId=event["secret"], SecretString=event["new"])
        return {"value": secrets.get_secret_value(SecretId=event["secret"])["SecretString"]}
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
"""


def test_a_secret_under_a_customer_managed_key_is_read_with_kms_decrypt_and_written_with_generate_data_key(aws):
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]  # its default policy trusts the account
    secret = aws["secretsmanager"].create_secret(Name=f"card-{uuid.uuid4().hex[:6]}", SecretString="k", KmsKeyId=key)
    name = deploy(aws, READ_SECRET)
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    read = {"Effect": "Allow", "Action": actions, "Resource": secret["ARN"]}
    aws["iam"].put_role_policy(
        RoleName=aws["role"].rsplit("/", 1)[-1],
        PolicyName="reader",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [read]}),
    )
    assert call(aws, name, {"secret": secret["ARN"]})[1] == {
        "code": "AccessDeniedException",
        "message": "Access to KMS is not allowed",
    }
    decrypt = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
    }
    aws["iam"].put_role_policy(
        RoleName=aws["role"].rsplit("/", 1)[-1],
        PolicyName="reader",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [read, decrypt]}),
    )
    assert call(aws, name, {"secret": secret["ARN"]})[1] == {"value": "k"}
    assert call(aws, name, {"secret": secret["ARN"], "new": "k2"})[1] == {
        "code": "AccessDeniedException",
        "message": "Access to KMS is not allowed",
    }  # a new version is sealed with a data key: kms:GenerateDataKey

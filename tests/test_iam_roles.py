"""Lambda assumes a function's role as AWS does: only a role whose trust policy names lambda.amazonaws.com,
and only once IAM has propagated it (a few seconds after it was made); until then CreateFunction fails with
AWS's message, and code that creates a role and then a function retries (labkit.awsapi.once_the_role_is_usable)."""

import io
import json
import time
import urllib.request
import zipfile

import boto3
import pytest
from private_cloud import private_cloud
from support import wait_for

from labkit import awsapi

PROPAGATION_S = 2.0


def health(endpoint: str) -> dict:
    with urllib.request.urlopen(f"{endpoint}/_labkit/health", timeout=5) as response:
        return json.load(response)


def trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def code() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    return archive.getvalue()


@pytest.fixture(scope="module")
def clients():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LABKIT_ROLE_PROPAGATION_S", str(PROPAGATION_S))
        with private_cloud("labkit-roles-") as env:
            # Once the cloud has loaded its services: a first call can wait for that, longer than the window.
            wait_for(lambda: health(env.endpoint)["data_plane"]["status"] != "verifying", 60, "the warm-up")
            yield boto3.client("iam"), boto3.client("lambda")


def create(lambda_, name: str, role_arn: str):
    return lambda_.create_function(
        FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="app.handler", Code={"ZipFile": code()}
    )


def test_a_role_made_a_moment_ago_is_refused_then_usable_once_propagated(clients):
    iam, lambda_ = clients
    made = time.monotonic()  # before the call: the role is made after this, and usable a window after that
    role = iam.create_role(RoleName="fresh", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))["Role"]["Arn"]
    with pytest.raises(lambda_.exceptions.InvalidParameterValueException) as refused:
        create(lambda_, "too-soon", role)
    awsapi.once_the_role_is_usable(lambda: create(lambda_, "in-time", role), interval_s=0.2)
    assert (
        refused.value.response["Error"]["Message"] == "The role defined for the function cannot be assumed by Lambda."
    )
    assert time.monotonic() - made >= PROPAGATION_S * 0.9
    assert lambda_.invoke(FunctionName="in-time")["Payload"].read() == b'"ok"'


def test_a_role_lambda_may_not_assume_is_refused_for_good(clients):
    iam, lambda_ = clients
    role = iam.create_role(RoleName="for-tasks", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com"))["Role"][
        "Arn"
    ]
    with pytest.raises(lambda_.exceptions.InvalidParameterValueException, match="cannot be assumed by Lambda"):
        awsapi.once_the_role_is_usable(lambda: create(lambda_, "wrong-trust", role), timeout_s=PROPAGATION_S + 1)
    usable = iam.create_role(RoleName="usable", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))["Role"]["Arn"]
    awsapi.once_the_role_is_usable(lambda: create(lambda_, "right-trust", usable), interval_s=0.2)
    with pytest.raises(lambda_.exceptions.InvalidParameterValueException, match="cannot be assumed by Lambda"):
        lambda_.update_function_configuration(FunctionName="right-trust", Role=role)
    assert lambda_.get_function_configuration(FunctionName="right-trust")["Role"] == usable

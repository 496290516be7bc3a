"""What the delivery tests (CodeBuild, CodePipeline) share: service roles, a source zip in a versioned
bucket, and waiting for a build or an execution to end."""

import io
import json
import uuid
import zipfile

import boto3

from support.waiting import wait_for


def role(service: str, actions: list[str]) -> str:
    """A role the service may assume, allowed the actions on every resource; returns its ARN."""
    iam = boto3.client("iam")
    name = f"{service.split('.')[0]}-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="delivery", PolicyDocument=json.dumps(policy))
    return arn


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def versioned_bucket(prefix: str) -> str:
    s3 = boto3.client("s3")
    bucket = f"{prefix}-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def finished_build(build_id: str, timeout: float = 60) -> dict:
    codebuild = boto3.client("codebuild")

    def done():
        build = codebuild.batch_get_builds(ids=[build_id])["builds"][0]
        return build if build["buildComplete"] else None

    return wait_for(done, timeout, f"build {build_id} to end")


def phases(build: dict) -> list[tuple[str, str | None]]:
    return [(phase["phaseType"], phase.get("phaseStatus")) for phase in build["phases"]]


def build_log(build: dict) -> list[str]:
    logs = boto3.client("logs")
    events = logs.get_log_events(logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"])
    return [event["message"] for event in events["events"]]

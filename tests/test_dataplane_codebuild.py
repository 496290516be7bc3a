"""CodeBuild on the local cloud runs the buildspec: its phases' commands as local processes in a working
copy of the source, the output in CloudWatch Logs, the artifact zipped to S3, and the build reported with
AWS's phases; a buildspec whose tests fail fails the build at BUILD, and POST_BUILD still runs."""

import io
import re
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from support import wait_for
from support.delivery import build_log, finished_build, phases, role, versioned_bucket, zipped

TESTED_APP = {
    "app.py": "def price(book):\n    return {'dune': 12}[book]\n",
    "test_app.py": "from app import price\n\n\ndef test_dune_costs_12():\n    assert price('dune') == 12\n",
}
BUILDSPEC = """
version: 0.2
env:
  variables:
    STAGE: test
phases:
  install:
    commands:
      - echo installing for $STAGE
  build:
    commands:
      - mkdir -p dist && cd dist && echo built > marker.txt
      - pwd
      - python -m pytest -q -p no:cacheprovider ..
    finally:
      - echo build finally ran
  post_build:
    commands:
      - echo succeeding=$CODEBUILD_BUILD_SUCCEEDING
artifacts:
  files:
    - app.py
    - dist/**/*
"""


@pytest.fixture(scope="module")
def project(cloud):
    """A project whose source is an S3 object and whose artifact is zipped to S3."""
    codebuild, s3 = boto3.client("codebuild"), boto3.client("s3")
    bucket = versioned_bucket("builds")
    service_role = role("codebuild.amazonaws.com", ["s3:*", "logs:*"])
    name = f"catalog-{uuid.uuid4().hex[:6]}"
    codebuild.create_project(
        name=name,
        source={"type": "S3", "location": f"{bucket}/source.zip"},
        artifacts={"type": "S3", "location": bucket, "name": "out.zip", "packaging": "ZIP"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=service_role,
    )

    def with_source(files: dict) -> str:
        s3.put_object(Bucket=bucket, Key="source.zip", Body=zipped(files))
        return name

    with_source.bucket = bucket
    return with_source


def test_a_build_runs_its_buildspec_and_reports_every_phase_succeeded(project):
    name = project({**TESTED_APP, "buildspec.yml": BUILDSPEC})

    started = boto3.client("codebuild").start_build(projectName=name)["build"]
    build = finished_build(started["id"])

    assert started["buildStatus"] == "IN_PROGRESS"
    assert build["buildStatus"] == "SUCCEEDED"
    assert build["currentPhase"] == "COMPLETED"
    assert phases(build) == [
        ("SUBMITTED", "SUCCEEDED"),
        ("QUEUED", "SUCCEEDED"),
        ("PROVISIONING", "SUCCEEDED"),
        ("DOWNLOAD_SOURCE", "SUCCEEDED"),
        ("INSTALL", "SUCCEEDED"),
        ("PRE_BUILD", "SUCCEEDED"),
        ("BUILD", "SUCCEEDED"),
        ("POST_BUILD", "SUCCEEDED"),
        ("UPLOAD_ARTIFACTS", "SUCCEEDED"),
        ("FINALIZING", "SUCCEEDED"),
        ("COMPLETED", None),
    ]
    assert all(isinstance(p["durationInSeconds"], int) for p in build["phases"][:-1])
    lines = build_log(build)
    assert "installing for test" in lines
    assert any(line.endswith("/dist") for line in lines)  # cd carried over to the next command
    assert any(re.search(r"1 passed", line) for line in lines)
    assert "build finally ran" in lines and "succeeding=1" in lines
    assert build["logs"]["groupName"] == f"/aws/codebuild/{name}"
    artifact = boto3.client("s3").get_object(Bucket=project.bucket, Key="out.zip")["Body"].read()
    assert sorted(zipfile.ZipFile(io.BytesIO(artifact)).namelist()) == ["app.py", "dist/marker.txt"]


def test_a_buildspec_whose_tests_fail_fails_the_build_at_build_and_still_runs_post_build(project):
    broken = {**TESTED_APP, "app.py": "def price(book):\n    return 13\n", "buildspec.yml": BUILDSPEC}
    name = project(broken)

    build = finished_build(boto3.client("codebuild").start_build(projectName=name)["build"]["id"])

    assert build["buildStatus"] == "FAILED"
    build_phase = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
    assert build_phase["phaseStatus"] == "FAILED"
    assert build_phase["contexts"] == [
        {
            "statusCode": "COMMAND_EXECUTION_ERROR",
            "message": "Error while executing command: python -m pytest -q -p no:cacheprovider ... "
            "Reason: exit status 1",
        }
    ]
    assert ("POST_BUILD", "SUCCEEDED") in phases(build)
    lines = build_log(build)
    assert "succeeding=0" in lines and "build finally ran" in lines
    assert any("1 failed" in line for line in lines)


def test_a_failed_install_skips_to_finalizing(project):
    spec = "version: 0.2\nphases:\n  install:\n    commands: [exit 3]\n  build:\n    commands: [echo never]\n"
    name = project({"buildspec.yml": spec})

    build = finished_build(boto3.client("codebuild").start_build(projectName=name)["build"]["id"])

    assert build["buildStatus"] == "FAILED"
    assert phases(build)[3:] == [
        ("DOWNLOAD_SOURCE", "SUCCEEDED"),
        ("INSTALL", "FAILED"),
        ("FINALIZING", "SUCCEEDED"),
        ("COMPLETED", None),
    ]


def test_a_command_that_leaves_a_server_running_returns_and_the_server_ends_with_the_build(project):
    spec = """
version: 0.2
phases:
  build:
    commands:
      - python -m http.server 0 --bind 127.0.0.1 > server.log 2>&1 & echo $! > server.pid
      - echo started
artifacts:
  files: [server.pid]
"""
    name = project({"buildspec.yml": spec})

    build = finished_build(boto3.client("codebuild").start_build(projectName=name)["build"]["id"], timeout=20)

    assert build["buildStatus"] == "SUCCEEDED"
    assert "started" in build_log(build)
    artifact = boto3.client("s3").get_object(Bucket=project.bucket, Key="out.zip")["Body"].read()
    server = int(zipfile.ZipFile(io.BytesIO(artifact)).read("server.pid"))
    wait_for(lambda: not running(server), 5, f"the build's server (pid {server}) to end")


def running(pid: int) -> bool:
    """Whether the process is there and not a zombie (ended, but not yet collected by its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def test_update_project_replaces_the_fields_given_and_the_next_build_uses_them(project):
    codebuild = boto3.client("codebuild")
    name = f"updated-{uuid.uuid4().hex[:6]}"
    first_role = role("codebuild.amazonaws.com", ["s3:*", "logs:*"])
    codebuild.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands: [echo v1]\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=ENVIRONMENT,
        serviceRole=first_role,
    )
    second_role = role("codebuild.amazonaws.com", ["s3:*", "logs:*"])

    updated = codebuild.update_project(
        name=name,
        source={"type": "S3", "location": f"{project.bucket}/source.zip", "buildspec": "spec.yml"},
        environment={**ENVIRONMENT, "environmentVariables": [{"name": "GREETING", "value": "v2", "type": "PLAINTEXT"}]},
        serviceRole=second_role,
        artifacts={"type": "S3", "location": project.bucket, "name": "updated.zip", "packaging": "ZIP"},
    )["project"]

    assert updated["source"] == {"type": "S3", "location": f"{project.bucket}/source.zip", "buildspec": "spec.yml"}
    assert updated["serviceRole"] == second_role
    assert codebuild.batch_get_projects(names=[name])["projects"][0]["artifacts"]["name"] == "updated.zip"
    project(
        {
            "spec.yml": "version: 0.2\nphases:\n  build:\n    commands: [echo $GREETING > out.txt]\n"
            "artifacts:\n  files: [out.txt]\n"
        }
    )
    build = finished_build(codebuild.start_build(projectName=name)["build"]["id"])
    assert build["buildStatus"] == "SUCCEEDED"
    assert build["serviceRole"] == second_role
    artifact = boto3.client("s3").get_object(Bucket=project.bucket, Key="updated.zip")["Body"].read()
    assert zipfile.ZipFile(io.BytesIO(artifact)).read("out.txt") == b"v2\n"


def test_update_project_of_a_project_that_does_not_exist_is_refused(cloud):
    with pytest.raises(ClientError) as refused:
        boto3.client("codebuild").update_project(name="no-such-project", environment=ENVIRONMENT)

    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert refused.value.response["Error"]["Message"] == (
        "Project cannot be found: arn:aws:codebuild:us-east-1:123456789012:project/no-such-project"
    )


PROJECT_SPEC = "version: 0.2\nphases:\n  build:\n    commands: [echo from the project]\nartifacts:\n  files: ['*']\n"
OVERRIDE_SPEC = """
version: 0.2
phases:
  build:
    commands:
      - cat note.txt
      - echo stage=$STAGE
artifacts:
  files: [note.txt]
"""


def test_start_build_overrides_apply_to_that_build_only(project):
    codebuild, s3 = boto3.client("codebuild"), boto3.client("s3")
    name = project({"buildspec.yml": PROJECT_SPEC})
    s3.put_object(Bucket=project.bucket, Key="other.zip", Body=zipped({"note.txt": "other source"}))

    overridden = codebuild.start_build(
        projectName=name,
        sourceTypeOverride="S3",
        sourceLocationOverride=f"{project.bucket}/other.zip",
        buildspecOverride=OVERRIDE_SPEC,
        environmentVariablesOverride=[{"name": "STAGE", "value": "prod", "type": "PLAINTEXT"}],
    )["build"]
    build = finished_build(overridden["id"])
    plain = finished_build(codebuild.start_build(projectName=name)["build"]["id"])

    assert build["buildStatus"] == "SUCCEEDED"
    assert build["source"]["location"] == f"{project.bucket}/other.zip"
    lines = build_log(build)
    assert "other source" in lines and "stage=prod" in lines
    assert "from the project" not in lines
    assert plain["buildStatus"] == "SUCCEEDED"
    assert "from the project" in build_log(plain)

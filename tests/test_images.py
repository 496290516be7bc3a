"""`labkit image build`: a service folder becomes an image in the local ECR that a task runs, with
no Docker; on the aws target without Docker it says what is needed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from support import wait_for

from labkit import config, course, images
from labkit.errors import LabkitError

ECHO = Path(__file__).parent / "data" / "services" / "echo"


def test_a_build_is_recorded_in_ecr_with_the_course_tags(cloud):
    built = images.build(ECHO, "catalog:1")
    assert built.uri == f"{cloud.account_id}.dkr.ecr.{cloud.region}.amazonaws.com/catalog:1"
    ecr = boto3.client("ecr")
    details = ecr.describe_images(repositoryName="catalog")["imageDetails"]
    assert [(d["imageTags"], d["imageDigest"]) for d in details] == [(["1"], built.digest)]
    assert ecr.list_images(repositoryName="catalog")["imageIds"] == [{"imageDigest": built.digest, "imageTag": "1"}]
    repository = ecr.describe_repositories(repositoryNames=["catalog"])["repositories"][0]
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]}
    assert tags["labkit:course"] == config.COURSE_TAG and tags["labkit:owner"] == cloud.owner

    # The artifact: the files where the Dockerfile's COPY puts them, and how the image starts.
    assert built.artifact == config.state_dir() / "images" / "catalog" / built.digest.replace(":", "-")
    assert (built.artifact / "rootfs" / "app" / "app.py").read_bytes() == (ECHO / "app.py").read_bytes()
    image_config = images.load_config(built.artifact)
    assert image_config["cmd"] == ["python", "app.py"] and image_config["workdir"] == "/app"
    assert image_config["exposedPorts"] == [8080]
    assert image_config["env"] == {"PYTHONUNBUFFERED": "1", "PORT": "8080", "GREETING": "hello"}

    # The digest is the content's: the same folder again is the same image; a second tag joins it.
    assert images.build(ECHO, "catalog:1").digest == built.digest
    assert images.build(ECHO, "catalog:latest").digest == built.digest
    assert sorted(ecr.describe_images(repositoryName="catalog")["imageDetails"][0]["imageTags"]) == ["1", "latest"]


def test_a_changed_folder_is_a_new_image_and_the_task_runs_its_code(cloud, tmp_path):
    folder = tmp_path / "echo"
    shutil.copytree(ECHO, folder)
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("GREETING=hello", "GREETING=hi"))
    first, second = images.build(ECHO, "greeter:1"), images.build(folder, "greeter:2")
    assert first.digest != second.digest

    ec2, ecs = boto3.client("ec2"), boto3.client("ecs")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:1]
    ecs.create_cluster(clusterName="images")
    ecs.register_task_definition(
        family="greeter",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "greeter",
                "image": "greeter:2",  # the short name: this account's ECR
                "portMappings": [{"containerPort": 8080}],
            }
        ],
    )
    arn = ecs.run_task(
        cluster="images",
        taskDefinition="greeter",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
    )["tasks"][0]["taskArn"]
    try:
        task = _until_running(ecs, arn)
        container = task["containers"][0]
        assert container["imageDigest"] == second.digest
        port = container["networkBindings"][0]["hostPort"]
        answer = _answer(f"http://127.0.0.1:{port}/whoami")
        assert answer["greeting"] == "hi" and answer["task"] == arn.rsplit("/", 1)[-1]
    finally:
        ecs.stop_task(cluster="images", task=arn)


def test_the_monolith_builds_from_its_folder_and_starts_with_a_fresh_database(cloud):
    built = images.build("services/monolith", "bookshop:1")
    image_config = images.load_config(built.artifact)
    assert image_config["cmd"] == ["python", "-m", "services.monolith", "--fresh-db"]
    assert image_config["env"]["MONOLITH_DB"] == "bookshop.db"  # in the container's working folder
    assert (built.artifact / "rootfs" / "app" / "services" / "monolith" / "app.py").is_file()
    assert not list((built.artifact / "rootfs").rglob("__pycache__"))
    assert [line.split()[0] for line in image_config["notRunLocally"]] == ["RUN", "RUN"]


@pytest.mark.parametrize(
    "dockerfile, says",
    [
        ("FROM python:3.11-slim\nCOPY . /app\n", "no CMD or ENTRYPOINT"),
        ('FROM python:3.11 AS build\nFROM python:3.11-slim\nCMD ["python"]\n', "multi-stage"),
        ('FROM python:3.11-slim\nCOPY missing.py /app/\nCMD ["python"]\n', "finds nothing"),
    ],
)
def test_a_dockerfile_the_local_target_cannot_read_is_explained(cloud, tmp_path, dockerfile, says):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    with pytest.raises(LabkitError, match=says):
        images.build(tmp_path, "broken:1")


@pytest.mark.no_cloud
def test_shell_form_and_continued_lines_read_as_docker_reads_them():
    recipe = images.parse_dockerfile(
        "FROM python:3.11-slim\nARG APP=/srv\nWORKDIR ${APP}\nENV MODE=prod \\\n    LEVEL=2\n"
        '# a comment\nENTRYPOINT ["python"]\nCMD python -m app --level $LEVEL\n'
    )
    assert recipe.workdir == "/srv" and recipe.env == {"MODE": "prod", "LEVEL": "2"}
    assert recipe.entrypoint == ["python"]
    assert recipe.cmd == ["/bin/sh", "-c", "python -m app --level $LEVEL"]


@pytest.mark.no_cloud
def test_the_aws_target_without_docker_says_what_is_needed(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `docker` command anywhere
    aws = course.Environment(
        target="aws", region="us-east-1", account_id="111122223333", endpoint=None, owner="learner", lab="03"
    )
    with pytest.raises(LabkitError) as raised:
        images.build(ECHO, "orders:1", env=aws)
    message = str(raised.value)
    assert "aws target needs Docker to build the image and push it to ECR" in message
    assert "docker info" in message and "The local target needs no Docker" in message


def _until_running(ecs, arn: str) -> dict:
    def running():
        task = ecs.describe_tasks(cluster="images", tasks=[arn])["tasks"][0]
        assert task["lastStatus"] != "STOPPED", task["stoppedReason"]
        return task if task["lastStatus"] == "RUNNING" else None

    return wait_for(running, 10, "the task to run")


def _answer(url: str) -> dict:
    def answer():
        try:
            return requests.get(url, timeout=2).json()
        except requests.RequestException:
            return None

    return wait_for(answer, 5, f"an answer from {url}")


def test_the_command_builds_and_prints_the_image(cloud):
    printed = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "image", "build", str(ECHO), "--tag", "echo:cli"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert printed.returncode == 0, printed.stderr
    digest = boto3.client("ecr").describe_images(repositoryName="echo")["imageDetails"][0]["imageDigest"]
    assert printed.stdout.strip() == (
        f"built {cloud.account_id}.dkr.ecr.{cloud.region}.amazonaws.com/echo:cli ({digest})"
    )
    missing = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "image", "build", "no/such/folder", "--tag", "x:1"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "labkit image: no/such/folder has no Dockerfile: an image is built from one "
        "(its CMD says how the service starts)."
    )

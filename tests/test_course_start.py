"""course.start(): plain boto3 and child processes reach the target; the aws target's guard rails."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from labkit import config, course
from labkit.errors import LabkitError


def test_plain_boto3_round_trips_a_message_without_endpoint_url(cloud):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="start-roundtrip", tags=cloud.tags)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello from the kernel")
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in received] == ["hello from the kernel"]
    assert url.startswith(cloud.endpoint)


def test_a_child_process_reaches_the_same_local_cloud(cloud):
    boto3.client("sqs").create_queue(QueueName="seen-by-child")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import boto3; print(boto3.client('sqs').get_queue_url(QueueName='seen-by-child')['QueueUrl'])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip().startswith(cloud.endpoint)


def test_an_unimplemented_call_fails_fast_with_a_clear_message(cloud):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        boto3.client("cloudtrail").list_event_data_stores()  # CloudTrail Lake: not in moto
    assert raised.value.response["Error"]["Code"] == "NotImplemented"
    assert "does not implement" in str(raised.value)
    assert "max retries: 0" in str(raised.value)


def test_local_names_and_tags(cloud):
    assert cloud.name("catalog") == "catalog"
    assert cloud.tags["labkit:course"] == "monolith-to-microservices"
    assert {"key": "labkit:owner", "value": "learner"} in cloud.tag_list("key", "value")


def test_a_log_group_lambda_made_untagged_is_adopted_with_the_course_tags(cloud):
    logs = boto3.client("logs")
    name = "/aws/lambda/made-by-its-first-invocation"
    logs.create_log_group(logGroupName=name)  # as Lambda does, without tags
    try:
        assert cloud.log_group(name) == name
        arn = f"arn:aws:logs:{cloud.region}:{cloud.account_id}:log-group:{name}"
        assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == cloud.tags
        group = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
        assert group["retentionInDays"] == 7
        assert cloud.log_group(name) == name  # again: nothing to do, no error
    finally:
        logs.delete_log_group(logGroupName=name)


@pytest.mark.no_cloud
def test_an_unknown_target_is_refused():
    with pytest.raises(LabkitError, match="not one of local, aws"):
        course.start(target="azure")


def _aws_start(extra_env, **kwargs):
    """Run the aws target's code path in a child, against the local cloud standing in for STS."""
    code = (
        "import json; from labkit import course\n"
        "from labkit.errors import LabkitError\n"
        "try:\n"
        f"    env = course.start(target='aws', quiet=True, **{kwargs!r})\n"
        "    print(json.dumps({'ok': True, 'name': env.name('catalog'), 'tags': env.tags,"
        " 'account': env.account_id, 'region': env.region}))\n"
        "except LabkitError as error:\n"
        "    print(json.dumps({'ok': False, 'error': str(error)}))\n"
    )
    import json
    import os

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **extra_env}
    env.pop("LABKIT_AWS_CONFIRM", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_aws_target_refuses_until_the_account_is_confirmed(cloud):
    answer = _aws_start({"AWS_ENDPOINT_URL": cloud.endpoint, "AWS_DEFAULT_REGION": "us-east-1"})
    assert not answer["ok"]
    assert "123456789012" in answer["error"] and "us-east-1" in answer["error"]
    assert "confirm" in answer["error"]


def test_aws_target_refuses_a_region_outside_the_allow_list(cloud):
    answer = _aws_start({"AWS_ENDPOINT_URL": cloud.endpoint, "AWS_DEFAULT_REGION": "ap-east-1"}, confirm="123456789012")
    assert not answer["ok"] and "ap-east-1 is not one the course runs in" in answer["error"]


def test_aws_target_once_confirmed_prefixes_names_and_tags_the_lab(cloud):
    answer = _aws_start(
        {"AWS_ENDPOINT_URL": cloud.endpoint, "AWS_DEFAULT_REGION": "eu-west-1", "LABKIT_OWNER": "Ada Lovelace"},
        confirm="123456789012",
        lab="02",
    )
    assert answer["ok"], answer
    assert answer["name"] == "lk-ada-lovelace-catalog"
    assert answer["tags"] == {
        "labkit:course": "monolith-to-microservices",
        "labkit:owner": "ada-lovelace",
        "labkit:lab": "02",
    }
    assert (answer["account"], answer["region"]) == ("123456789012", "eu-west-1")


def test_the_local_target_trusts_the_local_clouds_ca_and_the_aws_target_gives_back_the_learners_own_settings(
    cloud, tmp_path
):
    own = tmp_path / "company-cas.pem"
    own.write_text("")
    code = (
        "import os; from labkit import course\n"
        "course.start(target='local', quiet=True)\n"
        "print(os.environ['SSL_CERT_FILE'])\n"
        "course.start(target='aws', quiet=True, confirm='123456789012')\n"
        "print(os.environ['SSL_CERT_FILE'], os.environ['AWS_DEFAULT_REGION'], os.environ['AWS_ENDPOINT_URL'])\n"
    )
    # The learner's region, keys and endpoint (the session's local cloud standing in for AWS) are the values the
    # local target sets too: switching to aws must give them back, not drop them.
    env = {**os.environ, "SSL_CERT_FILE": str(own), "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(config.trusted_cas_file()),
        f"{own} us-east-1 {cloud.endpoint}",
    ]


@pytest.mark.no_cloud
def test_aws_target_without_credentials_says_how_to_configure(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "teardown", "--target", "aws", "--yes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "no AWS credentials" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.no_cloud
def test_the_owner_is_labkit_owner_else_the_jupyterhub_user_else_the_system_user(monkeypatch):
    monkeypatch.setattr(course.getpass, "getuser", lambda: "jovyan")
    monkeypatch.delenv("LABKIT_OWNER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    alone = course.owner()
    monkeypatch.setenv("JUPYTERHUB_USER", "Grace.Hopper")
    on_a_hub = course.owner()
    monkeypatch.setenv("LABKIT_OWNER", "team-7")
    chosen = course.owner()
    assert (alone, on_a_hub, chosen) == ("jovyan", "grace-hopper", "team-7")


def test_a_work_folder_in_the_course_is_relative_to_the_notebook_so_saved_outputs_match_everywhere(
    tmp_path, monkeypatch
):
    from labkit import config

    env = course.Environment("local", "us-east-1", "123456789012", None, "learner", "02")
    monkeypatch.setenv("LABKIT_STATE_DIR", str(config.COURSE_ROOT / ".labkit"))
    monkeypatch.chdir(config.COURSE_ROOT / "solutions")
    assert env.work_dir("catalog") == Path("../.labkit/work/02/catalog")
    assert (config.COURSE_ROOT / ".labkit" / "work" / "02" / "catalog").is_dir()
    monkeypatch.setenv("LABKIT_STATE_DIR", str(tmp_path / "state"))
    assert env.work_dir("catalog") == tmp_path / "state" / "work" / "02" / "catalog"


@pytest.mark.no_cloud
@pytest.mark.parametrize(
    ("endpoint", "minute_s"),
    [(None, 60.0), ("https://sts.us-east-1.amazonaws.com", 60.0), ("http://127.0.0.1:4747", 1.0)],
    ids=["aws", "an aws endpoint", "the local cloud"],
)
def test_a_minute_of_aws_time_lasts_a_minute_on_aws_and_a_second_on_the_local_cloud(monkeypatch, endpoint, minute_s):
    if endpoint is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    env = course.Environment(
        target="aws", region="us-east-1", account_id="123456789012", endpoint=None, owner="learner", lab="03"
    )
    assert env.minute_s == minute_s

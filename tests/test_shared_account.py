"""The aws target in an instructor's shared account: two learners (LABKIT_OWNER ann and bob) deploy the same
lab's resources, of several kinds, with the names and tags labkit gives them; each one's `labkit teardown
--target aws` deletes their own and leaves the other's exactly as it was. The local cloud stands in for the
account (the same calls, through boto3 alone), as in test_cli_ls.py. Owners are kept apart even when their
hub names are long and start alike."""

import json
import os
import re
import subprocess
import sys

import pytest

from labkit import course

pytestmark = pytest.mark.long  # two learners' deployments and three teardowns, each a process of its own

DEPLOY = """
import json, boto3
from labkit import course

env = course.start(target="aws", lab="93", quiet=True)
sqs, sns, ddb, s3, iam, logs = (boto3.client(name) for name in ("sqs", "sns", "dynamodb", "s3", "iam", "logs"))
queue = sqs.create_queue(QueueName=env.name("orders"), tags=env.tags)["QueueUrl"]
topic = sns.create_topic(Name=env.name("order-events"), Tags=env.tag_list())["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sqs.get_queue_attributes(
    QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
ddb.create_table(TableName=env.name("books"), BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": "isbn", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "isbn", "KeyType": "HASH"}], Tags=env.tag_list())
s3.create_bucket(Bucket=env.bucket_name("exports"))
s3.put_bucket_tagging(Bucket=env.bucket_name("exports"), Tagging={"TagSet": env.tag_list()})
s3.put_object(Bucket=env.bucket_name("exports"), Key="books.json", Body=b"[]")
iam.create_role(RoleName=env.name("catalog-role"), Tags=env.tag_list(), AssumeRolePolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}))
env.log_group("/aws/lambda/" + env.name("catalog"))
"""


@pytest.fixture
def as_learner(cloud):
    """Runs a command as a learner of the shared account: the aws target, pointed at the local cloud."""

    def run(owner: str, *command: str) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "LABKIT_OWNER": owner,
            "LABKIT_TARGET": "aws",
            "LABKIT_AWS_CONFIRM": "123456789012",
            "AWS_ENDPOINT_URL": cloud.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        return subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env, timeout=240)

    return run


def deployed(as_learner, owner: str) -> list[tuple[str, str]]:
    listed = as_learner(owner, "-m", "labkit.cli", "ls", "--target", "aws", "--json")
    assert listed.returncode == 0, listed.stderr
    return sorted((entry["kind"], entry["name"]) for entry in json.loads(listed.stdout)["deployed"])


def test_each_learners_teardown_in_a_shared_account_deletes_their_resources_and_only_theirs(as_learner):
    for owner in ("ann", "bob"):
        made = as_learner(owner, "-c", DEPLOY)
        assert made.returncode == 0, made.stderr
    anns, bobs = deployed(as_learner, "ann"), deployed(as_learner, "bob")
    assert len(anns) == len(bobs) >= 7
    assert all(name.startswith("lk-ann-") or "/lk-ann-" in name for _, name in anns), anns
    assert [kind for kind, _ in anns] == [kind for kind, _ in bobs]

    torn = as_learner("ann", "-m", "labkit.cli", "teardown", "--target", "aws", "--yes")

    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert "labkit:owner=ann" in torn.stdout
    deleted = [line for line in torn.stdout.splitlines() if line.startswith("  deleted ")]
    assert len(deleted) >= len(anns) and not any("lk-bob-" in line for line in deleted), torn.stdout
    assert "Left: nothing tagged labkit:course=monolith-to-microservices, labkit:owner=ann remains." in torn.stdout
    assert deployed(as_learner, "ann") == []
    assert deployed(as_learner, "bob") == bobs

    torn = as_learner("bob", "-m", "labkit.cli", "teardown", "--target", "aws", "--yes")

    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert deployed(as_learner, "bob") == []


@pytest.mark.no_cloud
def test_long_hub_names_that_share_their_start_stay_apart_as_owners(monkeypatch):
    owners = []
    for name in ("workshop-learner-01", "workshop-learner-02", "Grace.Hopper"):
        monkeypatch.setenv("LABKIT_OWNER", name)
        owners.append(course.owner())

    assert owners[0] != owners[1]
    assert [len(owner) for owner in owners[:2]] == [16, 16]
    assert all(re.fullmatch(r"workshop-l-[0-9a-f]{5}", owner) for owner in owners[:2]), owners
    assert owners[2] == "grace-hopper"  # short names are only folded, as before

"""`labkit ls`, driven as a learner drives it: resources made with boto3 on the test session's local
cloud, the command run as a subprocess. Its learner is "lister", so what other test files leave on
the session's cloud (as "learner") is another owner's, which ls must leave out."""

import json
import os
import subprocess
import sys

import boto3
import pytest
import requests
from IPython.lib.pretty import pretty
from support import mock_rest_api

from labkit import config, listing, urls
from labkit.localcloud import control

OWNER = "lister"


def labkit_cli(*arguments, owner=OWNER, **environment):
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "LABKIT_OWNER": owner, **environment},
        timeout=120,
    )


def course_tags(lab, owner=OWNER):
    return {config.COURSE_TAG_KEY: config.COURSE_TAG, config.OWNER_TAG_KEY: owner, config.LAB_TAG_KEY: lab}


def line_of(printed, name):
    """The one line of `labkit ls`'s output naming `name`, split into its words."""
    [line] = [line for line in printed.splitlines() if name in line.split()]
    return line.split()


@pytest.fixture
def rest_api(cloud):
    """Makes a REST API (name, tags) deployed to a `prod` stage, and returns its id; deletes it after
    the test."""
    apigateway, made = boto3.client("apigateway"), []

    def make(name, tags):
        api_id = mock_rest_api(name, f'{{"api": "{name}"}}', tags)
        made.append(api_id)
        return api_id

    yield make
    for api_id in made:
        apigateway.delete_rest_api(restApiId=api_id)


def test_ls_lists_a_tagged_rest_api_with_its_url_and_leaves_out_an_untagged_one_and_another_owners(rest_api):
    mine = rest_api("ls-catalog", course_tags("81"))
    untagged = rest_api("ls-untagged", {})
    someone_elses = rest_api("ls-theirs", course_tags("81", owner="someone-else"))

    printed = labkit_cli("ls")

    assert printed.returncode == 0, printed.stderr
    url = urls.url_for(mine, "prod")
    row = line_of(printed.stdout, f"({mine})")
    assert row == ["API", "Gateway", "REST", "API", "ls-catalog", f"({mine})", "lab", "81", "prod", url]
    assert requests.get(url + "/", timeout=10).json() == {"api": "ls-catalog"}
    assert untagged not in printed.stdout and someone_elses not in printed.stdout
    assert printed.stdout.splitlines()[0].startswith(f"What {OWNER} has deployed (target local: ")


def test_ls_with_a_lab_lists_only_that_labs_resources_and_takes_its_number_without_the_zero(make_queue):
    lab_7 = make_queue("ls-lab7-orders", course_tags("07"))
    make_queue("ls-lab8-orders", course_tags("08"))

    printed = labkit_cli("ls", "--lab", "7")

    assert printed.returncode == 0, printed.stderr
    assert line_of(printed.stdout, "ls-lab7-orders") == [
        "SQS",
        "queue",
        "ls-lab7-orders",
        "lab",
        "07",
        "QueueUrl",
        lab_7,
    ]
    assert "ls-lab8-orders" not in printed.stdout
    assert printed.stdout.splitlines()[-1] == "1 resource; `labkit teardown --lab 07` deletes it."


def test_ls_json_parses_into_each_resource_with_its_urls(rest_api, make_queue):
    api_id = rest_api("ls-json-api", course_tags("82"))
    queue_url = make_queue("ls-json-queue", course_tags("82"))

    printed = labkit_cli("ls", "--lab", "82", "--json")

    assert printed.returncode == 0, printed.stderr
    found = json.loads(printed.stdout)
    assert (found["owner"], found["target"], found["lab"], found["unlisted"]) == (OWNER, "local", "82", [])
    assert [(entry["kind"], entry["id"], entry["lab"], entry["urls"]) for entry in found["deployed"]] == [
        ("API Gateway REST API", api_id, "82", {"prod": urls.url_for(api_id, "prod")}),
        ("SQS queue", queue_url, "82", {"QueueUrl": queue_url}),
    ]


def test_ls_with_nothing_deployed_says_so_in_one_line(cloud):
    printed = labkit_cli("ls", owner="nobody-yet")
    for_a_lab = labkit_cli("ls", "--lab", "03", owner="nobody-yet")

    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == "nothing deployed by nobody-yet on target local yet: run a lab's deploy steps\n"
    assert (
        for_a_lab.stdout == "nothing deployed by nobody-yet for lab 03 on target local yet: run lab 03's deploy steps\n"
    )


def test_ls_without_a_running_local_cloud_says_nothing_is_deployed_and_starts_none(isolated_cloud_env):
    printed = labkit_cli("ls")

    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == f"nothing deployed by {OWNER} on target local yet: run a lab's deploy steps\n"
    assert not control.status()["running"]


def test_ls_on_the_aws_target_lists_the_same_with_boto3_alone(cloud, rest_api):
    """The local cloud stands in for AWS here (the same calls), as in test_course_start.py."""
    api_id = rest_api("ls-aws-api", course_tags("84"))
    listing_then_what_was_imported = (
        "import json, sys\n"
        "from labkit import cli\n"
        "code = cli.main(['ls', '--target', 'aws', '--lab', '84', '--json'])\n"
        "local_only = [m for m in sys.modules if m.split('.')[0] == 'moto' or m.startswith('labkit.dataplane')]\n"
        "print(json.dumps(local_only), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    aws = {
        "AWS_ENDPOINT_URL": cloud.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LABKIT_AWS_CONFIRM": "123456789012",
    }
    printed = subprocess.run(
        [sys.executable, "-c", listing_then_what_was_imported],
        capture_output=True,
        text=True,
        env={**os.environ, "LABKIT_OWNER": OWNER, **aws},
        timeout=120,
    )

    assert printed.returncode == 0, printed.stderr
    found = json.loads(printed.stdout)
    assert found["target"] == "aws"
    assert [(entry["id"], entry["urls"]) for entry in found["deployed"]] == [
        (api_id, {"prod": urls.url_for(api_id, "prod")})
    ]
    assert json.loads(printed.stderr.splitlines()[-1]) == []


def test_ls_in_a_notebook_shows_what_the_command_prints(make_queue):
    make_queue("ls-notebook-orders", course_tags("83", owner="learner"))

    found = listing.ls(lab="83")

    assert [entry.name for entry in found.deployed] == ["ls-notebook-orders"]
    assert pretty(found) == found.as_text() == labkit_cli("ls", "--lab", "83", owner="learner").stdout.rstrip("\n")

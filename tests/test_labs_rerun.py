"""A lab run as a learner runs it: answered wrong once, then right, in one kernel and one local cloud,
through the aws target's code path.

The notebook runs up to the check of the wrong answer's step, which fails with the message the learner
needs; then the whole notebook runs again with the right answer, every given cell included, without an
error (a given cell must cope with what the wrong answer left behind, and with its own earlier run); then
every check passes and the cleanup leaves nothing. Each lab names one wrong answer here, a change to its
solution's source.

The notebook runs with TARGET = "aws": course.start checks the account (LABKIT_AWS_CONFIRM), names get
the lk-<owner>- prefix, images are built with `docker build` and pushed, waits are in AWS minutes, and
teardown waits for AWS's eventual consistency. Only where boto3 sends its calls differs: the local
cloud, which refuses what AWS refuses. No learner code has a branch for the target, so a solution that
passes here runs on a real account unchanged (test_labs.py and nbval run each solution on the local
target). Docker is not on this machine: the `docker` on PATH is a stand-in that records the image in the
local cloud's ECR with labkit's local builder (a real build and push are what Docker itself is tested for)."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import nbformat
import pytest
from nbclient import NotebookClient
from test_labs import CELL_TIMEOUT_S, course_path, is_cleanup, lab_id

from labkit import config, labs, teardown

FAKE_DOCKER = """#!{python}
import sys
from pathlib import Path

from labkit import course, images

arguments = sys.argv[1:]
if arguments[0] == "build":  # build --platform P -f DOCKERFILE -t URI CONTEXT
    dockerfile = Path(arguments[arguments.index("-f") + 1])
    uri = arguments[arguments.index("-t") + 1]
    env = course.start(target="local", quiet=True)
    images.build(dockerfile.parent, uri.split("/", 1)[1], env=env, context=arguments[-1])
"""


@dataclass(frozen=True)
class WrongAnswer:
    right: str  # text of the solution's source that the learner gets wrong...
    wrong: str  # ...and what they write instead
    check: str  # the id of the check that must fail
    says: str  # how its message starts


WRONG_ANSWERS = {
    "solutions/01_run_and_export_the_bookshop.ipynb": WrongAnswer(
        right='ContentType="application/json"',
        wrong='ContentType="text/plain"',
        check="export-object",
        says="expected ContentType application/json on catalog/books.json, found text/plain",
    ),
    "solutions/02_the_catalog_service.ipynb": WrongAnswer(
        right='"Resource": f"arn:aws:logs:{env.region}:{env.account_id}:log-group:{log_group}:*"}',
        wrong='"Resource": "*"}',
        check="role",
        says="expected the logs: actions on the function's own log group, "
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/lk-learner-catalog:*, only, found ['*']",
    ),
    "solutions/03_orders_on_ecs.ipynb": WrongAnswer(
        right='"ToPort": 8080, "UserIdGroupPairs": [{"GroupId": alb_group}]}',
        wrong='"ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}',
        check="load-balancer",
        says="expected the tasks' group lk-learner-bookshop-tasks to admit 8080 only from the load balancer's "
        "group sg-",
    ),
    "solutions/04_order_events.ipynb": WrongAnswer(
        right='recipient = event["email"] if event.get("schema", 1) == 1 else event["customer"]["email"]',
        wrong='recipient = event["customer"]["email"]',
        check="redrive",
        says="expected a schema 1 event to be confirmed to its customer's email (schema 1 events, without a schema "
        "field, still come from the orders service), found it reported failed",
    ),
    "solutions/05_identity.ipynb": WrongAnswer(
        right='post_books = {"authorizationType": "COGNITO_USER_POOLS"}',
        wrong='post_books = {"authorizationType": "NONE"}',
        check="catalog",
        says="expected POST /books to need a Cognito token (authorizationType COGNITO_USER_POOLS), found NONE: "
        "anyone can add a book",
    ),
    "solutions/06_secrets_and_least_privilege.ipynb": WrongAnswer(
        right='"Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},',
        wrong='"Action": "secretsmanager:*", "Resource": "*"},',
        check="roles",
        says="expected the execution role lk-learner-payments-execution-role to be allowed only what it needs, found "
        "statement 'ReadTheProviderKeyAtTaskStart' of its policy 'provider-key' allowing ['secretsmanager:*'] on "
        "['*']: whoever runs as the role could read, change and delete every secret in the account; grant "
        "secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        "lk-learner-payments-provider-key-",
    ),
    "solutions/07_service_to_service.ipynb": WrongAnswer(
        right='catalog_timeout = {"perRequestTimeoutSeconds": 1}',
        wrong="catalog_timeout = {}",
        check="timeout",
        says="expected the catalog's Service Connect perRequestTimeoutSeconds between 1 and 3 s, found none",
    ),
    "solutions/08_observability.ipynb": WrongAnswer(
        right='MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": correlation_id}})',
        wrong=")",
        check="id-crosses-the-queue",
        says="checkout was given the correlation id 'labkit-check-",
    ),
    "solutions/09_delivery.ipynb": WrongAnswer(
        right="      - python -m pytest -q -p no:cacheprovider\n",
        wrong="      - python -m pytest -q -p no:cacheprovider || true\n",
        check="tests-gate",
        says="expected a failing test to fail the build, found the command 'python -m pytest -q -p no:cacheprovider "
        "|| true'",
    ),
    "solutions/10_scale_and_cache.ipynb": WrongAnswer(
        right='lambda_.put_function_concurrency(FunctionName=env.name("catalog"), ReservedConcurrentExecutions=20)',
        wrong='lambda_.put_function_concurrency(FunctionName=env.name("fulfilment"), ReservedConcurrentExecutions=20)',
        check="reserved",
        says="expected reserved concurrency on lk-learner-catalog, found none, and 20 on lk-learner-fulfilment",
    ),
}


@pytest.fixture
def aws_target(cloud, tmp_path, monkeypatch):
    """The kernel and the checks choose the aws target and confirm the (local) account; `docker` is the stand-in."""
    docker = tmp_path / "bin" / "docker"
    docker.parent.mkdir()
    docker.write_text(FAKE_DOCKER.format(python=sys.executable))
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{docker.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LABKIT_TARGET", "aws")
    monkeypatch.setenv("LABKIT_AWS_CONFIRM", config.LOCAL_ACCOUNT_ID)


def on_aws(notebook) -> None:
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    assert parameters.source.strip() == 'TARGET = "local"'
    parameters.source = 'TARGET = "aws"'


def checked(solution) -> list[dict]:
    """The lab's check results as `labkit check` finds them on the target the environment chooses."""
    found = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "check", lab_id(solution), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(found.stdout)


def answered(notebook, replace: tuple[str, str] | None = None, through_step: int | None = None):
    """The notebook's code cells, but the cleanup, with one text of the source replaced; with through_step,
    only those up to that step's check, where a learner who answered wrong sees it fail."""
    cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code" and not is_cleanup(c)]
    if through_step is not None:
        last = next(i for i, c in cells if f"lab.panel({through_step}" in c.source)
        cells = [(i, c) for i, c in cells if i <= last]
    if replace is None:
        return cells
    found = [c for _, c in cells if replace[0] in c.source]
    assert len(found) == 1, f"{replace[0]!r} is in {len(found)} cells of the solution, not one"
    found[0].source = found[0].source.replace(replace[0], replace[1])
    return cells


@pytest.mark.parametrize(
    "solution", [config.COURSE_ROOT / path for path in WRONG_ANSWERS], ids=lambda path: course_path(path)
)
def test_a_wrong_answer_fails_its_check_and_the_lab_then_runs_through_with_the_right_one(aws_target, solution):
    mistake = WRONG_ANSWERS[course_path(solution)]
    wrong = nbformat.read(solution, as_version=4)
    right = nbformat.read(solution, as_version=4)
    on_aws(wrong)
    on_aws(right)
    client = NotebookClient(wrong, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(solution.parent)}})
    with client.setup_kernel():
        step = next(c.step for c in labs.require(lab_id(solution)).checks if c.id == mistake.check)
        for index, cell in answered(wrong, (mistake.right, mistake.wrong), through_step=step):
            client.execute_cell(cell, index)
        printed = [o.get("text", "") for c in wrong.cells for o in c.get("outputs", [])]
        started = f"target aws: account {config.LOCAL_ACCOUNT_ID}, region us-east-1, names prefixed lk-"
        assert any(text.startswith(started) for text in printed), "course.start did not choose the aws target"
        found = next(r for r in checked(solution) if r["id"] == mistake.check)
        assert found["status"] == "failed" and found["message"].startswith(mistake.says), found

        client.nb = right  # the learner fixes the answer and runs every cell again
        for index, cell in answered(right):
            client.execute_cell(cell, index)
        failing = [(r["id"], r["status"], r["message"]) for r in checked(solution) if not r["passed"]]
        assert failing == []
        for index, cell in enumerate(right.cells):
            if is_cleanup(cell):
                client.execute_cell(cell, index)
    assert teardown.tagged(lab_id(solution)) == []


@pytest.mark.no_cloud
def test_every_lab_has_a_wrong_answer_here():
    solutions = {course_path(path) for path in (config.COURSE_ROOT / "solutions").glob("*.ipynb")}
    assert solutions == set(WRONG_ANSWERS)

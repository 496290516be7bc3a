"""A lab run as a learner runs it: answered wrong once, then right, in one kernel and one local cloud.

The wrong answer fails its check with the message the learner needs; then the whole notebook runs
again with the right answer, every given cell included, without an error (a given cell must cope with
what the wrong answer left behind, and with its own earlier run); then every check passes and the
cleanup leaves nothing. Each lab names one wrong answer here, a change to its solution's source."""

from dataclasses import dataclass

import nbformat
import pytest
from nbclient import NotebookClient
from test_labs import CELL_TIMEOUT_S, course_path, is_cleanup, lab_id

from labkit import config, labs, teardown


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
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/catalog:*, only, found ['*']",
    ),
    "solutions/03_orders_on_ecs.ipynb": WrongAnswer(
        right='"ToPort": 8080, "UserIdGroupPairs": [{"GroupId": alb_group}]}',
        wrong='"ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}',
        check="load-balancer",
        says="expected the tasks' group bookshop-tasks to admit 8080 only from the load balancer's group sg-",
    ),
    "solutions/04_order_events.ipynb": WrongAnswer(
        right='recipient = event["email"] if event.get("schema", 1) == 1 else event["customer"]["email"]',
        wrong='recipient = event["customer"]["email"]',
        check="redrive",
        says="expected a schema 1 event to be confirmed to its customer's email (schema 1 events, without a schema "
        "field, still come from the orders service), found it reported failed",
    ),
}


def answered(notebook, replace: tuple[str, str] | None = None):
    """The notebook's code cells, but the cleanup, with one text of the source replaced."""
    cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code" and not is_cleanup(c)]
    if replace is None:
        return cells
    found = [c for _, c in cells if replace[0] in c.source]
    assert len(found) == 1, f"{replace[0]!r} is in {len(found)} cells of the solution, not one"
    found[0].source = found[0].source.replace(replace[0], replace[1])
    return cells


@pytest.mark.parametrize(
    "solution", [config.COURSE_ROOT / path for path in WRONG_ANSWERS], ids=lambda path: course_path(path)
)
def test_a_wrong_answer_fails_its_check_and_the_lab_then_runs_through_with_the_right_one(cloud, solution):
    mistake = WRONG_ANSWERS[course_path(solution)]
    lab = labs.require(lab_id(solution))
    wrong = nbformat.read(solution, as_version=4)
    right = nbformat.read(solution, as_version=4)
    client = NotebookClient(wrong, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(solution.parent)}})
    with client.setup_kernel():
        for index, cell in answered(wrong, (mistake.right, mistake.wrong)):
            client.execute_cell(cell, index)
        found = next(r for r in lab.run() if r.id == mistake.check)
        assert found.status == "failed" and found.message.startswith(mistake.says), (found.status, found.message)

        client.nb = right  # the learner fixes the answer and runs every cell again
        for index, cell in answered(right):
            client.execute_cell(cell, index)
        failing = [(r.id, r.status, r.message) for r in lab.run() if not r.passed]
        assert failing == []
        for index, cell in enumerate(right.cells):
            if is_cleanup(cell):
                client.execute_cell(cell, index)
    assert teardown.tagged(lab_id(solution)) == []


@pytest.mark.no_cloud
def test_every_lab_has_a_wrong_answer_here():
    solutions = {course_path(path) for path in (config.COURSE_ROOT / "solutions").glob("*.ipynb")}
    assert solutions == set(WRONG_ANSWERS)

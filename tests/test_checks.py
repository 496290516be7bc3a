"""The checks API: statuses and messages a learner reads, hints, progress, the panel's text."""

import json

import boto3
import pytest

from labkit import progress
from labkit.checks import Lab, as_json, as_text
from labkit.checks.panel import CheckPanel


@pytest.fixture
def lab(cloud):
    lab = Lab("99", "A lab for tests")

    @lab.check("queue", "The orders queue exists", step=1, hints=["Use sqs.create_queue", "Name it orders"])
    def queue_exists(ctx):
        url = ctx.client("sqs").get_queue_url(QueueName="orders-under-test")["QueueUrl"]
        attributes = ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
            "Attributes"
        ]
        ctx.expect(
            attributes["VisibilityTimeout"] == "60",
            f"expected a visibility timeout of 60 s, found {attributes['VisibilityTimeout']} s",
        )

    @lab.check("total", "Your total() adds up an order", step=2)
    def total_adds_up(ctx):
        total = ctx.learner_function("total")
        found = total([{"price": 2, "qty": 3}])
        ctx.expect(found == 6, f"expected 6 for 3 books at 2, found {found!r}")

    @lab.check("broken", "A check with a bug in it", step=3)
    def broken(ctx):
        return {}["missing"]

    yield lab
    sqs = boto3.client("sqs")
    for url in sqs.list_queues(QueueNamePrefix="orders-under-test").get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)


def by_id(results):
    return {r.id: r for r in results}


def test_missing_resource_is_not_done_yet_not_an_error(lab):
    result = by_id(lab.run(step=1))["queue"]
    assert result.status == "not done yet" and not result.passed
    assert "not found yet" in result.message


def test_wrong_answer_says_what_was_expected_and_found(lab):
    boto3.client("sqs").create_queue(QueueName="orders-under-test")
    result = by_id(lab.run(step=1))["queue"]
    assert result.status == "failed"
    assert result.message == "expected a visibility timeout of 60 s, found 30 s"


def test_right_answer_passes(lab):
    boto3.client("sqs").create_queue(QueueName="orders-under-test", Attributes={"VisibilityTimeout": "60"})
    assert by_id(lab.run(step=1))["queue"].passed


def test_learner_code_that_raises_is_summarised_with_type_and_line(lab):
    def total(items):
        return sum(item["price"] * item["quantity"] for item in items)

    result = by_id(lab.run(step=2, total=total))["total"]
    assert result.status == "failed"
    assert result.message.startswith("your code raised KeyError: 'quantity' (test_checks.py, line ")


def test_learner_todo_is_not_done_yet(lab):
    def total(items):
        raise NotImplementedError("TODO: step 2 is yours to write")

    result = by_id(lab.run(step=2, total=total))["total"]
    assert (result.status, result.message) == ("not done yet", "TODO: step 2 is yours to write")


def test_missing_learner_function_says_how_to_pass_it(lab):
    result = by_id(lab.run(step=2))["total"]
    assert result.status == "not done yet" and "lab.panel(step, total=total)" in result.message


def test_a_bug_in_a_check_is_a_message_with_no_traceback(lab):
    result = by_id(lab.run(step=3))["broken"]
    assert result.status == "error"
    assert "KeyError" in result.message and "checks.log" in result.message
    assert "Traceback" not in result.message


def test_text_and_json_reports(lab):
    results = lab.run(step=1)
    assert as_text(results, "Lab 99 · step 1 checks").splitlines() == [
        "Lab 99 · step 1 checks: 0 of 1 passed",
        "  … The orders queue exists: not done yet. not found yet: The specified queue does not exist.",
    ]
    [entry] = json.loads(as_json(results))
    assert {"id", "title", "passed", "message"} <= set(entry)
    assert entry["passed"] is False


def test_progress_records_passes_and_keeps_them(lab):
    boto3.client("sqs").create_queue(QueueName="orders-under-test", Attributes={"VisibilityTimeout": "60"})
    lab.run(step=1)
    boto3.client("sqs").delete_queue(
        QueueUrl=boto3.client("sqs").get_queue_url(QueueName="orders-under-test")["QueueUrl"]
    )
    lab.run(step=1)  # cleaned up since: the pass stays recorded
    assert progress.load()["learner"]["99"]["queue"]["passed"] is True


def test_panel_shows_text_and_reveals_hints_one_at_a_time(lab):
    panel = CheckPanel(lambda: lab.run(step=1), "Lab 99 · step 1 checks")
    assert panel._repr_mimebundle_()["text/plain"].startswith("Lab 99 · step 1 checks: 0 of 1 passed")
    row = panel.children[1]
    button, hints = row.children[1].children[0], row.children[2]
    assert hints.value == ""
    button.click()
    assert "Use sqs.create_queue" in hints.value and "Name it orders" not in hints.value
    button.click()
    assert "Name it orders" in hints.value and button.disabled


def test_panel_check_again_reruns(lab):
    panel = CheckPanel(lambda: lab.run(step=1), "Lab 99 · step 1 checks")
    boto3.client("sqs").create_queue(QueueName="orders-under-test", Attributes={"VisibilityTimeout": "60"})
    panel.children[-1].click()
    assert panel.results[0].passed

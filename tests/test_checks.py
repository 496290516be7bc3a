"""The checks API: statuses and messages a learner reads, hints, progress, the panel's text."""

import json

import boto3
import pytest
from support import open_to_the_internet

from labkit import packaging, progress, urls
from labkit.checks import Lab, as_json, as_text
from labkit.checks.context import Context
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


def test_in_a_terminal_a_check_calling_the_notebooks_function_says_to_run_it_there(lab):
    progress.path().unlink(missing_ok=True)  # no pass recorded by another test
    result = by_id(lab.run(step=2, in_terminal=True))["total"]
    assert (result.status, result.message) == (
        "not done yet",
        "this check calls your total, which only the notebook has: run lab.panel(2) there",
    )


def test_in_a_terminal_a_check_calling_the_notebooks_function_passes_once_it_passed_in_the_notebook(lab):
    lab.run(step=2, total=lambda items: sum(item["price"] * item["qty"] for item in items))
    result = by_id(lab.run(step=2, in_terminal=True))["total"]
    assert (result.status, result.message) == (
        "passed",
        "done (it passed in the notebook, where it calls your total; a terminal cannot)",
    )


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


# The check context's helpers, as a learner meets them: the status and message of a check using each.


def outcome(check) -> tuple[str, str]:
    lab = Lab("98", "A lab for the check context's helpers")
    lab.check("under-test", "A check using a helper")(check)
    [result] = lab.run()
    return result.status, result.message


def test_fail_says_failed_with_the_checks_own_message(cloud):
    assert outcome(lambda ctx: ctx.fail("expected 2 copies, found 1")) == ("failed", "expected 2 copies, found 1")


def test_an_aws_error_other_than_not_found_is_not_taken_for_missing(cloud):
    def make_a_queue_named_wrongly(ctx):
        with ctx.not_done_if_missing("SQS queue 'bad name!'"):
            ctx.client("sqs").create_queue(QueueName="bad name!")

    status, message = outcome(make_a_queue_named_wrongly)
    assert status == "error" and "InvalidParameterValue" in message


def read_book_3(ctx):
    book = ctx.table("books-under-test", fix="create it in step 1").get_item(Key={"id": "3"}).get("Item")
    ctx.expect(book == {"id": "3", "stock": 5}, f"expected book 3 with 5 in stock, found {book}")


@pytest.fixture
def books_table(cloud):
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="books-under-test",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="books-under-test", Item={"id": {"S": "3"}, "stock": {"N": "5"}})
    yield
    dynamodb.delete_table(TableName="books-under-test")


def test_a_missing_table_is_not_done_yet_with_what_to_do(cloud):
    assert outcome(read_book_3) == (
        "not done yet",
        "there is no DynamoDB table 'books-under-test' yet: create it in step 1",
    )


def test_a_table_gives_its_items_as_plain_python_values(books_table):
    assert outcome(read_book_3) == ("passed", "done")


FUNCTION = "function-under-test"


def invoke_for_book_3(ctx):
    answer = ctx.invoke(FUNCTION, {"id": "3", "body": "not JSON"}, fix="deploy it in step 3")
    ctx.expect(answer == {"book": "3"}, f"expected {{'book': '3'}}, found {answer}")


@pytest.fixture
def deploy(cloud, tmp_path):
    """Deploys the function from the given files (handler.handler)."""
    iam, lambda_ = boto3.client("iam"), boto3.client("lambda")
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    role = iam.create_role(RoleName=f"{FUNCTION}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def deploy(files: dict):
        for name, source in files.items():
            (tmp_path / name).write_text(source)
        lambda_.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Handler="handler.handler",
            Role=role,
            Code={"ZipFile": packaging.zip_bytes(tmp_path)},
            Timeout=10,
        )

    yield deploy
    lambda_.delete_function(FunctionName=FUNCTION)
    boto3.client("logs").delete_log_group(logGroupName=f"/aws/lambda/{FUNCTION}")
    iam.delete_role(RoleName=f"{FUNCTION}-role")


def test_a_missing_function_is_not_done_yet_with_what_to_do(cloud):
    assert outcome(invoke_for_book_3) == (
        "not done yet",
        f"there is no Lambda function '{FUNCTION}' yet: deploy it in step 3",
    )


def test_a_function_gives_what_its_handler_returned(deploy):
    deploy({"handler.py": 'def handler(event, context):\n    return {"book": event["id"]}\n'})
    assert outcome(invoke_for_book_3) == ("passed", "done")


def test_a_function_that_raises_fails_with_awss_error_and_the_line_of_its_own_code(deploy):
    deploy(
        {
            "handler.py": "import books\n\n\ndef handler(event, context):\n    return books.parse(event['body'])\n",
            "books.py": "import json\n\n\ndef parse(body):\n    return json.loads(body)\n",
        }
    )
    assert outcome(invoke_for_book_3) == (
        "failed",  # the innermost line of the function's own files, not of the json module's
        f"your function {FUNCTION} raised JSONDecodeError: Expecting value: line 1 column 1 (char 0) "
        "(books.py, line 5)",
    )


def test_a_function_raising_its_todo_is_not_done_yet(deploy):
    deploy({"handler.py": 'def handler(event, context):\n    raise NotImplementedError("TODO: step 3 is yours")\n'})
    assert outcome(invoke_for_book_3) == (
        "not done yet",
        f"your function {FUNCTION} is not written yet (TODO: step 3 is yours)",
    )


def get_health_through_the_load_balancer(ctx):
    answer = ctx.get(ctx.load_balancer_url("front-under-test", fix="create it in step 3") + "/health")
    ctx.expect(answer.text == "up", f"expected 'up', found {answer.status_code}: {answer.text!r}")


@pytest.fixture
def load_balancer(cloud):
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    subnets = [subnet["SubnetId"] for subnet in ec2.describe_subnets()["Subnets"]][:2]
    web = open_to_the_internet("front-under-test-web", ec2.describe_vpcs()["Vpcs"][0]["VpcId"])
    arn = elbv2.create_load_balancer(Name="front-under-test", Subnets=subnets, SecurityGroups=[web])["LoadBalancers"][
        0
    ]["LoadBalancerArn"]
    yield arn
    elbv2.delete_load_balancer(LoadBalancerArn=arn)


def test_a_missing_load_balancer_is_not_done_yet_with_what_to_do(cloud):
    assert outcome(get_health_through_the_load_balancer) == (
        "not done yet",
        "there is no load balancer 'front-under-test' yet: create it in step 3",
    )


def test_a_load_balancer_without_a_listener_is_not_done_yet(load_balancer):
    assert outcome(get_health_through_the_load_balancer) == (
        "not done yet",
        "the load balancer front-under-test has no listener yet: create one with create_listener "
        "(Port=80, Protocol='HTTP').",
    )


def test_a_load_balancers_url_is_its_listeners(load_balancer):
    boto3.client("elbv2").create_listener(
        LoadBalancerArn=load_balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "MessageBody": "up"}}],
    )
    assert outcome(get_health_through_the_load_balancer) == ("passed", "done")


API = "catalog-under-test"


def get_books_from_the_api(ctx):
    ctx.get(ctx.api_url(API, "prod", fix="create it in step 4") + "/books")


@pytest.fixture
def make_api(cloud):
    """Makes a REST API called API, deployed to prod or not; returns its id."""
    apigateway = boto3.client("apigateway")
    made = []

    def make_api(deployed=True):
        api_id = apigateway.create_rest_api(name=API)["id"]
        made.append(api_id)
        if deployed:
            root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
            apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
            apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
            apigateway.create_deployment(restApiId=api_id, stageName="prod")
        return api_id

    yield make_api
    for api_id in made:
        apigateway.delete_rest_api(restApiId=api_id)


def test_a_missing_api_is_not_done_yet_with_what_to_do(cloud):
    assert outcome(get_books_from_the_api) == ("not done yet", f"there is no API '{API}' yet: create it in step 4")


def test_an_api_without_its_stage_is_not_done_yet(make_api):
    api_id = make_api(deployed=False)
    assert outcome(get_books_from_the_api) == (
        "not done yet",
        f"the REST API {api_id} has no stage 'prod': deploy it with "
        "create_deployment(restApiId=..., stageName='prod').",
    )


def test_two_apis_of_one_name_fail_and_name_their_ids(make_api):
    first, second = make_api(), make_api()
    assert outcome(get_books_from_the_api) == (
        "failed",
        f"expected one API called '{API}', found 2 ({first}, {second}): delete the extra ones, or run the "
        "lab's cleanup and start the step again",
    )


def test_an_api_url_is_the_invoke_url_of_the_api_of_that_name(make_api):
    api_id = make_api()
    assert Context(None, {}).api_url(API, "prod") == urls.url_for(api_id, "prod")

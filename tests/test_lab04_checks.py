"""Lab 04's checks against wrong answers: each failure says what was expected and what was found.

The handlers are the solution notebook's own (its %%writefile cells); variants of them with one mistake
each fail. Resources carry lab 04's tags, so teardown(lab="04") removes them after each test."""

import json
import sys
import types

import boto3
import pytest
from solution_files import _solution, line_of, written_file
from support import QUEUE_READER

from labkit import config, course, labs, localproc, packaging
from labkit.errors import LabkitError
from labkit.labs import lab04
from labkit.teardown import teardown

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "04_order_events.ipynb"
TAGS = {"labkit:course": config.COURSE_TAG, "labkit:owner": "learner", "labkit:lab": "04"}
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
FILTERS = {"notifications": ["OrderPlaced"], "inventory": ["OrderPlaced", "OrderCancelled"]}


NOTIFICATIONS = written_file(SOLUTION, "notifications_file")
CONFIRMATION_V1, CONFIRMATION_V2 = (
    written_file(SOLUTION, "confirmation_file", 0),
    written_file(SOLUTION, "confirmation_file", 1),
)
INVENTORY = written_file(SOLUTION, "inventory_file")


def result(check_id):
    return next(r for r in labs.require("04").run() if r.id == check_id)


@pytest.fixture
def events(cloud, tmp_path):
    """The topic, and per consumer: queue, DLQ, queue policy, subscription (with these settings)."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="order-events", Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()])["TopicArn"]
    urls = {}

    def build(max_receive_count=3, raw="true", filters=FILTERS, queue_policy=True):
        for name, event_types in filters.items():
            dlq = sqs.create_queue(QueueName=f"{name}-dlq", tags=TAGS)["QueueUrl"]
            urls[name] = sqs.create_queue(
                QueueName=name,
                tags=TAGS,
                Attributes={
                    "VisibilityTimeout": "2",
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": arn(dlq), "maxReceiveCount": max_receive_count}
                    ),
                },
            )["QueueUrl"]
            if queue_policy:
                sqs.set_queue_attributes(
                    QueueUrl=urls[name],
                    Attributes={
                        "Policy": json.dumps(
                            {
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "sns.amazonaws.com"},
                                        "Action": "sqs:SendMessage",
                                        "Resource": arn(urls[name]),
                                        "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
                                    }
                                ]
                            }
                        )
                    },
                )
            sns.subscribe(
                TopicArn=topic,
                Protocol="sqs",
                Endpoint=arn(urls[name]),
                Attributes={"RawMessageDelivery": raw, "FilterPolicy": json.dumps({"event_type": event_types})},
            )
        return urls

    yield build
    teardown(lab="04")


def arn(queue_url: str) -> str:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


@pytest.fixture
def consumer(events, tmp_path):
    """Deploys a consumer function from the given files, with its table and event source mapping."""
    urls = events()
    dynamodb, lambda_ = boto3.client("dynamodb"), boto3.client("lambda")
    role = boto3.client("iam").create_role(
        RoleName="consumer-role", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()]
    )["Role"]["Arn"]
    # The consumers' own table, as the solution grants it (IAM is enforced for workloads).
    boto3.client("iam").put_role_policy(
        RoleName="consumer-role",
        PolicyName="consumer-tables",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:*:table/*"},
                    {"Effect": "Allow", "Action": QUEUE_READER, "Resource": "arn:aws:sqs:*:*:*"},
                    {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
                ],
            }
        ),
    )

    def deploy(name, files: dict, key=("order_id", "S"), response_types=("ReportBatchItemFailures",)):
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key[0], "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key[0], "AttributeType": key[1]}],
            Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
        )
        folder = tmp_path / name
        folder.mkdir()
        for file_name, source in files.items():
            (folder / file_name).write_text(source)
        # Tagged, as the lab makes it, so that the fixture's teardown removes it with the rest.
        boto3.client("logs").create_log_group(logGroupName=f"/aws/lambda/{name}", tags=TAGS)
        lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Handler="handler.handler",
            Role=role,
            Code={"ZipFile": packaging.zip_bytes(folder)},
            Timeout=2,
            Tags=TAGS,
            Environment={
                "Variables": {
                    f"{name.upper()}_TABLE": name,
                    "ORDER_EVENTS_TOPIC_ARN": boto3.client("sns").create_topic(Name="order-events")["TopicArn"],
                }
            },
        )
        lambda_.create_event_source_mapping(
            EventSourceArn=arn(urls[name]), FunctionName=name, BatchSize=10, FunctionResponseTypes=list(response_types)
        )

    return deploy


def test_without_a_topic_step_1_is_not_done_yet(cloud):
    found = result("topic")
    assert (found.status, found.message) == (
        "not done yet",
        "there is no SNS topic 'order-events' yet: create it in step 1",
    )


def test_queues_and_subscriptions_as_the_lab_asks_pass(events):
    events()
    assert result("queues").status == "passed"
    assert result("subscriptions").status == "passed"


def test_a_different_max_receive_count_is_explained(events):
    events(max_receive_count=5)
    found = result("queues")
    assert (found.status, found.message) == ("failed", "expected maxReceiveCount 3 on notifications, found 5")


def test_a_subscription_without_raw_delivery_is_explained(events):
    events(raw="false")
    found = result("subscriptions")
    assert (found.status, found.message) == (
        "failed",
        "expected RawMessageDelivery \"true\" on the subscription of notifications, found 'false'",
    )


def test_inventory_missing_the_cancellations_is_explained(events):
    events(filters={"notifications": ["OrderPlaced"], "inventory": ["OrderPlaced"]})
    found = result("subscriptions")
    assert (found.status, found.message) == (
        "failed",
        'expected the filter policy {"event_type": ["OrderPlaced", "OrderCancelled"]} on message '
        'attributes for inventory, found {"event_type": ["OrderPlaced"]}',
    )


def test_a_queue_without_its_policy_is_explained(events):
    events(queue_policy=False)
    found = result("subscriptions")
    assert found.status == "failed"
    assert found.message.startswith(
        "expected the policy of notifications to allow sns.amazonaws.com "
        "sqs:SendMessage on condition aws:SourceArn = arn:aws:sns:"
    )
    assert found.message.endswith("found no policy (on AWS the topic could not deliver)")


def test_the_solution_consumers_pass(consumer):
    consumer("notifications", {"handler.py": NOTIFICATIONS, "confirmation.py": CONFIRMATION_V2})
    consumer("inventory", {"handler.py": INVENTORY}, key=("book_id", "N"))
    assert [result(check).status for check in ("notifications-consumer", "inventory-consumer", "redrive")] == [
        "passed"
    ] * 3


def test_a_mapping_without_report_batch_item_failures_is_explained(consumer):
    consumer("notifications", {"handler.py": NOTIFICATIONS, "confirmation.py": CONFIRMATION_V1}, response_types=())
    found = result("notifications-consumer")
    assert (found.status, found.message) == (
        "failed",
        'expected FunctionResponseTypes ["ReportBatchItemFailures"] on the mapping of notifications, '
        "found [] (Lambda then ignores batchItemFailures): put it in mapping_settings and run the connect cell "
        "again, which updates the mapping",
    )


def test_a_handler_that_raises_on_one_record_is_explained(consumer):
    raising = NOTIFICATIONS.replace("        except Exception as error:", "        except KeyError as error:")
    consumer("notifications", {"handler.py": raising, "confirmation.py": CONFIRMATION_V1})
    found = result("notifications-consumer")
    assert (found.status, found.message) == (
        "failed",
        "expected the notifications handler to report failed records in batchItemFailures, found it "
        "raised JSONDecodeError: Expecting value: line 1 column 1 (char 0) "
        f"(handler.py, line {line_of(raising, 'json.loads(record')}); Lambda then retries the whole batch",
    )


def test_an_unconditional_put_is_explained(consumer):
    overwriting = NOTIFICATIONS.replace(', ConditionExpression="attribute_not_exists(order_id)"', "")
    consumer("notifications", {"handler.py": overwriting, "confirmation.py": CONFIRMATION_V1})
    found = result("notifications-consumer")
    assert (found.status, found.message) == (
        "failed",
        "expected a second delivery of the same order to change nothing (a conditional put), found the "
        "confirmation written again (to check@bookshop.example)",
    )


def test_inventory_applying_a_duplicate_twice_is_explained(consumer):
    not_idempotent = INVENTORY.replace(
        'ConditionExpression=f"NOT contains(applied_events, :key) AND {rule}"', "ConditionExpression=rule"
    ).replace(', ":key": key}', "}")
    assert not_idempotent.count("ConditionExpression=rule") == 1
    consumer("inventory", {"handler.py": not_idempotent}, key=("book_id", "N"))
    found = result("inventory-consumer")
    assert (found.status, found.message) == (
        "failed",
        "expected 10 - 2 = 8 available after the same OrderPlaced (2 copies) delivered twice, found 6",
    )


def test_a_consumer_still_on_confirmation_v1_is_explained(consumer):
    consumer("notifications", {"handler.py": NOTIFICATIONS, "confirmation.py": CONFIRMATION_V1})
    found = result("redrive")
    assert found.status == "failed"
    assert found.message.startswith(
        "expected a schema 2 event to be confirmed to its customer's email, found it reported failed"
    )


def test_an_order_without_its_confirmation_is_explained(consumer):
    consumer("notifications", {"handler.py": NOTIFICATIONS, "confirmation.py": CONFIRMATION_V2})
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="orders",
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    dynamodb.put_item(TableName="orders", Item={"id": {"S": "o-never-announced"}})
    found = result("isolation")
    assert (found.status, found.message) == (
        "failed",
        "expected a confirmation for each of the 1 orders, found 0 (not confirmed: o-never-announced). The queues "
        "are empty, so their OrderPlaced never reached the notifications queue: an order placed while the "
        "subscription was missing, or its filter policy did not match, was dropped by SNS, which keeps nothing. "
        'Publish it again once the subscription is right: republish("o-never-announced")',
    )


def test_a_handler_answering_something_lambda_cannot_read_is_explained(consumer):
    consumer(
        "notifications",
        {
            "handler.py": NOTIFICATIONS.replace('return {"batchItemFailures": failures}', 'return "done"'),
            "confirmation.py": CONFIRMATION_V1,
        },
    )
    found = result("notifications-consumer")
    assert (found.status, found.message) == (
        "failed",
        'expected the notifications handler to return {"batchItemFailures": [...]}, found done '
        "(Lambda then counts the whole batch as failed)",
    )


def test_a_queue_policy_on_every_resource_still_lets_the_topic_in():
    policy = json.dumps(
        {
            "Statement": {  # one statement, not a list: AWS accepts both
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:order-events"}},
            }
        }
    )
    assert lab04._allows_topic(policy, "arn:aws:sqs:us-east-1:1:notifications", "arn:aws:sns:us-east-1:1:order-events")
    assert not lab04._allows_topic(policy, "arn:aws:sqs:us-east-1:1:notifications", "arn:aws:sns:us-east-1:1:other")


def test_a_restarted_service_not_kept_in_orders_is_explained(cloud):
    topic = boto3.client("sns").create_topic(
        Name="order-events", Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()]
    )
    command = [sys.executable, "services/orders/app.py"]
    variables = {"HOST": "127.0.0.1", "ORDERS_TABLE": "orders", "BOOKSHOP_URL": "http://127.0.0.1:9"}
    try:
        stale = localproc.start("orders", command, env=variables)
        running = localproc.start("orders", command, env={**variables, "ORDER_EVENTS_TOPIC_ARN": topic["TopicArn"]})
        found = labs.require("04").run(step=1, orders=stale)[0]
        assert (found.status, found.message) == (
            "failed",
            f"expected `orders` to be the orders service running now ({running.url}), found `orders` at "
            f"{stale.url}, a service that was stopped by the restart: keep what start_orders_service returns, "
            "orders = start_orders_service(...)",
        )
        assert labs.require("04").run(step=1, orders=running)[0].status == "passed"
    finally:
        localproc.stop("orders")
        teardown(lab="04")


def test_an_inventory_handler_without_a_try_per_record_is_explained(consumer):
    raising = INVENTORY.replace(
        '        except Exception as error:\n            print(f"cannot handle',
        '        except KeyError as error:\n            print(f"cannot handle',
    )
    assert raising != INVENTORY
    consumer("inventory", {"handler.py": raising}, key=("book_id", "N"))
    found = result("inventory-consumer")
    assert (found.status, found.message) == (
        "failed",
        "expected the inventory handler to report failed records in batchItemFailures, found it "
        "raised JSONDecodeError: Expecting value: line 1 column 1 (char 0) "
        f"(handler.py, line {line_of(raising, 'apply(json.loads(record')}); Lambda then retries the whole batch",
    )


def test_an_inventory_handler_that_reports_no_failures_is_explained(consumer):
    silent = INVENTORY.replace('    return {"batchItemFailures": failures}\n', "    return None\n")
    assert silent != INVENTORY
    consumer("inventory", {"handler.py": silent}, key=("book_id", "N"))
    found = result("inventory-consumer")
    assert found.status == "failed"
    assert found.message.startswith("expected batchItemFailures to list only the record whose body is not JSON (")
    assert found.message.endswith(
        "found []: without it Lambda counts the batch as done and deletes the bad record, or retries the good "
        "one with it"
    )


def test_stock_taken_below_zero_is_explained(consumer):
    no_stock_rule = INVENTORY.replace('"available >= :qty AND NOT contains', '"NOT contains').replace(
        'values.update({":qty": item["qty"], ":rejected": rejected})', 'values.update({":rejected": rejected})'
    )
    assert no_stock_rule.count("available >= :qty") == 0
    consumer("inventory", {"handler.py": no_stock_rule}, key=("book_id", "N"))
    found = result("inventory-consumer")
    assert (found.status, found.message) == (
        "failed",
        "expected an OrderPlaced of 11 copies with 10 available to be rejected (stock left at 10, the record not "
        "reported failed: retrying cannot make stock appear), found -1 available",
    )


def test_a_confirmation_that_reads_only_schema_2_is_explained(consumer):
    only_schema_2 = CONFIRMATION_V2.replace(
        'recipient = event["email"] if event.get("schema", 1) == 1 else event["customer"]["email"]',
        'recipient = event["customer"]["email"]',
    )
    assert only_schema_2 != CONFIRMATION_V2
    consumer("notifications", {"handler.py": NOTIFICATIONS, "confirmation.py": only_schema_2})
    found = result("redrive")
    assert found.status == "failed"
    assert found.message.startswith(
        "expected a schema 1 event to be confirmed to its customer's email (schema 1 events, without a schema "
        "field, still come from the orders service), found it reported failed (['"
    )


def given(definition: str) -> str:
    """The given code of the solution's cell that defines `definition`, up to the learner's part."""
    source = next(
        cell.source for cell in _solution(SOLUTION).cells if cell.cell_type == "code" and definition in cell.source
    )
    return source.split("### BEGIN SOLUTION", 1)[0]


def test_connect_brings_an_earlier_mapping_to_the_current_settings(consumer, capsys):
    consumer("notifications", {"handler.py": NOTIFICATIONS, "confirmation.py": CONFIRMATION_V2}, response_types=())
    assert result("notifications-consumer").status == "failed"
    sqs = boto3.client("sqs")
    namespace = {
        "lambda_": boto3.client("lambda"),
        "queue_urls": {"notifications": sqs.get_queue_url(QueueName="notifications")["QueueUrl"]},
        "queue_arn": arn,
        "env": course.current(),
    }
    exec(given("def connect("), namespace)
    settings = {
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    namespace["connect"]("notifications", settings)
    printed = capsys.readouterr().out
    assert printed.startswith("updated the event source mapping of notifications, which had {")
    assert "'FunctionResponseTypes': []" in printed and printed.count("\n") == 1
    assert result("notifications-consumer").status == "passed"


def test_consumer_queue_brings_an_earlier_filter_policy_to_the_current_one(events, capsys):
    events(filters={"notifications": ["OrderPlaced"], "inventory": ["OrderPlaced", "OrderCanceled"]})
    assert result("subscriptions").status == "failed"
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name="order-events")["TopicArn"]
    namespace = {
        "sqs": sqs,
        "sns": sns,
        "json": json,
        "env": course.current(),
        "topic_arn": topic_arn,
        "visibility_timeout_s": 2,
        "max_receive_count": 3,
    }
    exec(given("def consumer_queue(").split("\nfor name in", 1)[0], namespace)  # the definitions only
    namespace["queue_policy"] = lambda queue_arn: {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ]
    }
    namespace["filter_policies"] = {name: {"event_type": types} for name, types in FILTERS.items()}
    namespace["consumer_queue"]("inventory")
    assert capsys.readouterr().out == (
        'updated the FilterPolicy of the subscription of inventory: {"event_type": ["OrderPlaced", '
        '"OrderCanceled"]} -> {"event_type": ["OrderPlaced", "OrderCancelled"]} (on AWS it takes up to 15 '
        "minutes to take full effect)\n"
    )
    assert result("subscriptions").status == "passed"


def redrive_all_with(redrive, capsys) -> tuple[int, str]:
    """Run the given redrive_all("notifications") of step 6 with this redrive; (what it returned, what it printed)."""
    from labkit.waits import wait_until

    sqs = boto3.client("sqs")
    urls = {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in ("notifications", "notifications-dlq")}

    def queue_counts(url):
        found = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(found["ApproximateNumberOfMessages"]), int(found["ApproximateNumberOfMessagesNotVisible"])

    namespace = {
        "sqs": sqs,
        "ClientError": sqs.exceptions.ClientError,
        "wait_until": wait_until,
        "queue_counts": queue_counts,
        "queue_arn": arn,
        "queue_urls": {"notifications": urls["notifications"]},
        "dlq_urls": {"notifications": urls["notifications-dlq"]},
    }
    source = next(c.source for c in _solution(SOLUTION).cells if "def redrive_all(" in c.source)
    exec(source[source.index("def redrive_all(") :].split('\nredrive_all("notifications")', 1)[0], namespace)
    namespace["redrive"] = redrive
    capsys.readouterr()
    moved = namespace["redrive_all"]("notifications")
    return moved, capsys.readouterr().out


def test_a_redrive_started_from_the_queue_instead_of_its_dlq_says_what_aws_answered(events, capsys):
    urls = events(filters={"notifications": ["OrderPlaced"]})
    sqs = boto3.client("sqs")

    def redrive(dlq_arn):
        return sqs.start_message_move_task(SourceArn=arn(urls["notifications"]))["TaskHandle"]

    moved, printed = redrive_all_with(redrive, capsys)
    assert moved == 0
    assert printed.endswith(
        "\nyour redrive could not start a move task: Source queue must be configured as a Dead Letter Queue.\n"
    )


def test_the_given_redrive_follows_the_move_task_until_the_dlq_is_empty(events, capsys):
    events(filters={"notifications": ["OrderPlaced"]})
    sqs = boto3.client("sqs")
    dlq = sqs.get_queue_url(QueueName="notifications-dlq")["QueueUrl"]
    for number in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"failed {number}")

    def redrive(dlq_arn):
        return sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]

    moved, printed = redrive_all_with(redrive, capsys)
    assert printed.endswith(
        "move task COMPLETED: 3 moved back to notifications | left in its DLQ: 0 waiting, 0 in flight\n"
    )
    assert moved == 3


def consumer_queue_namespace(**names) -> dict:
    """Step 2's given cell up to its loop (the definitions), run with these names; its namespace."""
    namespace = {"sqs": boto3.client("sqs"), "sns": boto3.client("sns"), "json": json, "LabkitError": LabkitError}
    namespace.update(names)
    exec(given("def consumer_queue(").split("\nfor name in", 1)[0], namespace)
    return namespace


def test_consumer_queue_before_the_policies_are_written_says_which_cell_to_run(cloud):
    with pytest.raises(LabkitError) as raised:
        consumer_queue_namespace()["consumer_queue"]("notifications")
    assert str(raised.value) == (
        "filter_policies has no entry for 'notifications', or queue_policy is not defined yet: write them (step 2) "
        "and run their cell, then this one"
    )


def test_consumer_queue_for_a_consumer_without_its_filter_policy_says_so(cloud):
    filters = {name: {"event_type": types} for name, types in FILTERS.items()}
    namespace = consumer_queue_namespace(filter_policies=filters, queue_policy=lambda queue_arn: {})
    with pytest.raises(LabkitError) as raised:
        namespace["consumer_queue"]("orders")  # step 5, its filter policy not added
    assert str(raised.value).startswith("filter_policies has no entry for 'orders'")
    assert boto3.client("sqs").list_queues().get("QueueUrls", []) == []  # refused before anything is made


def step_1_report() -> str:
    """What step 1's cell runs after the learner's part: the orders service's topic, said in one line."""
    source = next(
        c.source for c in _solution(SOLUTION).cells if c.cell_type == "code" and "order_events_topic" in c.source
    )
    return source.split("### END SOLUTION\n", 1)[1]


def test_step_1s_cell_says_when_orders_is_a_service_the_restart_stopped(cloud):
    import requests

    stopped = types.SimpleNamespace(url="http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(LabkitError) as raised:
        exec(step_1_report(), {"requests": requests, "LabkitError": LabkitError, "orders": stopped})
    assert str(raised.value) == (
        "orders (http://127.0.0.1:9) does not answer: the restart stopped it. Keep what the restart returns, "
        "orders = start_orders_service(...)"
    )


def test_step_1s_cell_says_when_orders_was_not_restarted_with_the_topic(cloud, capsys):
    import requests

    command = [sys.executable, "services/orders/app.py"]
    variables = {"HOST": "127.0.0.1", "ORDERS_TABLE": "orders", "BOOKSHOP_URL": "http://127.0.0.1:9"}
    try:
        orders = localproc.start("orders", command, env=variables)
        exec(step_1_report(), {"requests": requests, "LabkitError": LabkitError, "orders": orders})
    finally:
        localproc.stop("orders")
    assert capsys.readouterr().out == (
        "the orders service publishes to: no topic (restart it with ORDER_EVENTS_TOPIC_ARN set)\n"
    )

"""Event sources on the local cloud run a function as AWS runs it: SQS polled in the background in
batches, SNS, EventBridge and S3 delivering asynchronously, each with AWS's event shape."""

import hashlib
import json
import re
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from support import QUEUE_READER, grant, stays, wait_for
from test_dataplane_lambda import clients_for, deploy, log_messages

# Records the bodies of each batch it gets, and whether it failed it; fails a body "fail-once" the
# first time it is received, and every body "fail-always".
RECORD_BATCHES = """
    import json

    def handler(event, context):
        records = event["Records"]
        failed = [r["messageId"] for r in records
                  if r["body"] == "fail-always"
                  or (r["body"] == "fail-once"
                      and r["attributes"]["ApproximateReceiveCount"] == "1")]
        print("BATCH " + json.dumps({"bodies": [r["body"] for r in records], "ok": not failed,
                                     "counts": [r["attributes"]["ApproximateReceiveCount"]
                                                for r in records]}))
        if failed:
            raise RuntimeError("failed: " + ", ".join(failed))
"""
# Prints the event it gets and when it started, then works for a second.
PRINT_EVENT_THEN_WORK = """
    import json
    import time

    def handler(event, context):
        print("EVENT " + json.dumps({"event": event, "started": time.time()}))
        time.sleep(1)
"""
ISO_SECONDS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
ISO_MILLISECONDS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"


@pytest.fixture(scope="module")
def aws(cloud):
    clients = clients_for(boto3.Session())
    clients.update(sns=boto3.client("sns"), events=boto3.client("events"), s3=boto3.client("s3"))
    grant(clients["role"], QUEUE_READER)  # the mappings' pollers read the queues with it
    return clients


def make_queue(aws, fifo: bool = False, **attributes) -> tuple[str, str]:
    name = f"jobs-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    if fifo:
        attributes.update(FifoQueue="true", ContentBasedDeduplication="true")
    url = aws["sqs"].create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, arn["Attributes"]["QueueArn"]


def function_arn(aws, name: str) -> str:
    return aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def permit(aws, name: str, service: str, source_arn: str) -> None:
    """Allow an AWS service to invoke the function for source_arn, as AWS requires of SNS and EventBridge."""
    aws["lambda"].add_permission(
        FunctionName=name,
        StatementId=f"{service.split('.')[0]}-{uuid.uuid4().hex[:6]}",
        Action="lambda:InvokeFunction",
        Principal=service,
        SourceArn=source_arn,
    )


def batches(aws, name: str) -> list[dict]:
    return [json.loads(m.split(" ", 1)[1]) for m in log_messages(aws, name) if m.startswith("BATCH ")]


def events_seen(aws, name: str) -> list[dict]:
    return [json.loads(m.split(" ", 1)[1]) for m in log_messages(aws, name) if m.startswith("EVENT ")]


def messages_in(aws, queue_url: str) -> int:
    attributes = aws["sqs"].get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_send_message_returns_before_the_handler_runs_and_it_gets_aws_sqs_event(aws, cloud):
    name = deploy(aws, PRINT_EVENT_THEN_WORK)
    queue, queue_arn = make_queue(aws)
    aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
    sent_at = time.time()
    sent = aws["sqs"].send_message(
        QueueUrl=queue,
        MessageBody="order 17",
        MessageAttributes={"shop": {"DataType": "String", "StringValue": "north"}},
    )
    returned_at = time.time()

    seen = wait_for(lambda: events_seen(aws, name), 10, "the handler's EVENT line")
    assert seen[0]["started"] >= sent_at
    # Compared with the handler's own clock, not a fixed bound, which a busy machine can exceed.
    assert returned_at < seen[0]["started"] + 1  # the handler works for a second: SendMessage did not wait
    (record,) = seen[0]["event"]["Records"]
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["messageId"] == sent["MessageId"] and record["body"] == "order 17"
    assert record["md5OfBody"] == hashlib.md5(b"order 17").hexdigest()
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["messageAttributes"] == {
        "shop": {"stringValue": "north", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["attributes"]["SentTimestamp"].isdigit()
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue_arn
    assert record["awsRegion"] == cloud.region
    wait_for(lambda: messages_in(aws, queue) == 0, 5, "the message to be deleted once the handler succeeded")


def test_batch_size_and_batching_window_are_honoured(aws):
    name = deploy(aws, RECORD_BATCHES)
    queue, queue_arn = make_queue(aws)
    aws["lambda"].create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=name, BatchSize=3, MaximumBatchingWindowInSeconds=1
    )
    aws["sqs"].send_message_batch(QueueUrl=queue, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(7)])
    wait_for(lambda: sum(len(b["bodies"]) for b in batches(aws, name)) >= 7, 10, "all 7 messages in batches")
    # Full batches go at once; the last waits out the window, then goes with what there is.
    assert sorted(len(b["bodies"]) for b in batches(aws, name)) == [1, 3, 3]

    for n in range(2):  # sent apart, within one window: one invocation
        aws["sqs"].send_message(QueueUrl=queue, MessageBody=f"late{n}")
        time.sleep(0.3)
    wait_for(lambda: len(batches(aws, name)) == 4, 5, "a fourth batch")
    assert batches(aws, name)[-1]["bodies"] == ["late0", "late1"]


def test_a_failing_message_reaches_the_dlq_after_max_receive_count_attempts(aws):
    name = deploy(aws, RECORD_BATCHES, Timeout=1)
    dlq, dlq_arn = make_queue(aws)
    queue, queue_arn = make_queue(
        aws, VisibilityTimeout=1, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    )
    aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
    aws["sqs"].send_message(QueueUrl=queue, MessageBody="fail-always")

    def in_dlq():
        return aws["sqs"].receive_message(QueueUrl=dlq).get("Messages")

    moved = wait_for(in_dlq, 10, "the message in the dead-letter queue")
    assert moved[0]["Body"] == "fail-always"
    attempts = batches(aws, name)
    assert [b["counts"] for b in attempts] == [["1"], ["2"], ["3"]]
    assert not any(b["ok"] for b in attempts) and messages_in(aws, queue) == 0


def test_a_visibility_timeout_shorter_than_the_function_timeout_is_refused_as_on_aws(aws):
    name = deploy(aws, RECORD_BATCHES, Timeout=5)
    _, queue_arn = make_queue(aws, VisibilityTimeout=2)
    with pytest.raises(
        aws["lambda"].exceptions.InvalidParameterValueException,
        match="Queue visibility timeout: 2 seconds is less than Function timeout: 5 seconds",
    ):
        aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)


def test_report_batch_item_failures_redelivers_only_the_failed_items(aws):
    name = deploy(
        aws,
        RECORD_BATCHES.replace(
            'raise RuntimeError("failed: " + ", ".join(failed))',
            'return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}',
        ),
        Timeout=2,
    )
    queue, queue_arn = make_queue(aws, VisibilityTimeout=2)
    aws["lambda"].create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=name,
        BatchSize=3,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    aws["sqs"].send_message_batch(
        QueueUrl=queue, Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(["a", "fail-once", "c"])]
    )
    wait_for(lambda: len(batches(aws, name)) >= 2, 8, "the batch and the redelivery of its failed item")
    wait_for(lambda: messages_in(aws, queue) == 0, 5, "every message to be deleted")
    # A message not deleted would come back after the visibility timeout of 2 s.
    stays(lambda: len(batches(aws, name)) == 2, 3, "no third batch")
    first, second = (b["bodies"] for b in batches(aws, name))
    assert sorted(first) == ["a", "c", "fail-once"] and second == ["fail-once"]


def test_an_invalid_batch_response_fails_the_whole_batch(aws):
    name = deploy(
        aws,
        """
        import json

        def handler(event, context):
            records = event["Records"]
            print("BATCH " + json.dumps({"bodies": [r["body"] for r in records], "ok": True,
                                         "counts": []}))
            if records[0]["attributes"]["ApproximateReceiveCount"] == "1":
                return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}
    """,
        Timeout=1,
    )
    queue, queue_arn = make_queue(aws, VisibilityTimeout=1)
    aws["lambda"].create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=name, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    aws["sqs"].send_message(QueueUrl=queue, MessageBody="x")
    wait_for(lambda: len(batches(aws, name)) == 2, 6, "the batch and its redelivery")
    wait_for(lambda: messages_in(aws, queue) == 0, 5, "the message to be deleted")


def test_disable_stops_consumption_enable_drains_and_delete_stops_the_poller(aws):
    name = deploy(aws, RECORD_BATCHES)
    queue, queue_arn = make_queue(aws)
    # The positive control: an enabled mapping of the same function, on a queue of its own. What it
    # consumes after the other queue got its messages, the other mapping would have consumed too.
    control_queue, control_arn = make_queue(aws)
    aws["lambda"].create_event_source_mapping(EventSourceArn=control_arn, FunctionName=name)
    mapping = aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)["UUID"]
    aws["lambda"].update_event_source_mapping(UUID=mapping, Enabled=False)
    assert aws["lambda"].get_event_source_mapping(UUID=mapping)["State"] == "Disabled"

    def consumed():
        return sorted(body for b in batches(aws, name) for body in b["bodies"])

    for n in range(3):
        aws["sqs"].send_message(QueueUrl=queue, MessageBody=f"backlog{n}")
    aws["sqs"].send_message(QueueUrl=control_queue, MessageBody="control1")
    wait_for(lambda: "control1" in consumed(), 10, "the enabled mapping to consume its message")
    stays(lambda: consumed() == ["control1"] and messages_in(aws, queue) == 3, 1, "the disabled mapping's queue left")

    aws["lambda"].update_event_source_mapping(UUID=mapping, Enabled=True)
    assert aws["lambda"].get_event_source_mapping(UUID=mapping)["State"] == "Enabled"
    wait_for(
        lambda: messages_in(aws, queue) == 0 and consumed() == ["backlog0", "backlog1", "backlog2", "control1"],
        5,
        "the enabled mapping to drain the backlog",
    )

    aws["lambda"].delete_event_source_mapping(UUID=mapping)
    aws["sqs"].send_message(QueueUrl=queue, MessageBody="after delete")
    aws["sqs"].send_message(QueueUrl=control_queue, MessageBody="control2")
    wait_for(lambda: "control2" in consumed(), 10, "the remaining mapping to consume its message")
    stays(
        lambda: "after delete" not in consumed() and messages_in(aws, queue) == 1, 1, "the deleted mapping's queue left"
    )


def test_fifo_keeps_the_order_within_each_message_group(aws):
    name = deploy(aws, RECORD_BATCHES, Timeout=1)
    queue, queue_arn = make_queue(aws, fifo=True, VisibilityTimeout=1)
    aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
    sent = [("a", "a1"), ("b", "b1"), ("a", "fail-once"), ("a", "a3"), ("b", "b2"), ("a", "a4")]
    for group, body in sent:
        aws["sqs"].send_message(QueueUrl=queue, MessageBody=body, MessageGroupId=group)
    wait_for(lambda: messages_in(aws, queue) == 0, 10, "every message to be consumed")

    done: list[str] = []
    for batch in batches(aws, name):
        for position, body in enumerate(batch["bodies"]):
            group = next(g for g, b in sent if b == body)
            earlier = [b for g, b in sent[: sent.index((group, body))] if g == group]
            # every earlier message of the group succeeded before, or goes first in this batch
            assert all(e in done or e in batch["bodies"][:position] for e in earlier), batch
        if batch["ok"]:
            done += batch["bodies"]
    assert sorted(done) == sorted(body for _, body in sent)
    assert any(not batch["ok"] for batch in batches(aws, name))  # fail-once did fail once


def test_fifo_records_carry_the_group_deduplication_id_and_sequence_number(aws):
    name = deploy(aws, PRINT_EVENT_THEN_WORK)
    queue, queue_arn = make_queue(aws, fifo=True)
    aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
    aws["sqs"].send_message(QueueUrl=queue, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="d1")
    seen = wait_for(lambda: events_seen(aws, name), 10, "the handler's EVENT line")
    attributes = seen[0]["event"]["Records"][0]["attributes"]
    assert attributes["MessageGroupId"] == "g" and attributes["MessageDeduplicationId"] == "d1"
    assert re.fullmatch(r"\d{20}", attributes["SequenceNumber"])


def test_sns_publish_returns_at_once_and_the_handler_gets_the_sns_event(aws):
    name = deploy(aws, PRINT_EVENT_THEN_WORK)
    topic = aws["sns"].create_topic(Name=f"orders-{uuid.uuid4().hex[:8]}")["TopicArn"]
    subscription = aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn(aws, name))[
        "SubscriptionArn"
    ]
    permit(aws, name, "sns.amazonaws.com", topic)
    published = aws["sns"].publish(
        TopicArn=topic,
        Message="order 42",
        Subject="New order",
        MessageAttributes={"shop": {"DataType": "String", "StringValue": "north"}},
    )
    returned_at = time.time()

    seen = wait_for(lambda: events_seen(aws, name), 10, "the handler's EVENT line")
    assert returned_at < seen[0]["started"] + 1  # the handler works for a second: Publish did not wait
    (record,) = seen[0]["event"]["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == subscription
    sns = record["Sns"]
    assert set(sns) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    }
    assert sns["Type"] == "Notification" and sns["MessageId"] == published["MessageId"]
    assert sns["TopicArn"] == topic and sns["Subject"] == "New order"
    assert sns["Message"] == "order 42" and re.fullmatch(ISO_MILLISECONDS, sns["Timestamp"])
    assert sns["Signature"] and sns["SigningCertUrl"].startswith("https://sns.")
    assert sns["UnsubscribeUrl"].endswith(f"SubscriptionArn={subscription}")
    assert sns["MessageAttributes"] == {"shop": {"Type": "String", "Value": "north"}}


def test_eventbridge_delivers_to_a_lambda_target_with_the_event_shape(aws, cloud):
    name = deploy(aws, PRINT_EVENT_THEN_WORK)
    rule = f"orders-{uuid.uuid4().hex[:8]}"
    aws["events"].put_rule(Name=rule, EventPattern=json.dumps({"source": ["shop.orders"]}))
    arn = function_arn(aws, name)
    aws["events"].put_targets(
        Rule=rule, Targets=[{"Id": "whole", "Arn": arn}, {"Id": "detail", "Arn": arn, "InputPath": "$.detail"}]
    )
    permit(aws, name, "events.amazonaws.com", aws["events"].describe_rule(Name=rule)["Arn"])
    answer = aws["events"].put_events(
        Entries=[
            {
                "Source": "shop.orders",
                "DetailType": "OrderPlaced",
                "Detail": json.dumps({"id": 7}),
                "Resources": ["arn:aws:shop:order/7"],
            },
            {"Source": "shop.returns", "DetailType": "Returned", "Detail": "{}"},
        ]
    )
    returned_at = time.time()
    assert answer["FailedEntryCount"] == 0

    wait_for(lambda: len(events_seen(aws, name)) >= 2, 10, "the matching event at both targets")
    # Sent in the same PutEvents: a delivery of the non-matching event would come as soon.
    stays(lambda: len(events_seen(aws, name)) == 2, 1, "no delivery of the non-matching event")
    assert all(returned_at < seen["started"] + 1 for seen in events_seen(aws, name))  # PutEvents did not wait
    received = [seen["event"] for seen in events_seen(aws, name)]
    assert len(received) == 2 and {"id": 7} in received
    (event,) = [e for e in received if e != {"id": 7}]
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert event["id"] == answer["Entries"][0]["EventId"] and event["version"] == "0"
    assert event["detail-type"] == "OrderPlaced" and event["source"] == "shop.orders"
    assert event["detail"] == {"id": 7} and event["resources"] == ["arn:aws:shop:order/7"]
    assert event["account"] == arn.split(":")[4] and event["region"] == cloud.region
    assert re.fullmatch(ISO_SECONDS, event["time"])


def test_a_disabled_rule_delivers_nothing(aws):
    name = deploy(aws, PRINT_EVENT_THEN_WORK)
    # The positive control: an enabled rule to the same function, its event sent in the same PutEvents.
    for state in ("DISABLED", "ENABLED"):
        rule = f"{state.lower()}-{uuid.uuid4().hex[:8]}"
        aws["events"].put_rule(Name=rule, EventPattern=json.dumps({"source": [f"shop.{state}"]}), State=state)
        aws["events"].put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": function_arn(aws, name)}])
        permit(aws, name, "events.amazonaws.com", aws["events"].describe_rule(Name=rule)["Arn"])
    answer = aws["events"].put_events(
        Entries=[{"Source": f"shop.{state}", "DetailType": "x", "Detail": "{}"} for state in ("DISABLED", "ENABLED")]
    )
    assert answer["FailedEntryCount"] == 0

    def sources():
        return [seen["event"]["source"] for seen in events_seen(aws, name)]

    wait_for(sources, 10, "the enabled rule's delivery")
    stays(lambda: sources() == ["shop.ENABLED"], 1, "no delivery by the disabled rule")


def test_sns_delivers_only_to_a_function_whose_policy_allows_the_topic(aws):
    allowed, refused = deploy(aws, PRINT_EVENT_THEN_WORK), deploy(aws, PRINT_EVENT_THEN_WORK)
    topic = aws["sns"].create_topic(Name=f"orders-{uuid.uuid4().hex[:8]}")["TopicArn"]
    other_topic = aws["sns"].create_topic(Name=f"other-{uuid.uuid4().hex[:8]}")["TopicArn"]
    for name in (refused, allowed):  # SNS delivers in this order: the refusal comes first
        aws["sns"].subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn(aws, name))
    permit(aws, allowed, "sns.amazonaws.com", topic)
    permit(aws, refused, "sns.amazonaws.com", other_topic)  # a permission, for another topic
    aws["sns"].publish(TopicArn=topic, Message="order 43")
    wait_for(lambda: events_seen(aws, allowed), 10, "the delivery the function's policy allows")
    stays(lambda: events_seen(aws, refused) == [], 1, "no delivery the function's policy refuses")


def test_a_topic_delivers_to_a_queue_only_when_the_queue_policy_allows_the_topic(aws):
    topic = aws["sns"].create_topic(Name=f"orders-{uuid.uuid4().hex[:8]}")["TopicArn"]
    other_topic = aws["sns"].create_topic(Name=f"other-{uuid.uuid4().hex[:8]}")["TopicArn"]
    (allowed_url, allowed_arn), (refused_url, refused_arn), (bare_url, bare_arn) = (make_queue(aws) for _ in range(3))
    for url, arn, source in ((allowed_url, allowed_arn, topic), (refused_url, refused_arn, other_topic)):
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": source}},
        }
        aws["sqs"].set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [statement]})})
    for arn in (allowed_arn, refused_arn, bare_arn):
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    aws["sns"].publish(TopicArn=topic, Message="order 44")
    assert messages_in(aws, allowed_url) == 1  # SNS delivers to queues within Publish
    assert messages_in(aws, refused_url) == 0
    assert messages_in(aws, bare_url) == 0


def test_subscribing_again_with_another_filter_policy_is_refused_and_changes_nothing(aws):
    topic = aws["sns"].create_topic(Name=f"orders-{uuid.uuid4().hex[:8]}")["TopicArn"]
    _, queue_arn = make_queue(aws)
    placed = {"FilterPolicy": json.dumps({"event_type": ["OrderPlaced"]}), "RawMessageDelivery": "true"}
    first = aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=placed)
    again = aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=placed)
    cancelled = {**placed, "FilterPolicy": json.dumps({"event_type": ["OrderCancelled"]})}
    with pytest.raises(aws["sns"].exceptions.InvalidParameterException) as refused:
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=cancelled)
    assert again["SubscriptionArn"] == first["SubscriptionArn"]
    assert refused.value.response["Error"]["Message"] == (
        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
    )
    kept = aws["sns"].get_subscription_attributes(SubscriptionArn=first["SubscriptionArn"])["Attributes"]
    assert json.loads(kept["FilterPolicy"]) == {"event_type": ["OrderPlaced"]}


def test_a_mapping_whose_role_cannot_read_the_queue_is_refused_as_on_aws(aws):
    name = deploy(aws, PRINT_EVENT_THEN_WORK)
    _, queue_arn = make_queue(aws)
    reader = aws["role"].rsplit("/", 1)[-1]
    aws["iam"].delete_role_policy(RoleName=reader, PolicyName="granted-by-the-test")
    try:
        with pytest.raises(aws["lambda"].exceptions.InvalidParameterValueException) as refused:
            aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
    finally:
        grant(aws["role"], QUEUE_READER)
    mapping = aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
    assert refused.value.response["Error"]["Message"] == (
        "The provided execution role does not have permissions to call ReceiveMessage on SQS"
    )
    assert mapping["State"] in ("Creating", "Enabled")


def test_s3_refuses_to_notify_a_function_that_does_not_allow_it_and_invokes_one_that_does(aws):
    name = deploy(aws, PRINT_EVENT_THEN_WORK)
    bucket = f"uploads-{uuid.uuid4().hex[:8]}"
    aws["s3"].create_bucket(Bucket=bucket)
    notify = {
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": function_arn(aws, name), "Events": ["s3:ObjectCreated:*"]}
        ]
    }
    with pytest.raises(ClientError) as refused:  # as on AWS: S3 checks it may invoke the function first
        aws["s3"].put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notify)
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"
    assert refused.value.response["Error"]["Message"] == "Unable to validate the following destination configurations"
    assert "LambdaFunctionConfigurations" not in aws["s3"].get_bucket_notification_configuration(Bucket=bucket)

    permit(aws, name, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
    aws["s3"].put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notify)
    aws["s3"].put_object(Bucket=bucket, Key="covers/red flower.jpg", Body=b"jpeg")
    [seen] = wait_for(lambda: events_seen(aws, name), 10, "the S3 event at the function")
    [record] = seen["event"]["Records"]
    assert record["eventSource"] == "aws:s3" and record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == bucket and record["s3"]["object"]["key"] == "covers/red+flower.jpg"


def test_filter_criteria_let_only_matching_messages_reach_the_function_and_delete_the_rest(aws):
    name = deploy(aws, RECORD_BATCHES)
    url, arn = make_queue(aws, VisibilityTimeout=30)
    aws["lambda"].create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=10,
        FilterCriteria={
            "Filters": [
                {
                    "Pattern": json.dumps(
                        {"body": {"event_type": ["OrderPlaced"], "total_cents": [{"numeric": [">", 0]}]}}
                    )
                }
            ]
        },
    )
    bodies = [
        json.dumps({"event_type": "OrderPlaced", "total_cents": 3999}),
        json.dumps({"event_type": "OrderCancelled", "total_cents": 3999}),
        json.dumps({"event_type": "OrderPlaced", "total_cents": 0}),
        "not json at all",
    ]
    for body in bodies:
        aws["sqs"].send_message(QueueUrl=url, MessageBody=body)
    wait_for(lambda: messages_in(aws, url) == 0, 15, "every message handled or dropped")
    delivered = [body for batch in batches(aws, name) for body in batch["bodies"]]
    assert delivered == [bodies[0]]  # AWS deletes the others without invoking the function


def test_a_message_move_task_redrives_a_dead_letter_queue_to_its_source_queue(aws):
    dlq_url, dlq_arn = make_queue(aws)
    url, _ = make_queue(aws, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    for body in ("one", "two", "three"):
        aws["sqs"].send_message(QueueUrl=dlq_url, MessageBody=body)
    not_a_dlq_url, not_a_dlq_arn = make_queue(aws)
    with pytest.raises(aws["sqs"].exceptions.UnsupportedOperation, match="must be configured as a Dead Letter Queue"):
        aws["sqs"].start_message_move_task(SourceArn=not_a_dlq_arn)

    handle = aws["sqs"].start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=50)["TaskHandle"]
    [task] = wait_for(
        lambda: (lambda r: r if r and r[0]["Status"] == "COMPLETED" else None)(
            aws["sqs"].list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        ),
        10,
        "the move task to complete",
    )
    assert (task["ApproximateNumberOfMessagesMoved"], task["ApproximateNumberOfMessagesToMove"]) == (3, 3)
    assert "TaskHandle" not in task  # only a running task has one
    moved = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in moved) == ["one", "three", "two"] and messages_in(aws, dlq_url) == 0
    with pytest.raises(aws["sqs"].exceptions.ResourceNotFoundException, match="Task does not exist"):
        aws["sqs"].cancel_message_move_task(TaskHandle=handle)

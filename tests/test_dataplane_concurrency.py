"""Lambda's concurrency limits on the local cloud, as a learner meets them: reserved concurrency throttles a
synchronous invoke with AWS's 429, holds an asynchronous one back without losing it, shows in the Throttles
metric; an SQS event source's MaximumConcurrency bounds how many batches run at once."""

import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from support import QUEUE_READER, grant, wait_for
from test_dataplane_lambda import call, clients_for, deploy, log_messages

# Touches the file the event names once it runs, then works for the seconds it says.
SIGNAL_THEN_WORK = """
    import time
    from pathlib import Path

    def handler(event, context):
        Path(event["started"]).touch()
        time.sleep(event["seconds"])
        return "done"
"""
# Prints when it started and ended work on its batch.
RECORD_SPANS = """
    import json
    import time

    def handler(event, context):
        started = time.time()
        time.sleep(0.2)
        bodies = [r["body"] for r in event["Records"]]
        print("SPAN " + json.dumps({"bodies": bodies, "from": started, "to": time.time()}))
"""
THROTTLED_BY_RESERVATION = {
    "Code": "TooManyRequestsException",
    "Message": "Rate Exceeded.",
}


@pytest.fixture(scope="module")
def aws(cloud):
    clients = clients_for(boto3.Session())
    clients["cloudwatch"] = boto3.client("cloudwatch")
    grant(clients["role"], QUEUE_READER)
    return clients


def started_file() -> str:
    return os.path.join(tempfile.mkdtemp(prefix="labkit-concurrency-"), "started")


def throttles(aws, name: str) -> float:
    datapoints = aws["cloudwatch"].get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Throttles",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(point["Sum"] for point in datapoints)


def test_reserved_concurrency_of_zero_throttles_every_invoke_with_aws_429_and_counts_a_throttle(aws):
    name = deploy(aws, "def handler(event, context):\n    return 'ran'\n")
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)

    with pytest.raises(ClientError) as raised:
        call(aws, name)

    response = raised.value.response
    assert response["Error"] == THROTTLED_BY_RESERVATION
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    wait_for(lambda: throttles(aws, name) >= 1, 10, "the Throttles metric to count the throttled invoke")


def test_an_invoke_beyond_the_reserved_concurrency_is_throttled_while_the_others_run(aws):
    name = deploy(aws, SIGNAL_THEN_WORK, Timeout=10)
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    started = started_file()
    first = threading.Thread(target=call, args=(aws, name, {"started": started, "seconds": 2}))
    first.start()
    try:
        wait_for(lambda: Path(started).exists(), 10, "the first invocation to start")

        with pytest.raises(ClientError) as raised:
            call(aws, name, {"started": started_file(), "seconds": 0})

        assert raised.value.response["Error"] == THROTTLED_BY_RESERVATION
        assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    finally:
        first.join()
    assert call(aws, name, {"started": started_file(), "seconds": 0})[1] == "done"


def test_a_throttled_event_is_kept_and_runs_once_the_function_may_run(aws):
    name = deploy(aws, SIGNAL_THEN_WORK, Timeout=10)
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    started = started_file()

    response = aws["lambda"].invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"started": started, "seconds": 0})
    )

    assert response["StatusCode"] == 202
    wait_for(lambda: throttles(aws, name) >= 1, 10, "the event to be throttled")
    assert not Path(started).exists()
    aws["lambda"].delete_function_concurrency(FunctionName=name)
    wait_for(lambda: Path(started).exists(), 15, "the throttled event to run once its function may run")


def test_an_sqs_burst_never_runs_more_batches_at_once_than_the_maximum_concurrency_and_all_drain(aws):
    name = deploy(aws, RECORD_SPANS, Timeout=10)
    queue = aws["sqs"].create_queue(QueueName=f"burst-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "30"})
    url = queue["QueueUrl"]
    arn = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bodies = [f"order-{n}" for n in range(24)]
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[start : start + 10])]
        aws["sqs"].send_message_batch(QueueUrl=url, Entries=entries)

    aws["lambda"].create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2}
    )

    def spans():
        found = [json.loads(m.split(" ", 1)[1]) for m in log_messages(aws, name) if m.startswith("SPAN ")]
        return len(found) == len(bodies) and found

    ran = wait_for(spans, 60, f"all {len(bodies)} messages to be processed")
    assert sorted(body for span in ran for body in span["bodies"]) == sorted(bodies)
    edges = sorted([(span["from"], 1) for span in ran] + [(span["to"], -1) for span in ran])
    running, most = 0, 0
    for _, change in edges:
        running += change
        most = max(most, running)
    assert most == 2
    attributes = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"

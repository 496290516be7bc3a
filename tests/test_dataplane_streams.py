"""A DynamoDB stream triggers a function as AWS's pollers do: in order, from the mapping's starting position,
with AWS's record shape, retries, bisection and an on-failure destination, refused where AWS refuses."""

import json
import uuid

import boto3
import pytest
from support import grant, wait_for
from test_dataplane_event_sources import make_queue
from test_dataplane_lambda import clients_for, deploy, log_messages

STREAM_READER = [
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:DescribeStream",
    "dynamodb:ListStreams",
    "sqs:SendMessage",
    "s3:PutObject",
]
# Prints each batch it gets; fails a batch holding an item titled "fail-always".
RECORD_BATCHES = """
    import json

    def handler(event, context):
        print("EVENT " + json.dumps(event))
        titles = [r["dynamodb"].get("NewImage", {}).get("title", {}).get("S") for r in event["Records"]]
        if "fail-always" in titles:
            raise RuntimeError("a poison record")
"""


@pytest.fixture(scope="module")
def aws(cloud):
    clients = clients_for(boto3.Session())
    clients["streams"] = boto3.client("dynamodbstreams")
    grant(clients["role"], STREAM_READER)
    return clients


def streamed_table(aws, view_type: str = "NEW_AND_OLD_IMAGES") -> tuple[str, str]:
    name = f"books-{uuid.uuid4().hex[:8]}"
    table = aws["dynamodb"].create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
    )["TableDescription"]
    return name, table["LatestStreamArn"]


def put(aws, table: str, book_id: str, title: str) -> None:
    aws["dynamodb"].put_item(TableName=table, Item={"id": {"S": book_id}, "title": {"S": title}})


def batches(aws, name: str) -> list[list[dict]]:
    events = [json.loads(m.split(" ", 1)[1]) for m in log_messages(aws, name) if m.startswith("EVENT ")]
    return [event["Records"] for event in events]


def summary(batch: list[dict]) -> list[str]:
    """Each record as eventName:id:title (title of the new image, or of the old one for a REMOVE)."""
    return [
        f"{r['eventName']}:{r['dynamodb']['Keys']['id']['S']}:"
        + (r["dynamodb"].get("NewImage") or r["dynamodb"].get("OldImage") or {}).get("title", {}).get("S", "")
        for r in batch
    ]


def test_a_stream_trigger_gets_insert_modify_and_remove_in_order_with_aws_record_shape(aws):
    name = deploy(aws, RECORD_BATCHES)
    table, stream = streamed_table(aws)
    aws["lambda"].create_event_source_mapping(
        EventSourceArn=stream, FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=2
    )
    put(aws, table, "b1", "Dune")
    put(aws, table, "b1", "Dune Messiah")
    aws["dynamodb"].delete_item(TableName=table, Key={"id": {"S": "b1"}})
    put(aws, table, "b2", "Emma")
    wait_for(lambda: sum(len(b) for b in batches(aws, name)) >= 4, 10, "the 4 records")
    delivered = batches(aws, name)
    assert [r for b in delivered for r in summary(b)] == [
        "INSERT:b1:Dune",
        "MODIFY:b1:Dune Messiah",
        "REMOVE:b1:Dune Messiah",
        "INSERT:b2:Emma",
    ]
    assert all(len(b) <= 2 for b in delivered)
    modify = next(r for b in delivered for r in b if r["eventName"] == "MODIFY")
    assert {k: v for k, v in modify.items() if k != "dynamodb"} == {
        "eventID": modify["eventID"],
        "eventName": "MODIFY",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": stream,
    }
    assert modify["dynamodb"]["OldImage"] == {"id": {"S": "b1"}, "title": {"S": "Dune"}}
    assert modify["dynamodb"]["NewImage"] == {"id": {"S": "b1"}, "title": {"S": "Dune Messiah"}}
    assert modify["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(modify["dynamodb"]["ApproximateCreationDateTime"], (int, float))
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for b in delivered for r in b]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4


def test_the_stream_keeps_the_records_for_get_records_after_the_function_has_had_them(aws):
    name = deploy(aws, RECORD_BATCHES)
    table, stream = streamed_table(aws, "KEYS_ONLY")
    aws["lambda"].create_event_source_mapping(EventSourceArn=stream, FunctionName=name, StartingPosition="LATEST")
    put(aws, table, "b1", "Dune")
    wait_for(lambda: batches(aws, name), 10, "the record to reach the function")
    shard = aws["streams"].describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = aws["streams"].get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = aws["streams"].get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in records] == [("INSERT", {"id": {"S": "b1"}})]
    assert "NewImage" not in batches(aws, name)[0][0]["dynamodb"]  # KEYS_ONLY


def test_latest_starts_after_what_was_written_before_the_mapping(aws):
    name = deploy(aws, RECORD_BATCHES)
    table, stream = streamed_table(aws)
    put(aws, table, "b0", "written before")
    aws["lambda"].create_event_source_mapping(EventSourceArn=stream, FunctionName=name, StartingPosition="LATEST")
    put(aws, table, "b1", "written after")
    wait_for(lambda: batches(aws, name), 10, "a batch")
    assert [r for b in batches(aws, name) for r in summary(b)] == ["INSERT:b1:written after"]


def test_a_failing_batch_is_bisected_retried_and_then_described_to_the_on_failure_queue(aws):
    name = deploy(aws, RECORD_BATCHES)
    table, stream = streamed_table(aws)
    failures, failures_arn = make_queue(aws)
    for book_id, title in (("b1", "a"), ("b2", "b"), ("b3", "fail-always"), ("b4", "d")):
        put(aws, table, book_id, title)
    aws["lambda"].create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    described = wait_for(
        lambda: aws["sqs"].receive_message(QueueUrl=failures).get("Messages"), 15, "the poison record's description"
    )
    wait_for(lambda: "INSERT:b4:d" in [r for b in batches(aws, name)[-1:] for r in summary(b)], 10, "the record after")
    titles = [[r.split(":")[2] for r in summary(b)] for b in batches(aws, name)]
    # The batch fails, is split in two; the failing half is split again; the poison record alone is tried
    # once and retried once (MaximumRetryAttempts), then skipped; the record after it is delivered.
    assert titles == [
        ["a", "b", "fail-always", "d"],
        ["a", "b"],
        ["fail-always", "d"],
        ["fail-always"],
        ["fail-always"],
        ["d"],
    ]
    description = json.loads(described[0]["Body"])
    poison = next(r for b in batches(aws, name) for r in b if r["dynamodb"]["Keys"]["id"]["S"] == "b3")
    assert description["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert description["requestContext"]["functionArn"].endswith(f":function:{name}")
    assert description["responseContext"]["functionError"] == "Unhandled"
    info = description["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (1, stream)
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison["dynamodb"]["SequenceNumber"]


def test_a_poison_record_with_an_s3_destination_is_kept_there_with_the_batch(aws):
    name = deploy(aws, RECORD_BATCHES)
    table, stream = streamed_table(aws)
    s3 = boto3.client("s3")
    bucket = f"failures-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    put(aws, table, "b1", "fail-always")
    mapping = aws["lambda"].create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=name,
        StartingPosition="TRIM_HORIZON",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{bucket}"}},
    )["UUID"]
    kept = wait_for(lambda: s3.list_objects_v2(Bucket=bucket).get("Contents"), 15, "the record in the bucket")
    assert kept[0]["Key"].startswith(f"aws/lambda/{mapping}/")
    record = json.loads(s3.get_object(Bucket=bucket, Key=kept[0]["Key"])["Body"].read())
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert summary(record["payload"]["Records"]) == ["INSERT:b1:fail-always"]


def test_a_mapping_without_a_starting_position_is_refused_as_on_aws(aws):
    name = deploy(aws, RECORD_BATCHES)
    _, stream = streamed_table(aws)
    with pytest.raises(aws["lambda"].exceptions.InvalidParameterValueException) as refused:
        aws["lambda"].create_event_source_mapping(EventSourceArn=stream, FunctionName=name)
    assert refused.value.response["Error"]["Message"] == (
        "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must "
        "not be null."
    )


def test_a_mapping_whose_role_cannot_read_the_stream_is_refused_as_on_aws(aws):
    reader = clients_for(boto3.Session())  # a new role, with no policy
    name = deploy(reader, RECORD_BATCHES)
    _, stream = streamed_table(aws)
    with pytest.raises(aws["lambda"].exceptions.InvalidParameterValueException) as refused:
        aws["lambda"].create_event_source_mapping(EventSourceArn=stream, FunctionName=name, StartingPosition="LATEST")
    assert refused.value.response["Error"]["Message"] == (
        f"Cannot access stream {stream}. Please ensure the role can perform the GetRecords, GetShardIterator, "
        "DescribeStream, and ListStreams Actions on your stream in IAM."
    )

"""CloudTrail's event history on the local cloud: LookupEvents answers the management events of the
requests the local cloud served, with the caller's identity (the account's owner, or a function's role
session) and the error code of a refused call; data events (SendMessage) are not in it (moto 5.2.5 does
not implement LookupEvents)."""

import json
import re
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from test_dataplane_lambda import call, clients_for, deploy

DELETE_QUEUE = """
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    try:
        boto3.client("sqs").delete_queue(QueueUrl=event["queue"])
    except ClientError as error:
        return error.response["Error"]["Code"]
    return None
"""


@pytest.fixture(scope="module")
def cloudtrail(cloud):
    return boto3.client("cloudtrail")


@pytest.fixture(scope="module")
def sqs(cloud):
    return boto3.client("sqs")


def lookup(cloudtrail, key: str, value: str) -> list[dict]:
    found = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])["Events"]
    return [{**event, "CloudTrailEvent": json.loads(event["CloudTrailEvent"])} for event in found]


def test_a_deleted_queue_policy_is_in_the_event_history_with_the_callers_identity(cloudtrail, sqs):
    url = sqs.create_queue(QueueName=f"orders-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*"}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})

    events = lookup(cloudtrail, "ResourceName", arn)
    [deleted] = [e for e in events if e["CloudTrailEvent"]["requestParameters"].get("attributes") == {"Policy": ""}]
    assert (deleted["EventName"], deleted["EventSource"], deleted["ReadOnly"]) == (
        "SetQueueAttributes",
        "sqs.amazonaws.com",
        "false",
    )
    assert deleted["Username"] == "root"
    assert deleted["Resources"] == [{"ResourceType": "AWS::SQS::Queue", "ResourceName": arn}]
    record = deleted["CloudTrailEvent"]
    assert record["userIdentity"]["type"] == "Root"
    assert record["userIdentity"]["arn"] == "arn:aws:iam::123456789012:root"
    assert record["requestParameters"]["queueUrl"] == url
    assert "errorCode" not in record
    assert [e["EventName"] for e in events].count("CreateQueue") == 1
    assert events == sorted(events, key=lambda e: e["EventTime"], reverse=True)


def test_a_call_refused_to_a_functions_role_is_recorded_with_its_session_and_error_code(cloudtrail, sqs):
    aws = clients_for(boto3.Session())
    url = sqs.create_queue(QueueName=f"refused-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    function = deploy(aws, DELETE_QUEUE)
    assert call(aws, function, {"queue": url})[1] == "AccessDenied"

    [refused] = [e for e in lookup(cloudtrail, "EventName", "DeleteQueue") if e["Username"] == function]
    record = refused["CloudTrailEvent"]
    assert record["errorCode"] == "AccessDenied"
    assert record["userIdentity"]["type"] == "AssumedRole"
    assert record["userIdentity"]["arn"].endswith(f"/{function}")
    assert record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == aws["role"]
    attributes = record["userIdentity"]["sessionContext"]["attributes"]
    assert attributes["mfaAuthenticated"] == "false"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", attributes["creationDate"])
    assert attributes["creationDate"] <= record["eventTime"]  # the credentials came before the call
    assert refused["AccessKeyId"].startswith("ASIA")


def test_messages_sent_are_data_events_and_stay_out_of_the_event_history(cloudtrail, sqs):
    url = sqs.create_queue(QueueName=f"data-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    sqs.tag_queue(QueueUrl=url, Tags={"after": "send"})  # recorded after the send was served

    assert [
        e
        for e in lookup(cloudtrail, "EventName", "TagQueue")
        if e["CloudTrailEvent"]["requestParameters"]["queueUrl"] == url
    ]
    assert lookup(cloudtrail, "EventName", "SendMessage") == []


def test_lookups_take_one_attribute_and_a_time_range(cloudtrail, sqs):
    sqs.create_queue(QueueName=f"range-{uuid.uuid4().hex[:8]}")
    now = time.time()
    assert cloudtrail.lookup_events(StartTime=now - 300, EndTime=now + 60, MaxResults=1)["Events"]
    assert cloudtrail.lookup_events(StartTime=now + 600, EndTime=now + 900)["Events"] == []
    with pytest.raises(ClientError) as refused:
        cloudtrail.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "CreateQueue"},
                {"AttributeKey": "Username", "AttributeValue": "root"},
            ]
        )
    assert refused.value.response["Error"]["Code"] == "InvalidLookupAttributesException"

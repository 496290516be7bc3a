"""Served requests as CloudTrail management events (CloudTrail User Guide, "CloudTrail record contents
for management, data, and network activity events" and "userIdentity element").

Event history holds management events, read and write; data events (the calls that carry a resource's
data: SQS messages, S3 objects, DynamoDB items, Lambda Invoke, SNS Publish, Kinesis records, log events)
are only in trails that select them ("Logging data events"), so they are left out here.
"""

import collections
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from xml.etree import ElementTree

from labkit.dataplane import iam
from labkit.dataplane.cloudtrail.recorder import KEPT, Served

ACCOUNT_ID = "123456789012"
DATA_EVENTS = {
    "sqs": {"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch"}
    | {"ChangeMessageVisibility", "ChangeMessageVisibilityBatch"},
    "s3": {"GetObject", "PutObject", "DeleteObject", "DeleteObjects", "HeadObject", "CopyObject"}
    | {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload"}
    | {"GetObjectAcl", "PutObjectAcl", "GetObjectTagging", "PutObjectTagging", "RestoreObject"},
    "dynamodb": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem"}
    | {"BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement"},
    "lambda": {"Invoke", "InvokeAsync", "InvokeWithResponseStream"},
    "sns": {"Publish", "PublishBatch"},
    "kinesis": {"PutRecord", "PutRecords", "GetRecords", "GetShardIterator", "SubscribeToShard"},
    "logs": {"PutLogEvents", "GetLogEvents", "FilterLogEvents", "StartLiveTail"},
    "xray": {"PutTraceSegments", "PutTelemetryRecords"},
}
_READ = re.compile(r"^(Get|List|Describe|Head|Lookup|BatchGet|Search|Select|Check|Test|Validate)[A-Z]?")
# Resource types of the ARNs the iam package finds, by service (CloudTrail's ResourceType values).
RESOURCE_TYPES = {
    "sqs": "AWS::SQS::Queue",
    "sns": "AWS::SNS::Topic",
    "lambda": "AWS::Lambda::Function",
    "dynamodb": "AWS::DynamoDB::Table",
    "s3": "AWS::S3::Bucket",
    "logs": "AWS::Logs::LogGroup",
    "kms": "AWS::KMS::Key",
    "secretsmanager": "AWS::SecretsManager::Secret",
}

_events: collections.deque = collections.deque(maxlen=KEPT)
_lock = threading.Lock()


def add(served: list[Served]) -> None:
    found = [event for event in map(_event, served) if event is not None]
    with _lock:
        _events.extend(found)


def newest_first() -> list[dict]:
    with _lock:
        return list(reversed(_events))


def reset() -> None:
    with _lock:
        _events.clear()


def _event(served: Served) -> dict | None:
    caller = iam.caller(served.environ, served.body, ACCOUNT_ID)
    if caller is None or caller.operation in DATA_EVENTS.get(caller.signing_name, ()):
        return None
    if caller.signing_name == "execute-api":  # an API's own traffic, not an AWS API call
        return None
    event_id = str(uuid.uuid4())
    identity, username = _identity(caller)
    source = f"{caller.signing_name}.amazonaws.com"
    read_only = bool(_READ.match(caller.operation))
    error_code, error_message = _error(served) if served.status >= 400 else (None, None)
    resources = [
        {"ResourceType": RESOURCE_TYPES.get(arn.split(":")[2], f"AWS::{arn.split(':')[2]}"), "ResourceName": arn}
        for arn in caller.resource_arns
    ]
    record = {
        "eventVersion": "1.11",
        "userIdentity": identity,
        "eventTime": _iso(served.when),
        "eventSource": source,
        "eventName": caller.operation,
        "awsRegion": caller.region,
        "sourceIPAddress": served.environ.get("REMOTE_ADDR", "127.0.0.1"),
        "userAgent": served.environ.get("HTTP_USER_AGENT", ""),
        "requestParameters": _request_parameters(caller.params) or None,
        "responseElements": None,
        "requestID": served.response_headers.get("x-amzn-requestid")
        or served.response_headers.get("x-amz-request-id")
        or str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT_ID,
        "eventCategory": "Management",
    }
    if error_code:
        record["errorCode"], record["errorMessage"] = error_code, error_message
    return {
        "EventId": event_id,
        "EventName": caller.operation,
        "ReadOnly": "true" if read_only else "false",
        "AccessKeyId": caller.access_key_id,
        "EventTime": served.when,
        "EventSource": source,
        "Username": username,
        "Resources": resources,
        "CloudTrailEvent": json.dumps(record),
    }


def _identity(caller: iam.Caller) -> tuple[dict, str]:
    """The userIdentity element and event history's User name: a role session's name, or root."""
    session = caller.session
    if session is None:  # the learner's own keys: the account's owner
        root = {"type": "Root", "principalId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:root"}
        return {**root, "accountId": ACCOUNT_ID, "accessKeyId": caller.access_key_id}, "root"
    identity = {
        "type": "AssumedRole",
        "principalId": f"{caller.role_id}:{session.session_name}",
        "arn": session.assumed_role_arn,
        "accountId": session.account,
        "accessKeyId": caller.access_key_id,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": caller.role_id,
                "arn": session.role_arn,
                "accountId": session.account,
                "userName": session.role_name,
            },
            "attributes": {"creationDate": _iso(caller.session_issued_at), "mfaAuthenticated": "false"},
        },
    }
    return identity, session.session_name


def _iso(epoch_s: float | None) -> str | None:
    """A time as CloudTrail writes it: ISO 8601 in UTC, to the second ("2026-01-01T12:00:00Z")."""
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _request_parameters(params: dict) -> dict:
    # CloudTrail spells parameters in lower camel case (queueUrl, attributes); the query protocol's
    # Action and Version are the call itself, not its parameters.
    return {key[:1].lower() + key[1:]: value for key, value in params.items() if key not in ("Action", "Version")}


def _error(served: Served) -> tuple[str, str]:
    """The error code as the SDK reads it: a JSON protocol's x-amzn-query-error or __type, else XML's Code."""
    headers = served.response_headers
    if query_error := headers.get("x-amzn-query-error"):
        code = query_error.split(";")[0]
    else:
        code = headers.get("x-amzn-errortype", "").split(":")[0]
    message = ""
    text = served.error_body.strip()
    if text.startswith(b"{"):
        try:
            found = json.loads(text)
        except ValueError:
            found = {}
        code = code or str(found.get("__type") or found.get("code") or "").rsplit("#", 1)[-1]
        message = found.get("message") or found.get("Message") or ""
    elif text.startswith(b"<"):
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            root = None
        if root is not None:
            code = code or _xml_text(root, "Code")
            message = _xml_text(root, "Message")
    return code or str(served.status), message


def _xml_text(root, name: str) -> str:
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == name and element.text:
            return element.text
    return ""

"""DynamoDB Streams as Lambda reads them: a poller per event source mapping, in order, with retries.

What moto 5.2.5 does, and what this corrects:
- StreamShard.add invokes every mapping of the table inside the write that made the record (PutItem
  waits for the handler), with every record since the last success, then empties the shard, so
  GetRecords loses what a function has seen. BatchSize, StartingPosition, MaximumRetryAttempts,
  BisectBatchOnFunctionError, ReportBatchItemFailures, FilterCriteria and an on-failure destination are
  ignored, and a mapping without StartingPosition is accepted (AWS refuses it).
- Here add only appends the record (kept, for GetRecords too) and wakes the pollers. Each mapping reads
  the shard from its starting position (TRIM_HORIZON: the oldest record kept; LATEST: what comes after
  its creation), one batch at a time, so records reach the function in the order they were written. A
  batch that fails is retried, split in two first when BisectBatchOnFunctionError is set (a split does
  not count as a retry); with ReportBatchItemFailures, from the first failed record. Once
  MaximumRetryAttempts are spent (-1, the default: never, as AWS retries until the record expires),
  the batch is described to the OnFailure destination (an SQS queue, SNS topic or S3 bucket) and skipped.
STREAM_SEAMS (at the end) says where this meets moto; event_sources.py starts the pollers.
"""

import datetime
import json
import threading
import traceback
import uuid

from labkit.dataplane import iam
from labkit.dataplane.core import functions, patterns, policies
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.core.seams import Seam
from labkit.dataplane.lambda_ import pollers

IDLE_WAIT_S = 0.05
# AWS backs off between retries of a failed batch; locally a short pause keeps a retried shard from spinning.
RETRY_PAUSE_S = 0.2
DEFAULT_BATCH_SIZE = 100
# What Lambda's pollers call with the function's role (AWS checks them when the mapping is created).
POLLER_ACTIONS = ("dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams")
DESTINATION_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "s3": "s3:PutObject"}
_written = threading.Condition()  # notified on every record, so an idle poller wakes at once


def is_stream(arn: str) -> bool:
    return ":dynamodb:" in arn and "/stream/" in arn


def refuse_what_aws_refuses(lambda_backend, spec: dict) -> None:
    """A mapping of a stream needs a StartingPosition, and a function's role that may read the stream (and
    send to the OnFailure destination): AWS refuses it otherwise, with these messages."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    stream_arn = spec["EventSourceArn"]
    if not spec.get("StartingPosition"):
        raise InvalidParameterValueException(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member "
            "must not be null."
        )
    try:
        function = lambda_backend.get_function(spec.get("FunctionName") or "")
    except Exception:
        return  # moto's own validation answers
    documents = iam.role_documents(function.role) or []

    def allowed(action: str, resource: str) -> bool:
        return policies.evaluate(documents, policies.Request(action, resource, {})) == policies.ALLOWED

    if not all(allowed(action, stream_arn) for action in POLLER_ACTIONS):
        raise InvalidParameterValueException(
            f"Cannot access stream {stream_arn}. Please ensure the role can perform the GetRecords, "
            "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
        )
    destination = _on_failure(spec.get("DestinationConfig"))
    if destination:
        service = Arn.parse(destination).service
        if service not in DESTINATION_ACTIONS:
            raise InvalidParameterValueException(
                f"Unsupported destination {destination}: an OnFailure destination is an SQS queue, an SNS topic or "
                "an S3 bucket"
            )
        resource = f"{destination}/*" if service == "s3" else destination
        if not allowed(DESTINATION_ACTIONS[service], resource):
            action = DESTINATION_ACTIONS[service].split(":")[1]
            raise InvalidParameterValueException(
                f"The provided execution role does not have permissions to call {action} on {service.upper()}"
            )


def start_poller(lambda_backend, mapping) -> None:
    shard = _shard(mapping.event_source_arn)
    if shard is None:
        return
    # TRIM_HORIZON: the oldest record the shard keeps; LATEST: the next one written.
    position = len(shard.items) if mapping.starting_position == "LATEST" else 0
    pollers.start(mapping, _poll, lambda_backend, mapping, shard, position, name="stream-poller")


def _poll(lambda_backend, mapping, shard, position: int, stop: threading.Event) -> None:
    def serving() -> bool:
        found = lambda_backend.get_event_source_mapping(mapping.uuid)
        return not stop.is_set() and found is mapping and _shard(mapping.event_source_arn) is shard

    while serving():
        try:
            batch = _next_batch(mapping, shard, position)
            if not batch or not mapping.enabled:
                with _written:
                    _written.wait(IDLE_WAIT_S)
                continue
            position += len(batch)
            _deliver(mapping, batch, stop)
        except Exception:  # one bad batch must not end the polling; the cloud's log says why
            traceback.print_exc()
            stop.wait(1.0)


def _next_batch(mapping, shard, position: int) -> list[dict]:
    """Up to BatchSize records from position; once one is there, wait up to the batching window for more."""
    size = int(mapping.batch_size or DEFAULT_BATCH_SIZE)
    window = float(mapping.max_batch_window or 0)
    if position < len(shard.items) and window and len(shard.items) - position < size:
        with _written:
            _written.wait_for(lambda: len(shard.items) - position >= size, timeout=window)
    return [_record(item, mapping.event_source_arn) for item in shard.items[position : position + size]]


def _deliver(mapping, batch: list[dict], stop: threading.Event) -> None:
    """Deliver the batch until it succeeds, or its retries are spent and the destination is told."""
    batch = [record for record in batch if _passes_the_filters(mapping, record)]
    pending, retries = [batch] if batch else [], 0
    limit = -1 if mapping.max_retry_attempts is None else int(mapping.max_retry_attempts)
    while pending and not stop.is_set():
        records = pending.pop(0)
        failed_from = _invoke(mapping, records)
        if failed_from is None:
            continue
        if mapping.bisect_on_error and len(records) > 1 and failed_from == 0:
            half = len(records) // 2
            pending[:0] = [records[:half], records[half:]]
            continue
        retries += 1
        if 0 <= limit < retries:
            _describe_to_destination(mapping, records[failed_from:], retries)
            retries = 0
            continue
        pending.insert(0, records[failed_from:])
        stop.wait(RETRY_PAUSE_S)


def _invoke(mapping, records: list[dict]) -> int | None:
    """None when the function handled the batch; else the index of the first record to deliver again."""
    try:
        result = functions.invoke(mapping.function_arn, {"Records": records})
    except Exception as error:  # the function is gone: the batch is retried, as a failed one is
        print(
            f"labkit: stream event source {mapping.uuid} could not invoke {mapping.function_arn}: {error}", flush=True
        )
        return 0
    if result.function_error:
        return 0
    if "ReportBatchItemFailures" not in (mapping.function_response_types or []):
        return None
    return _first_reported_failure(result.payload, records)


def _first_reported_failure(payload: bytes, records: list[dict]) -> int | None:
    """AWS reads an empty or null response or batchItemFailures as success; it retries from the lowest
    sequence number reported, and the whole batch when the response cannot be read (Lambda Developer
    Guide, "Configuring partial batch response with DynamoDB and Lambda")."""
    try:
        response = json.loads(payload or b"null")
    except ValueError:
        return 0
    if not response:
        return None
    if not isinstance(response, dict):
        return 0
    failures = response.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0
    numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    reported = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
    if not all(identifier in numbers for identifier in reported):
        return 0
    return min(numbers.index(identifier) for identifier in reported)


def _passes_the_filters(mapping, record: dict) -> bool:
    """Does a filter of the mapping's FilterCriteria match the record (none set: all pass)?"""
    filters = (mapping.filter_criteria or {}).get("Filters") or []
    return not filters or any(patterns.matches(json.loads(f.get("Pattern") or "{}"), record) for f in filters)


def _describe_to_destination(mapping, records: list[dict], attempts: int) -> None:
    """What AWS sends the OnFailure destination for a stream: the batch's metadata (to S3, its records too)."""
    destination = _on_failure(mapping.destination_config)
    if not destination:
        return
    first, last = records[0], records[-1]
    now = datetime.datetime.now(datetime.UTC)
    description = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": mapping.function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": _shard(mapping.event_source_arn).id,
            "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first["dynamodb"]["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso(last["dynamodb"]["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": mapping.event_source_arn,
        },
    }
    _send(mapping, destination, description, records)


def _send(mapping, destination: str, description: dict, records: list[dict]) -> None:
    arn, body = Arn.parse(destination), json.dumps(description)
    if arn.service == "s3":  # with the batch's records too, under AWS's key layout
        from moto.s3.models import s3_backends

        now = datetime.datetime.now(datetime.UTC)
        shard = description["DDBStreamBatchInfo"]["shardId"]
        key = f"aws/lambda/{mapping.uuid}/{shard}/{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
        record = json.dumps({**description, "payload": {"Records": records}})
        s3_backends[mapping.account_id]["global"].put_object(arn.resource, key, record.encode())
    elif arn.service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[arn.account][arn.region].send_message(arn.resource, body)
    else:
        from moto.sns.models import sns_backends

        sns_backends[arn.account][arn.region].publish(body, arn=destination)


def _on_failure(destination_config: dict | None) -> str | None:
    return ((destination_config or {}).get("OnFailure") or {}).get("Destination") or None


def _iso(epoch_seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_seconds, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _record(item, stream_arn: str) -> dict:
    """A record of AWS's event (Lambda Developer Guide, "Using AWS Lambda with Amazon DynamoDB")."""
    record = item.to_json()
    dynamodb = dict(record["dynamodb"])
    created = dynamodb["ApproximateCreationDateTime"]
    if isinstance(created, datetime.datetime):  # moto keeps a datetime; the event has epoch seconds
        dynamodb["ApproximateCreationDateTime"] = float(int(created.replace(tzinfo=datetime.UTC).timestamp()))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record["eventVersion"],
        "eventSource": "aws:dynamodb",
        "awsRegion": Arn.parse(stream_arn).region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _shard(stream_arn: str):
    """The table's current shard, while the stream the ARN names is the table's; None after that."""
    from moto.dynamodb.models import dynamodb_backends

    arn = Arn.parse(stream_arn)
    table_name = arn.resource.split("/")[1]
    table = dynamodb_backends[arn.account][arn.region].tables.get(table_name)
    if table is None or getattr(table, "latest_stream_label", None) != arn.resource.split("/")[-1]:
        return None
    return table.stream_shard


def _append_only(add):
    def add_and_wake(self, old, new) -> None:
        """Replaces StreamShard.add: the record is kept; the pollers deliver it."""
        from moto.dynamodb.models.table import StreamRecord

        specification = self.table.stream_specification or {}
        if not specification.get("StreamEnabled"):
            return  # a disabled stream records nothing (moto's add fails on it)
        view_type = specification["StreamViewType"]
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        sequence_number = len(self.items) + self.starting_sequence_number
        self.items.append(StreamRecord(self.table, view_type, event_name, old, new, sequence_number))
        with _written:
            _written.notify_all()

    return add_and_wake


STREAM_SEAMS = (
    Seam(
        "moto.dynamodb.models.table.StreamShard.add",
        ("self", "old", "new"),
        contains="send_dynamodb_items(",
        replace=_append_only,
    ),
    Seam(
        "moto.dynamodb.models.table.StreamRecord.__init__",
        ("self", "table", "stream_type", "event_name", "old", "new", "seq"),
    ),
)

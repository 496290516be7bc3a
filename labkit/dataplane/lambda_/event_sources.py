"""Lambda's event sources as AWS runs them: SQS queues polled in the background, SNS delivering
asynchronously, DynamoDB streams read in order (streams.py).

What moto 5.2.5 does, and what this corrects:
- SQS: Queue.add_message invokes the queue's event source mappings inside SendMessage, one message per
  invocation, with canned attributes, so SendMessage waits for the handler, BatchSize and
  MaximumBatchingWindowInSeconds are ignored, a deleted mapping goes on being invoked, a re-enabled one leaves
  its backlog until the next SendMessage, and ReportBatchItemFailures is never read, nor is a queue refused
  whose visibility timeout is shorter than the function's timeout (AWS refuses it). Here each queue shows moto
  no mappings, and each SQS mapping gets a poller thread (started by
  LambdaBackend.create_event_source_mapping) that receives from moto's SQS backend in-process, as Lambda's
  pollers do: a batch up to BatchSize, waiting up to the batching window to fill it; one synchronous
  invocation through LambdaBackend.invoke (the seam moto_patches.py replaces); on success the batch is
  deleted, on a function error it stays and is received again after the queue's VisibilityTimeout, and moto
  moves it to the queue's DLQ after maxReceiveCount receives; with ReportBatchItemFailures only the listed
  items stay. Up to ScalingConfig's MaximumConcurrency batches at once per mapping (2 to 1,000, refused
  outside as AWS does; without one, the five concurrent batches AWS starts with), one at a time from a FIFO
  queue; a throttled batch (over the function's concurrency) stays and comes back after the VisibilityTimeout,
  as AWS does; and moto's receive corrected so that a failed FIFO batch comes back in the order it was sent:
  each message group keeps its order. moto stores a mapping's FilterCriteria and ignores it; here a message no
  filter matches (core.patterns) is deleted without invoking the function, as AWS does.
- SNS: Subscription.publish calls LambdaBackend.send_sns_message, which invokes the function
  synchronously inside Publish with a canned event (MessageId, TopicArn and attributes of AWS's
  documentation sample). Here it queues an Event invocation (events.py: two retries on error)
  with the message's own fields, signed as moto signs HTTP deliveries.
SQS_SEAMS (at the end) says where this meets moto (labkit.dataplane.core.seams); SNS's publication
comes from labkit.dataplane.sns.
"""

import base64
import functools
import json
import threading
import time
import traceback
from collections.abc import Callable

from labkit.dataplane import iam, sns
from labkit.dataplane.core import functions, patterns, policies, seams
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.core.seams import Seam
from labkit.dataplane.lambda_ import pollers, streams

# How long a poller waits on an empty queue before looking again; SendMessage wakes it sooner.
IDLE_WAIT_S = 0.05
# Concurrent batches of a mapping without ScalingConfig: AWS starts with five and scales up from there;
# the worker pool runs a few per function at once here (pool.py).
DEFAULT_CONCURRENT_BATCHES = 5
# What Lambda's pollers call with the function's role (AWS checks them when the mapping is created).
POLLER_ACTIONS = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")
# ScalingConfig's MaximumConcurrency as AWS's API model bounds it (boto3 refuses below 2 before sending).
MAXIMUM_CONCURRENCY_RANGE = (2, 1000)


def install() -> None:
    # A mapping exists only once moto's Lambda is loaded, and that loads moto's SQS.
    here = "labkit.dataplane.lambda_.event_sources"
    seams.declare("lambda: SQS pollers", "moto.awslambda.models", f"{here}:SQS_SEAMS")
    seams.declare(
        "lambda: DynamoDB stream pollers", "moto.dynamodb.models.table", "labkit.dataplane.lambda_.streams:STREAM_SEAMS"
    )


# --- SQS ------------------------------------------------------------------------------------------


def _then_poll(create):
    @functools.wraps(create)
    def create_event_source_mapping(self, spec):
        _refuse_a_maximum_concurrency_out_of_range(spec)
        if streams.is_stream(spec.get("EventSourceArn") or ""):
            streams.refuse_what_aws_refuses(self, spec)
        else:
            _refuse_what_aws_refuses(self, spec)
        mapping = create(self, spec)
        if Arn.parse(mapping.event_source_arn).service == "sqs":
            pollers.start(mapping, _poll, self, mapping, name="sqs-poller")
        elif streams.is_stream(mapping.event_source_arn):
            streams.start_poller(self, mapping)
        return mapping

    return create_event_source_mapping


def _refusing_a_maximum_concurrency_out_of_range(update):
    @functools.wraps(update)
    def update_event_source_mapping(self, uuid, spec):
        _refuse_a_maximum_concurrency_out_of_range(spec)
        return update(self, uuid, spec)

    return update_event_source_mapping


def _refuse_a_maximum_concurrency_out_of_range(spec: dict) -> None:
    """AWS refuses a MaximumConcurrency outside 2 to 1,000 (a client without boto3's own check reaches it)."""
    from moto.awslambda.exceptions import ValidationException

    found = (spec.get("ScalingConfig") or {}).get("MaximumConcurrency")
    low, high = MAXIMUM_CONCURRENCY_RANGE
    if found is None or low <= found <= high:
        return
    bound = f"greater than or equal to {low}" if found < low else f"less than or equal to {high}"
    raise ValidationException(str(found), "scalingConfig.maximumConcurrency", f"Member must have value {bound}")


def _refuse_what_aws_refuses(lambda_backend, spec: dict) -> None:
    """AWS refuses a mapping whose function's role cannot read the queue (Lambda's pollers read it with
    that role), and one whose queue's visibility timeout is shorter than the function's timeout (a
    message would become visible again while the function still works on it, and be processed twice)."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    queue_arn = spec.get("EventSourceArn") or ""
    found = _queue(queue_arn) if ":sqs:" in queue_arn else None
    if found is None or not spec.get("FunctionName"):
        return  # moto's own validation answers
    try:
        function = lambda_backend.get_function(spec["FunctionName"])
    except Exception:
        return
    documents = iam.role_documents(function.role) or []
    for action in POLLER_ACTIONS:
        if policies.evaluate(documents, policies.Request(f"sqs:{action}", queue_arn, {})) != policies.ALLOWED:
            raise InvalidParameterValueException(
                f"The provided execution role does not have permissions to call {action} on SQS"
            )
    visibility, timeout = int(found[1].visibility_timeout), int(function.timeout)
    if visibility < timeout:
        raise InvalidParameterValueException(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: {timeout} seconds"
        )


def _poll(lambda_backend, mapping, stop: threading.Event) -> None:
    def exists() -> bool:
        # A deleted mapping, or one emptied by moto's reset, is no longer in its backend.
        found = lambda_backend.get_event_source_mapping(mapping.uuid)
        return not stop.is_set() and found is mapping

    def serving() -> bool:
        return mapping.enabled and exists()

    delivering = _Delivering()
    while exists():
        try:
            found = _queue(mapping.event_source_arn)
            if not mapping.enabled or found is None:
                stop.wait(IDLE_WAIT_S)
                continue
            sqs_backend, queue = found
            at_most = _concurrent_batches(mapping, queue)
            if not delivering.wait_below(at_most, IDLE_WAIT_S):
                continue
            batch = _next_batch(sqs_backend, queue, mapping, serving)
            if not batch:
                continue
            if at_most == 1:  # in order: a FIFO queue's batches one after the other
                _deliver(lambda_backend, mapping, queue, batch)
            else:
                delivering.start(_deliver, lambda_backend, mapping, queue, batch)
        except Exception:  # one bad batch must not end the polling; the cloud's log says why
            traceback.print_exc()
            stop.wait(1.0)


class _Delivering:
    """A mapping's batches being delivered, each on a thread of its own."""

    def __init__(self):
        self._changed = threading.Condition()
        self._count = 0

    def wait_below(self, limit: int, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count < limit, timeout_s)

    def start(self, deliver, *args) -> None:
        with self._changed:
            self._count += 1

        def run() -> None:
            try:
                deliver(*args)
            except Exception:
                traceback.print_exc()
            finally:
                with self._changed:
                    self._count -= 1
                    self._changed.notify_all()

        threading.Thread(target=run, daemon=True, name="sqs-batch").start()


def _concurrent_batches(mapping, queue) -> int:
    if queue.fifo_queue:
        return 1
    return int((mapping.scaling_config or {}).get("MaximumConcurrency") or DEFAULT_CONCURRENT_BATCHES)


def _queue(queue_arn: str):
    from moto.sqs.models import sqs_backends

    arn = Arn.parse(queue_arn)
    sqs_backend = sqs_backends[arn.account][arn.region]
    queue = sqs_backend.queues.get(arn.resource)
    return None if queue is None else (sqs_backend, queue)


def _next_batch(sqs_backend, queue, mapping, serving: Callable[[], bool]) -> list:
    """Up to BatchSize messages; once one is there, wait up to the batching window for more."""
    # By message id: with a visibility timeout shorter than the window (AWS advises against it) a
    # message comes back while the batch fills, and goes once, with its latest receipt handle.
    first = _receive(sqs_backend, queue, mapping.batch_size, IDLE_WAIT_S, serving)
    batch = {message.id: message for message in first}
    deadline = time.monotonic() + float(mapping.max_batch_window or 0)
    while batch and len(batch) < mapping.batch_size and serving():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        more = _receive(sqs_backend, queue, mapping.batch_size - len(batch), min(remaining, IDLE_WAIT_S), serving)
        for message in more:
            batch[message.id] = message
    return list(batch.values())


def _receive(sqs_backend, queue, count: int, wait_s: float, serving: Callable[[], bool]) -> list:
    """Receive with the queue's VisibilityTimeout; if none is there, wait up to wait_s for one."""
    # add_message appends under this lock and notifies it: holding it, a SendMessage between the
    # empty receive and the wait cannot go unnoticed.
    with queue._messages_lock:
        messages = _receive_now(sqs_backend, queue, count)
        if not messages:
            queue._messages_lock.wait(wait_s)
            if serving():  # disabled or deleted meanwhile: what woke the poller is not for it
                messages = _receive_now(sqs_backend, queue, count)
    return messages


def _receive_now(sqs_backend, queue, count: int) -> list:
    # moto releases an in-flight message whose visibility timeout has passed only when its loop
    # reaches it, after judging its FIFO group busy by the group's later messages: a failed batch
    # would come back last-first. Releasing them beforehand keeps each group in order.
    for message in list(queue.pending_messages):
        if message.visible:
            queue.pending_messages.discard(message)
    return sqs_backend.receive_message(queue.name, count, 0, queue.visibility_timeout, ["All"])


def _deliver(lambda_backend, mapping, queue, batch: list) -> None:
    records = {message.id: _sqs_record(message, queue) for message in batch}
    dropped = [message for message in batch if not _passes_the_filters(mapping, records[message.id])]
    if dropped:  # AWS deletes an SQS message that no filter of the mapping matches, unseen by the function
        with queue._messages_lock:
            for message in dropped:
                _delete(queue, message)
        batch = [message for message in batch if message not in dropped]
        if not batch:
            return
    event = {"Records": [records[message.id] for message in batch]}
    try:
        result = functions.invoke(mapping.function_arn, event)
    except functions.FunctionUnavailable as error:
        if error.error_type != "TooManyRequestsException":
            _report_not_invoked(mapping, error.message)
        return  # throttled, or the function is gone: the batch stays, as a failed one does
    except Exception as error:
        _report_not_invoked(mapping, getattr(error, "message", error))
        return
    if result.function_error:
        return  # visible again after the queue's VisibilityTimeout
    failed = _reported_failures(mapping, result.payload, {message.id for message in batch})
    if failed is None:
        return  # a response AWS cannot read fails the whole batch
    with queue._messages_lock:  # moto's delete rebuilds the list SendMessage appends to
        for message in batch:
            if message.id not in failed:
                _delete(queue, message)


def _report_not_invoked(mapping, why) -> None:
    print(f"labkit: SQS event source {mapping.uuid} could not invoke {mapping.function_arn}: {why}", flush=True)


def _passes_the_filters(mapping, record: dict) -> bool:
    """Does a filter of the mapping's FilterCriteria match the record (any one does; none set: all pass)?
    A body that is a JSON object is filtered by its fields, any other body as a string."""
    filters = (mapping.filter_criteria or {}).get("Filters") or []
    if not filters:
        return True
    try:
        body = json.loads(record["body"])
    except ValueError:
        body = record["body"]
    filterable = {**record, "body": body if isinstance(body, dict) else record["body"]}
    return any(patterns.matches(json.loads(f.get("Pattern") or "{}"), filterable) for f in filters)


def _reported_failures(mapping, payload: bytes, ids: set) -> set | None:
    """The ids the function reported failed; None when the whole batch counts as failed.

    Without ReportBatchItemFailures every message succeeded. With it, AWS reads an empty or null
    response or batchItemFailures list as success, and an unreadable response, or an item without
    an itemIdentifier of this batch, as a failure of the whole batch (Lambda Developer Guide,
    "Handling errors for an SQS event source in Lambda")."""
    if "ReportBatchItemFailures" not in (mapping.function_response_types or []):
        return set()
    try:
        response = json.loads(payload or b"null")
    except ValueError:
        return None
    if not response:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return None
    reported = {failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures}
    return reported if reported <= ids else None


def _delete(queue, message) -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    try:
        queue.delete_message(message.receipt_handle)
    except ReceiptHandleIsInvalid:  # purged meanwhile
        pass


def _sqs_record(message, queue) -> dict:
    """A record of AWS's SQS event (Lambda Developer Guide, "Using Lambda with Amazon SQS")."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": message.sender_id,
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    trace_header = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace_header:
        attributes["AWSTraceHeader"] = trace_header.get("StringValue")
    if queue.fifo_queue:
        attributes.update(
            SequenceNumber=_sequence_number(message),
            MessageGroupId=message.group_id,
            MessageDeduplicationId=message.deduplication_id,
        )
    record = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {name: _message_attribute(value) for name, value in message.message_attributes.items()},
        "md5OfBody": message.body_md5,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    record.update(eventSource="aws:sqs", eventSourceARN=queue.queue_arn, awsRegion=queue.region)
    return record


def _sequence_number(message) -> str:
    # moto numbers a FIFO message only when it was sent with a MessageDeduplicationId; otherwise
    # 20 digits that grow with the send time, as AWS's do, and stay the same on every delivery.
    if message.sequence_number:
        return message.sequence_number
    return f"{message.sent_timestamp}{int(message.id.replace('-', ''), 16) % 10**7:07d}"


def _message_attribute(value: dict) -> dict:
    attribute = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        binary = value["BinaryValue"]
        attribute["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    attribute.update(stringListValues=[], binaryListValues=[], dataType=value["DataType"])
    return attribute


# --- SNS ------------------------------------------------------------------------------------------


def _send_sns_message(self, function_name, message, subject=None, qualifier=None) -> None:
    """Replaces LambdaBackend.send_sns_message, which only Subscription.publish calls."""
    subscription, message_id, message_attributes = sns.publication()
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": _sns_notification(subscription, message, message_id, subject, message_attributes),
            }
        ]
    }
    function = f"{function_name}:{qualifier}" if qualifier else function_name
    functions.invoke_event(
        function,
        event,
        region=self.region_name,
        account=self.account_id,
        on_behalf_of=functions.OnBehalfOf("sns.amazonaws.com", (subscription.topic_arn,)),
    )


def _sns_notification(subscription, message, message_id, subject, message_attributes) -> dict:
    """The Sns part of AWS's event (Lambda Developer Guide, "Invoking Lambda functions with Amazon
    SNS notifications"): Subject null when there is none, Url spelled as in Lambda's events."""
    signed = subscription.get_post_data(message, message_id, subject)
    region = Arn.parse(subscription.topic_arn).region
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": subscription.topic_arn,
        "Subject": subject,
        "Message": message,
        "Timestamp": signed["Timestamp"],
        "SignatureVersion": signed["SignatureVersion"],
        "Signature": signed["Signature"],
        "SigningCertUrl": signed["SigningCertURL"],
        "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}",
        "MessageAttributes": message_attributes or {},
    }


SQS_SEAMS = (
    # Queue.add_message invokes every mapping it finds there; the pollers serve them instead.
    Seam(
        "moto.sqs.models.Queue.lambda_event_source_mappings",
        replace=lambda _: property(lambda self: {}, lambda self, value: None),
    ),
    Seam("moto.sqs.models.Queue.add_message", contains="self.lambda_event_source_mappings.items()"),
    # The move to the DLQ after maxReceiveCount receives, which the pollers rely on.
    Seam(
        "moto.sqs.models.SQSBackend.receive_message",
        ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"),
        contains="queue.dead_letter_queue.add_message(",
    ),
    Seam("moto.sqs.models.Queue.delete_message", ("self", "receipt_handle")),
    Seam(
        "moto.awslambda.models.LambdaBackend.create_event_source_mapping",
        ("self", "spec"),
        replace=_then_poll,
    ),
    Seam("moto.awslambda.models.LambdaBackend.get_event_source_mapping", ("self", "uuid")),
    Seam(
        "moto.awslambda.models.LambdaBackend.update_event_source_mapping",
        ("self", "uuid", "spec"),
        replace=_refusing_a_maximum_concurrency_out_of_range,
    ),
    Seam(
        "moto.awslambda.models.LambdaBackend.send_sns_message",
        ("self", "function_name", "message", "subject", "qualifier"),
        replace=lambda _: _send_sns_message,
    ),
)

"""Dead-letter queue redrive as AWS offers it: StartMessageMoveTask, ListMessageMoveTasks and
CancelMessageMoveTask (moto has none of them). A task moves the messages of a dead-letter queue back to
the queue that sends it its failures (or to DestinationArn), in a thread of its own, at most
MaxNumberOfMessagesPerSecond, counting what it moved as ListMessageMoveTasks reports it. Served here
for the JSON protocol boto3 speaks (X-Amz-Target: AmazonSQS.<operation>)."""

import json
import threading
import time
import uuid
from base64 import b64encode

from labkit.dataplane.core.arns import Arn

TARGET_PREFIX = "AmazonSQS."
DEFAULT_RATE = 500  # messages a second, AWS's maximum ("system optimized" when not given)

_tasks: list["MoveTask"] = []
_lock = threading.Lock()


class MoveTask:
    def __init__(self, source_arn: str, destination_arn: str | None, rate: int | None, to_move: int):
        self.handle = b64encode(json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()).decode()
        self.source_arn, self.destination_arn, self.rate = source_arn, destination_arn, rate
        self.status, self.moved, self.to_move = "RUNNING", 0, to_move
        self.failure: str | None = None
        self.started_ms = int(time.time() * 1000)
        self.cancelled = threading.Event()

    def listed(self) -> dict:
        entry = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            entry["TaskHandle"] = self.handle
        if self.destination_arn:
            entry["DestinationArn"] = self.destination_arn
        if self.rate:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure:
            entry["FailureReason"] = self.failure
        return entry


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def middleware(app):
    def wsgi(environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = OPERATIONS.get(target.removeprefix(TARGET_PREFIX)) if target.startswith(TARGET_PREFIX) else None
        if operation is None:
            return app(environ, start_response)
        request = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
        try:
            status, answer = 200, operation(request)
        except Refused as refused:
            status, answer = refused.status, {"__type": f"com.amazonaws.sqs#{refused.code}", "message": refused.message}
        body = json.dumps(answer).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
        if status != 200:
            headers.append(("x-amzn-query-error", f"{answer['__type'].split('#')[1]};Sender"))
        start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}", headers)
        return [body]

    return wsgi


def reset() -> None:
    with _lock:
        for task in _tasks:
            task.cancelled.set()
        _tasks.clear()


def _StartMessageMoveTask(request: dict) -> dict:
    source_arn = request.get("SourceArn", "")
    backend, source = _queue(source_arn)
    feeding = [
        q for q in list(backend.queues.values()) if (q.redrive_policy or {}).get("deadLetterTargetArn") == source_arn
    ]
    if not feeding:
        raise Refused("UnsupportedOperation", "Source queue must be configured as a Dead Letter Queue.")
    destination_arn = request.get("DestinationArn")
    if destination_arn:
        _queue(destination_arn)
    elif len(feeding) > 1:
        raise Refused(
            "UnsupportedOperation",
            "Several queues send their failures to this dead-letter queue: give the DestinationArn to move its "
            "messages to (the local cloud does not record each message's source queue).",
        )
    destination = _queue(destination_arn)[1] if destination_arn else feeding[0]
    rate = request.get("MaxNumberOfMessagesPerSecond")
    if rate is not None and not 1 <= int(rate) <= DEFAULT_RATE:
        raise Refused("InvalidParameterValue", "Value for parameter MaxNumberOfMessagesPerSecond is invalid.")
    with _lock:
        if any(t.source_arn == source_arn and t.status == "RUNNING" for t in _tasks):
            raise Refused("UnsupportedOperation", "There is already a task running. Only one active task is allowed.")
        task = MoveTask(source_arn, destination_arn, int(rate) if rate else None, source.approximate_number_of_messages)
        _tasks.append(task)
    threading.Thread(target=_move, args=(task, backend, source, destination), daemon=True, name="sqs-redrive").start()
    return {"TaskHandle": task.handle}


def _ListMessageMoveTasks(request: dict) -> dict:
    source_arn = request.get("SourceArn", "")
    _queue(source_arn)
    limit = int(request.get("MaxResults") or 1)
    with _lock:
        found = [t.listed() for t in reversed(_tasks) if t.source_arn == source_arn][:limit]
    return {"Results": found}


def _CancelMessageMoveTask(request: dict) -> dict:
    with _lock:
        task = next((t for t in _tasks if t.handle == request.get("TaskHandle")), None)
    if task is None or task.status != "RUNNING":
        raise Refused("ResourceNotFoundException", "Task does not exist.")
    task.status = "CANCELLING"
    task.cancelled.set()
    return {"ApproximateNumberOfMessagesMoved": task.moved}


OPERATIONS = {
    "StartMessageMoveTask": _StartMessageMoveTask,
    "ListMessageMoveTasks": _ListMessageMoveTasks,
    "CancelMessageMoveTask": _CancelMessageMoveTask,
}


def _move(task: MoveTask, backend, source, destination) -> None:
    """Receive from the dead-letter queue, send on, delete: one message at a time, at the task's rate."""
    interval = 1.0 / (task.rate or DEFAULT_RATE)
    try:
        while not task.cancelled.is_set():
            messages = backend.receive_message(source.name, 1, 0, 30, ["All"])
            if not messages:
                break
            message = messages[0]
            backend.send_message(
                destination.name,
                message.body,
                message_attributes=message.message_attributes or None,
                group_id=message.group_id,
                deduplication_id=message.deduplication_id,
            )
            source.delete_message(message.receipt_handle)
            task.moved += 1
            task.cancelled.wait(interval)
        task.status = "CANCELLED" if task.cancelled.is_set() else "COMPLETED"
    except Exception as error:  # reported as AWS reports a task that failed
        task.status, task.failure = "FAILED", f"{type(error).__name__}: {error}"


def _queue(arn: str):
    from moto.sqs.models import sqs_backends

    try:
        parsed = Arn.parse(arn)
    except ValueError:
        raise Refused("InvalidParameterValue", f"Value {arn} for parameter SourceArn is invalid.")
    backend = sqs_backends[parsed.account][parsed.region]
    queue = backend.queues.get(parsed.resource)
    if queue is None:
        raise Refused(
            "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist."
        )
    return backend, queue

"""Amazon SQS on the local cloud: moto's queues, with dead-letter queue redrive as AWS offers it
(move_tasks.py: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask) and a receive
that stays fast on a deep queue (retention.py); a sender's trace header reaches the consumer
(trace_header.py)."""

from labkit.dataplane.core import seams
from labkit.dataplane.sqs import move_tasks


def install() -> None:
    seams.declare(
        "sqs: a receive reads the retention period, not every attribute",
        "moto.sqs.models",
        "labkit.dataplane.sqs.retention:SEAMS",
    )
    seams.declare(
        "sqs: a sender's trace header becomes AWSTraceHeader",
        "moto.sqs.responses",
        "labkit.dataplane.sqs.trace_header:SEAMS",
    )


def middleware(app):
    return move_tasks.middleware(app)


def reset() -> None:
    move_tasks.reset()

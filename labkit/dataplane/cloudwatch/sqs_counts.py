"""What SQS counts for its metrics: each message sent (SendMessage, each entry of a batch), received and
deleted, by whoever calls (a learner, Lambda's pollers)."""

import functools

from labkit.dataplane.cloudwatch import service_metrics
from labkit.dataplane.core.seams import Seam


def _counting_sent(send_message):
    @functools.wraps(send_message)
    def send(self, queue_name, *args, **kwargs):
        message = send_message(self, queue_name, *args, **kwargs)
        service_metrics.sqs_counted(self.get_queue(queue_name), "NumberOfMessagesSent", 1)
        return message

    return send


def _counting_received(receive_message):
    @functools.wraps(receive_message)
    def receive(self, queue_name, *args, **kwargs):
        messages = receive_message(self, queue_name, *args, **kwargs)
        service_metrics.sqs_counted(self.get_queue(queue_name), "NumberOfMessagesReceived", len(messages))
        return messages

    return receive


def _counting_deleted(delete_message):
    @functools.wraps(delete_message)
    def delete(self, queue_name, receipt_handle):
        delete_message(self, queue_name, receipt_handle)
        service_metrics.sqs_counted(self.get_queue(queue_name), "NumberOfMessagesDeleted", 1)

    return delete


SEAMS = (
    Seam("moto.sqs.models.SQSBackend.send_message", replace=_counting_sent),
    Seam("moto.sqs.models.SQSBackend.receive_message", replace=_counting_received),
    Seam(
        "moto.sqs.models.SQSBackend.delete_message", ("self", "queue_name", "receipt_handle"), replace=_counting_deleted
    ),
    # A batch sends and deletes through the methods above, so each entry counts once.
    Seam("moto.sqs.models.SQSBackend.send_message_batch", contains="self.send_message("),
    Seam("moto.sqs.models.SQSBackend.delete_message_batch", contains="self.delete_message(queue_name"),
    # The gauges read a queue's _messages, each with visible, delayed and sent_timestamp.
    Seam("moto.sqs.models.Queue.add_message", ("self", "message"), contains="self._messages.append(message)"),
)

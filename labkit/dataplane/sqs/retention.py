"""Whether a message is still within its queue's retention period, read from the queue itself.

moto 5.2.5's ReceiveMessage asks, for each message it considers, SQSBackend.is_message_valid_based_on_
retention_period, which reads MessageRetentionPeriod through get_queue_attributes: that builds every
attribute of the queue three times, counting its messages each time, so a receive from a queue of n
messages costs n x n. A backlog of 200 messages took about 100 ms per batch of 10 to receive and
delete (bench/bench_messaging.py's backlog), where Lambda's pollers take a few. Same answer here,
from the queue's retention period alone."""

from labkit.dataplane.core.seams import Seam


def _within_retention(self, queue_name: str, message) -> bool:
    from moto.core.utils import unix_time

    queue = self.get_queue(queue_name)
    return int(queue.message_retention_period) + message.sent_timestamp / 1000 > unix_time()


SEAMS = (
    Seam(
        "moto.sqs.models.SQSBackend.is_message_valid_based_on_retention_period",
        ("self", "queue_name", "message"),
        contains='self.get_queue_attributes(\n            queue_name, ["MessageRetentionPeriod"]',
        replace=lambda _: _within_retention,
    ),
    # The queue keeps MessageRetentionPeriod as the int attribute message_retention_period.
    Seam("moto.sqs.models.Queue._set_attributes", contains='"MessageRetentionPeriod",'),
)

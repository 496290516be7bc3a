"""SNS on the local cloud: a topic delivers to an SQS queue only when the queue's policy allows the
topic, as on AWS (SNS Developer Guide, "Fanout to Amazon SQS queues": the queue policy must allow
sns.amazonaws.com to sqs:SendMessage with aws:SourceArn the topic). moto delivers to every
subscribed queue; a delivery the policy refuses is dropped here and reported in the local cloud's
log, where AWS reports it in the topic's delivery-status logs. Deliveries to Lambda functions are the
Lambda data plane's (labkit.dataplane.lambda_.event_sources)."""

import functools
import json

from labkit.dataplane.core import policies, seams
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.core.seams import Seam


def install() -> None:
    seams.declare("sns: queue policies allow deliveries", "moto.sns.models", "labkit.dataplane.sns:SEAMS")


def queue_allows(queue_arn: str, topic_arn: str) -> bool:
    """Does the queue's policy let the topic send to it?"""
    from moto.sqs.models import sqs_backends

    arn = Arn.parse(queue_arn)
    queue = sqs_backends[arn.account][arn.region].queues.get(arn.resource)
    if queue is None or not queue.policy:
        return False
    document = json.loads(queue.policy) if isinstance(queue.policy, str) else queue.policy
    request = policies.Request(
        "sqs:SendMessage",
        queue_arn,
        {"aws:SourceArn": topic_arn, "aws:SourceAccount": Arn.parse(topic_arn).account},
        {"Service": "sns.amazonaws.com"},
    )
    return policies.evaluate([document], request) == policies.ALLOWED


def _only_where_allowed(publish):
    @functools.wraps(publish)
    def publish_where_allowed(self, *args, **kwargs):
        if self.protocol == "sqs" and not queue_allows(self.endpoint, self.topic_arn):
            print(
                f"labkit: SNS topic {self.topic_arn} cannot deliver to {self.endpoint}: the queue's policy does "
                f"not allow sns.amazonaws.com to sqs:SendMessage with aws:SourceArn {self.topic_arn}",
                flush=True,
            )
            return None
        return publish(self, *args, **kwargs)

    return publish_where_allowed


SEAMS = (
    Seam(
        "moto.sns.models.Subscription.publish",
        (
            "self",
            "message",
            "message_id",
            "subject",
            "message_attributes",
            "group_id",
            "deduplication_id",
            "message_structure",
        ),
        contains='self.protocol == "sqs"',
        replace=_only_where_allowed,
    ),
)

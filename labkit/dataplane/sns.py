"""SNS on the local cloud: subscribing again with other attributes is refused, and a topic delivers to
an SQS queue only when the queue's policy allows the topic, as on AWS (SNS Developer Guide, "Fanout to
Amazon SQS queues": the queue policy must allow sns.amazonaws.com to sqs:SendMessage with
aws:SourceArn the topic). moto delivers to every subscribed queue; a delivery the policy refuses is
dropped here and reported in the local cloud's log, where AWS reports it in the topic's
delivery-status logs. Deliveries to Lambda functions are the Lambda data plane's
(labkit.dataplane.lambda_.event_sources).

Subscribe is idempotent on AWS only for the same attributes: moto returns the existing subscription
and quietly gives it the new attributes, where AWS answers InvalidParameter "Subscription already
exists with different attributes" (so a corrected filter policy needs SetSubscriptionAttributes)."""

import contextvars
import functools
import json

from labkit.dataplane.core import policies, seams
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.core.seams import Seam

# The subscription, message id and attributes of the message being delivered on this thread: moto's
# delivery to Lambda (LambdaBackend.send_sns_message) is given only the function, message and subject.
_DELIVERING: contextvars.ContextVar[tuple] = contextvars.ContextVar("sns_delivering")
DIFFERENT_ATTRIBUTES = "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"


def install() -> None:
    seams.declare("sns: deliveries as AWS makes them", "moto.sns.models", "labkit.dataplane.sns:SEAMS")
    seams.declare(
        "sns: a subscription is not changed by subscribing again",
        "moto.sns.responses",
        "labkit.dataplane.sns:RESPONSE_SEAMS",
    )


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


def publication() -> tuple:
    """(subscription, message id, message attributes) of the message being delivered on this thread."""
    return _DELIVERING.get()


def _delivering(publish):
    """Subscription.publish delivers one message to one subscriber: only where a queue's policy allows
    it, and with the message known to the Lambda data plane's delivery."""

    @functools.wraps(publish)
    def deliver(self, message, message_id, subject=None, message_attributes=None, *args, **kwargs):
        if self.protocol == "sqs" and not queue_allows(self.endpoint, self.topic_arn):
            print(
                f"labkit: SNS topic {self.topic_arn} cannot deliver to {self.endpoint}: the queue's policy does "
                f"not allow sns.amazonaws.com to sqs:SendMessage with aws:SourceArn {self.topic_arn}",
                flush=True,
            )
            return None
        token = _DELIVERING.set((self, message_id, message_attributes))
        try:
            return publish(self, message, message_id, subject, message_attributes, *args, **kwargs)
        finally:
            _DELIVERING.reset(token)

    return deliver


def _refusing_other_attributes(subscribe):
    @functools.wraps(subscribe)
    def subscribe_once(self):
        from moto.sns.exceptions import SNSInvalidParameter

        existing = self.backend._find_subscription(
            self._get_param("TopicArn"), self._get_param("Endpoint"), self._get_param("Protocol")
        )
        asked = self._get_attributes() or {}
        if existing is not None and any(
            _comparable(name, value) != _comparable(name, existing.attributes.get(name))
            for name, value in asked.items()
        ):
            raise SNSInvalidParameter(DIFFERENT_ATTRIBUTES)
        return subscribe(self)

    return subscribe_once


def _comparable(name: str, value):
    """Attribute values as AWS compares them: policies as JSON documents, flags without regard to case."""
    if value is None:
        return None
    if name.endswith("Policy") and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return str(value).lower()


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
        contains=".send_sns_message(",
        replace=_delivering,
    ),
    # The queue deliveries the queue policy decides on.
    Seam("moto.sns.models.Subscription.publish", contains='if self.protocol == "sqs":'),
    Seam(
        "moto.sns.models.Subscription.get_post_data", ("self", "message", "message_id", "subject", "message_attributes")
    ),
)
RESPONSE_SEAMS = (
    Seam("moto.sns.responses.SNSResponse.subscribe", ("self",), replace=_refusing_other_attributes),
    Seam("moto.sns.models.SNSBackend._find_subscription", ("self", "topic_arn", "endpoint", "protocol")),
    Seam("moto.sns.responses.SNSResponse._get_attributes", ("self",)),
)

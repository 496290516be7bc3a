"""SNS and SQS: the subscriptions of tagged topics, the topics, then the queues."""

from labkit.inventory import sqs_sns
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(sqs_sns.SUBSCRIPTION, lambda client, subscription: client.unsubscribe(SubscriptionArn=subscription.id)),
    Deletion(sqs_sns.TOPIC, lambda client, topic: client.delete_topic(TopicArn=topic.id)),
    Deletion(sqs_sns.QUEUE, lambda client, queue: client.delete_queue(QueueUrl=queue.id)),
)

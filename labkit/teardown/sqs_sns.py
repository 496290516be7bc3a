"""SNS and SQS: the subscriptions of tagged topics, the topics, then the queues."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource, unless_gone


def _tagged_topics(client, wanted):
    for topic in pages(client, "list_topics", "Topics"):
        pairs = unless_gone(client.list_tags_for_resource, "Tags", ResourceArn=topic["TopicArn"])
        tags = tag_dict(pairs)
        if pairs is not None and wanted(tags):
            yield topic["TopicArn"], tags


def find_subscriptions(client, wanted):
    # Subscriptions carry no tags of their own: they belong to their topic.
    for topic_arn, tags in _tagged_topics(client, wanted):
        topic = topic_arn.rsplit(":", 1)[-1]
        for subscription in pages(client, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn):
            # An unconfirmed subscription has no ARN yet ("PendingConfirmation"); the topic's
            # deletion removes it.
            if not subscription["SubscriptionArn"].startswith("arn:"):
                continue
            endpoint = subscription["Endpoint"].rsplit(":", 1)[-1]
            yield Resource(
                id=subscription["SubscriptionArn"], tags=tags, name=f"{topic} -> {subscription['Protocol']} {endpoint}"
            )


def find_topics(client, wanted):
    for arn, tags in _tagged_topics(client, wanted):
        yield Resource(id=arn, name=arn.rsplit(":", 1)[-1], tags=tags)


def find_queues(client, wanted):
    # A deleted queue may stay listed for up to 60 s; reading its tags then says it is gone.
    for url in pages(client, "list_queues", "QueueUrls"):
        tags = unless_gone(client.list_queue_tags, "Tags", QueueUrl=url)
        if tags is not None and wanted(tags):
            yield Resource(id=url, name=url.rsplit("/", 1)[-1], tags=tags)


KINDS = (
    Kind(
        "SNS subscription",
        "sns",
        find_subscriptions,
        lambda client, subscription: client.unsubscribe(SubscriptionArn=subscription.id),
    ),
    Kind("SNS topic", "sns", find_topics, lambda client, topic: client.delete_topic(TopicArn=topic.id)),
    Kind("SQS queue", "sqs", find_queues, lambda client, queue: client.delete_queue(QueueUrl=queue.id)),
)

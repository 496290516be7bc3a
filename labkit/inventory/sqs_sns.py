"""SNS topics and their subscriptions, and SQS queues."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _wanted_topics(client, wanted):
    for topic in pages(client, "list_topics", "Topics"):
        answer = unless_gone(client.list_tags_for_resource, ResourceArn=topic["TopicArn"])
        tags = tag_dict(answer.get("Tags") if answer else None)
        if answer is not None and wanted(tags):
            yield topic["TopicArn"], tags


def _subscriptions(clients, wanted):
    # Subscriptions carry no tags of their own: they belong to their topic.
    client = clients("sns")
    for topic_arn, tags in _wanted_topics(client, wanted):
        topic = topic_arn.rsplit(":", 1)[-1]
        for subscription in pages(client, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn):
            # An unconfirmed subscription has no ARN yet ("PendingConfirmation"); it goes with its
            # topic.
            arn = subscription["SubscriptionArn"]
            if not arn.startswith("arn:"):
                continue
            endpoint = subscription["Endpoint"].rsplit(":", 1)[-1]
            name = f"{topic} -> {subscription['Protocol']} {endpoint}"
            yield Resource(id=arn, name=name, arn=arn, tags=tags, details=subscription)


def _topics(clients, wanted):
    for arn, tags in _wanted_topics(clients("sns"), wanted):
        yield Resource(id=arn, name=arn.rsplit(":", 1)[-1], arn=arn, tags=tags)


def _queues(clients, wanted):
    client = clients("sqs")
    # A deleted queue may stay listed for up to 60 s; reading it then says it is gone.
    for url in pages(client, "list_queues", "QueueUrls"):
        answer = unless_gone(client.list_queue_tags, QueueUrl=url)
        tags = (answer.get("Tags") if answer else None) or {}  # SQS leaves out an empty "Tags"
        if answer is None or not wanted(tags):
            continue
        read = unless_gone(client.get_queue_attributes, QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])
        if read is not None:
            attributes = read["Attributes"]
            yield Resource(
                id=url, name=url.rsplit("/", 1)[-1], arn=attributes["QueueArn"], tags=tags, details=attributes
            )


SUBSCRIPTION = Kind("SNS subscription", "sns", _subscriptions)
TOPIC = Kind("SNS topic", "sns", _topics)
QUEUE = Kind("SQS queue", "sqs", _queues)
KINDS = (SUBSCRIPTION, TOPIC, QUEUE)

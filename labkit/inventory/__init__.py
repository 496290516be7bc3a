"""The inventory: what is deployed on a target, listed one way for everyone who needs it. Teardown
finds what to delete through it, the live diagrams what to draw.

    from labkit.awsapi import Clients
    from labkit.inventory import Selection, sqs_sns
    queues = sqs_sns.QUEUE.resources(Clients(), Selection(lab="04").wants)

A Kind lists every resource of one kind with its tags; a Resource is one of them (its id, name, ARN,
tags and what the listing read about it). Each service's module holds its kinds; kinds.KINDS is
every kind. boto3 only, never moto or the data plane: the same calls list a real AWS account.
"""

from labkit.inventory.base import Kind, Resource, Tags
from labkit.inventory.selection import Selection

__all__ = ["Kind", "Resource", "Selection", "Tags"]

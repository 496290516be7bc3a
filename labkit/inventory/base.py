"""What the inventory is made of: a Resource (one thing on the target, with its tags) and a Kind
(how to list every resource of one kind)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from labkit.awsapi import Clients

Tags = dict[str, str]
Wanted = Callable[[Tags], bool]


def everything(tags: Tags) -> bool:
    """Wants every resource, tagged or not (the live diagrams draw untagged ones on request)."""
    return True


@dataclass(frozen=True)
class Resource:
    id: str
    """What calls about it take: a name, an ARN, a URL or an id (a deletion, a describe)."""
    name: str
    """Its name as a diagram shows it and a spec names it: "catalog"."""
    arn: str
    """Its ARN; "" where the target gives none (moto's scalable targets)."""
    tags: Tags = field(hash=False)
    """Its own tags, or for a part of a resource (a topic's subscription) its owner's."""
    full_name: str = ""
    """Its name where the name alone may not tell it apart, as teardown's report shows it:
    "catalog (a1b2c3)", "bookshop/orders". The name, unless its kind says otherwise."""
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """What the listing read about it (its description): a function's role, an ECS service's
    cluster and load balancers, a queue's redrive policy."""

    def __post_init__(self):
        if not self.full_name:
            object.__setattr__(self, "full_name", self.name)


@dataclass(frozen=True)
class Kind:
    label: str
    """How reports name the kind: "SQS queue"."""
    service: str
    """The boto3 service its resources belong to (the client that deletes them)."""
    lister: Callable[[Clients, Wanted], Iterable[Resource]]
    """Yields the resources whose tags `wanted` accepts. It may skip reading more about the others:
    the parts (subscriptions, listeners) of a topic or load balancer that is not wanted."""

    def resources(self, clients: Clients, wanted: Wanted = everything) -> list[Resource]:
        """Every resource of this kind whose tags `wanted` accepts, by full name: AWS and moto list
        in no stable order, and a report or drawing that changed order between runs would confuse."""
        # Filtered again here: a lister must never hand over a resource its caller did not want.
        found = [resource for resource in self.lister(clients, wanted) if wanted(resource.tags)]
        return sorted(found, key=lambda resource: resource.full_name)

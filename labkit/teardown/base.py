"""What every kind of resource shares: how it is described, found and deleted, and small helpers.

A kind is a row in a table (labkit.teardown.kinds.KINDS): a label, a boto3 service, a `find` that
yields the resources whose tags the filter wants, and a `delete` that removes one of them together
with whatever must go first (a topic's subscriptions, a role's attached policies, ...).
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

Tags = dict[str, str]
Wanted = Callable[[Tags], bool]

# How long a deletion on the aws target waits for a dependency AWS is still removing (a load
# balancer that holds a target group, a draining ECS service that holds its cluster).
BUSY_WAIT_S = 180.0
# The same on the local cloud, where an ECS service drains and stops its task processes before its
# cluster may go: seconds.
LOCAL_BUSY_WAIT_S = 60.0
# Errors that only mean "too many calls, try again later"; API Gateway allows one DeleteRestApi
# every 30 s per account, longer than botocore's own retries wait.
THROTTLING_CODES = ("TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded")


@dataclass(frozen=True)
class Resource:
    id: str
    """What the delete call takes (a name, an ARN, a URL)."""
    name: str
    """What the report shows."""
    tags: Tags
    """Its own tags, or for a part of a resource (a subscription) its owner's tags."""
    context: dict[str, Any] = field(default_factory=dict, compare=False)
    """Anything else its delete needs (the cluster of an ECS service)."""


@dataclass(frozen=True)
class Kind:
    label: str
    """How the report names the kind: "SQS queue"."""
    service: str
    """The boto3 client both functions get."""
    find: Callable[[Any, Wanted], Iterable[Resource]]
    """Every resource of this kind whose tags `wanted` accepts."""
    delete: Callable[[Any, Resource], Any]
    """Delete one. A str it returns says how, when that is not plainly "deleted" ("scheduled for
    deletion"); anything else it returns (an API response) is ignored."""
    busy_codes: tuple[str, ...] = ()
    """Error codes meaning a dependency is still going away: the delete is retried for a while."""


def error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "") or ""
    return ""


def describe_error(error: Exception) -> str:
    """One line a learner can read: the AWS error code and message, without botocore's wrapping."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        message = details.get("Message") or str(error)
        return f"{details.get('Code') or 'Error'}: {message}"
    return f"{type(error).__name__}: {error}"


def is_gone(error: Exception) -> bool:
    """Does this error say the resource no longer exists? Each service spells it its own way
    (ResourceNotFoundException, NoSuchEntity, QueueDoesNotExist, NonExistentQueue, NotFound...)."""
    code = error_code(error)
    return any(word in code for word in ("NotFound", "NoSuch", "DoesNotExist", "NonExistent"))


def unless_gone(call: Callable[..., dict], key: str, **params) -> Any:
    """`call(**params)[key]` (a resource's tags or description), or None when the resource vanished
    between being listed and being read, or the answer lacks `key` (SQS omits an empty "Tags")."""
    try:
        return call(**params).get(key)
    except ClientError as error:
        if is_gone(error):
            return None
        raise


def ignoring_gone(call: Callable[..., Any], **params) -> None:
    """Make a preparatory call (detach a policy, deregister an instance) that need not happen when
    what it acts on is gone already; a not-found must not read as "the resource itself is gone"."""
    try:
        call(**params)
    except ClientError as error:
        if not is_gone(error):
            raise


def wait_until(done: Callable[[], bool], what: str, timeout: float = BUSY_WAIT_S) -> None:
    """Poll `done` with a growing pause until it answers True; TimeoutError after `timeout`."""
    deadline = time.monotonic() + timeout
    pause = 0.2
    while not done():
        if time.monotonic() + pause > deadline:
            raise TimeoutError(f"{what} did not finish within {timeout:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 10.0)

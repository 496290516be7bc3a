"""What every deletion shares: how it is described, and small helpers.

A Deletion is a row in a table (labkit.teardown.order.DELETIONS): a kind of resource the inventory
lists (labkit.inventory), and a `delete` that removes one of them together with whatever must go
first (a topic's subscriptions, a role's attached policies, ...).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from labkit.inventory import Kind, Resource
from labkit.inventory.errors import is_gone


@dataclass(frozen=True)
class Pacing:
    """How a deletion waits for a dependency still going away (a load balancer that holds a target
    group, a draining ECS service that holds its cluster): retried after a pause that doubles."""

    patience_s: float
    first_pause_s: float
    longest_pause_s: float


# On AWS's clock, dependencies go in minutes. On the local cloud's, sixty times faster: an ECS
# service drains and stops its task processes in seconds, and a pause of a whole second would
# double a lab's teardown.
AWS_PACING = Pacing(patience_s=180.0, first_pause_s=1.0, longest_pause_s=15.0)
LOCAL_PACING = Pacing(patience_s=60.0, first_pause_s=0.1, longest_pause_s=1.0)
BUSY_WAIT_S = AWS_PACING.patience_s
# Errors that only mean "too many calls, try again later"; API Gateway allows one DeleteRestApi
# every 30 s per account, longer than botocore's own retries wait.
THROTTLING_CODES = ("TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded")


@dataclass(frozen=True)
class Deletion:
    kind: Kind
    """What it deletes: the inventory lists them."""
    delete: Callable[[Any, Resource], Any]
    """Delete one, given the kind's boto3 client. A str it returns says how, when that is not
    plainly "deleted" ("scheduled for deletion"); anything else it returns (an API response) is
    ignored."""
    busy_codes: tuple[str, ...] = ()
    """Error codes meaning a dependency is still going away: the delete is retried for a while."""


def describe_error(error: Exception) -> str:
    """One line a learner can read: the AWS error code and message, without botocore's wrapping."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        message = details.get("Message") or str(error)
        return f"{details.get('Code') or 'Error'}: {message}"
    return f"{type(error).__name__}: {error}"


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

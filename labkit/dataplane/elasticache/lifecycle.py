"""How a cache's status moves on the local clock, as AWS reports it: `creating` while its server starts
and for AWS's creation time (a few minutes on AWS, seconds here), then `available`; `deleting` once
deleted, its server stopped at once, until it is gone from describe calls."""

import time

from labkit.dataplane.core import clock, state

# AWS's usual times, in AWS seconds (local: divided by the clock's speed-up).
CREATE_AWS_S = {"cluster": 120.0, "replication group": 120.0, "serverless": 60.0}
DELETE_AWS_S = 60.0
CREATING, AVAILABLE, DELETING = "creating", "available", "deleting"


def creating(resource, kind: str) -> None:
    state.put(resource, "available_at", time.monotonic() + clock.local_seconds(CREATE_AWS_S[kind]))


def deleting(resource) -> None:
    state.put(resource, "gone_at", time.monotonic() + clock.local_seconds(DELETE_AWS_S))


def status(resource, current: str) -> str:
    """The status now: `creating` turns `available` once its time has passed."""
    available_at = state.get(resource, "available_at")
    if current == CREATING and available_at is not None and time.monotonic() >= available_at:
        return AVAILABLE
    return current


def gone(resource) -> bool:
    gone_at = state.get(resource, "gone_at")
    return gone_at is not None and time.monotonic() >= gone_at

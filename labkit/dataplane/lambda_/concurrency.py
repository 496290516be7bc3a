"""Lambda's concurrency limits, enforced as AWS enforces them ("Lambda function scaling", Lambda Developer
Guide): a function with reserved concurrency (PutFunctionConcurrency) runs at most that many invocations
at once, 0 none at all; the others share what the account's limit leaves unreserved. An invocation over its
limit is throttled: a synchronous one answers 429 TooManyRequestsException, an asynchronous or event
source one is retried later (events.py, event_sources.py), and each throttle counts in the Throttles
metric. moto 5.2.5 records reserved concurrency and enforces none of it.

The worker pool's own limits (pool.py: a few warm processes per function) make an invocation wait for a
worker, never throttle it: within its concurrency an invocation always runs, as on AWS.
"""

import threading
from dataclasses import dataclass

from labkit.dataplane import cloudwatch

# AWS's default concurrency limit of an account in a Region; moto refuses a reservation that would leave
# less than 100 of it unreserved, as AWS does.
ACCOUNT_LIMIT = 1000
RESERVED_LIMIT_EXCEEDED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT_EXCEEDED = "ConcurrentInvocationLimitExceeded"
MESSAGE = "Rate Exceeded."


class Throttled(Exception):
    """The invocation is over its concurrency limit; reason is AWS's Reason."""

    def __init__(self, reason: str):
        super().__init__(f"{MESSAGE} ({reason})")
        self.reason = reason


@dataclass
class Claim:
    """One running invocation's share of the concurrency; released once, however it ends."""

    function: tuple[str, str, str]  # account, region, name
    reserved: bool
    released: bool = False


_lock = threading.Lock()
_running: dict[tuple[str, str, str], int] = {}  # by function (all its versions)
_running_unreserved: dict[tuple[str, str], int] = {}  # by account and region


def claim(fn) -> Claim:
    """Count an invocation of moto's LambdaFunction fn as running, or raise Throttled (and publish the
    throttle) when its function or the account is at its limit."""
    function = (fn.account_id, fn.region, fn.function_name)
    place = function[:2]
    with _lock:
        reservations = _reservations(fn)
        reserved = reservations.get(fn.function_name)
        if reserved is not None:
            if _running.get(function, 0) >= reserved:
                reason = RESERVED_LIMIT_EXCEEDED
            else:
                reason = None
        elif _running_unreserved.get(place, 0) >= ACCOUNT_LIMIT - sum(reservations.values()):
            reason = ACCOUNT_LIMIT_EXCEEDED
        else:
            reason = None
        if reason is None:
            _running[function] = _running.get(function, 0) + 1
            if reserved is None:
                _running_unreserved[place] = _running_unreserved.get(place, 0) + 1
            return Claim(function, reserved is not None)
    cloudwatch.lambda_throttled(fn)
    raise Throttled(reason)


def release(claimed: Claim) -> None:
    with _lock:
        if claimed.released:
            return
        claimed.released = True
        # After a reset the counts start again from nothing: an invocation from before it counts for nothing.
        _running[claimed.function] = max(0, _running.get(claimed.function, 0) - 1)
        if not claimed.reserved:
            place = claimed.function[:2]
            _running_unreserved[place] = max(0, _running_unreserved.get(place, 0) - 1)


def running(account: str, region: str, name: str) -> int:
    """Invocations of the function running now, all versions together (what ConcurrentExecutions reports)."""
    with _lock:
        return _running.get((account, region, name), 0)


def reset() -> None:
    with _lock:
        _running.clear()
        _running_unreserved.clear()


def _reservations(fn) -> dict[str, int]:
    """Reserved concurrency by function name in fn's account and region, as PutFunctionConcurrency set it."""
    from moto.awslambda.models import lambda_backends

    functions = lambda_backends[fn.account_id][fn.region]._lambdas._functions
    found = {}
    for name, group in list(functions.items()):
        reserved = group["latest"].reserved_concurrency
        if reserved is not None:
            found[name] = int(reserved)
    return found

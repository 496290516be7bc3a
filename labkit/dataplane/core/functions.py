"""The one way a service of the data plane invokes a Lambda function, as AWS services do: through
moto's LambdaBackend.invoke in this process, which the Lambda data plane has made run the handler
(labkit.dataplane.lambda_). Synchronously, for API Gateway and the SQS pollers; as an event
(Lambda queues it, retries it twice, and the sender goes on at once), for SNS and EventBridge."""

import contextvars
import json
import time
from dataclasses import dataclass

from labkit.dataplane.core.arns import FunctionRef

FUNCTION_ERROR_HEADER = "x-amz-function-error"
# Set by a synchronous caller that stops waiting at a deadline (time.monotonic()), as API Gateway
# does at its integration timeout: the Lambda data plane raises CallerStoppedWaiting then, while
# the function runs on, as it does on AWS.
ANSWER_BY: contextvars.ContextVar[float | None] = contextvars.ContextVar("lambda_answer_by", default=None)

# Set by a traced caller (API Gateway with TracingEnabled): its X-Ray trace header, Root and Parent, which
# a function with active tracing continues instead of starting a trace of its own.
TRACE_HEADER: contextvars.ContextVar[str | None] = contextvars.ContextVar("lambda_trace_header", default=None)


@dataclass(frozen=True)
class OnBehalfOf:
    """The AWS service that invokes the function, and the resource it does so for: the function's
    resource policy must allow that principal with one of these source ARNs (AWS:SourceArn)."""

    service: str  # "apigateway.amazonaws.com"
    source_arns: tuple[str, ...]


# Set around the call into moto by invoke() and invoke_event(); the Lambda data plane checks it.
INVOKED_BY: contextvars.ContextVar[OnBehalfOf | None] = contextvars.ContextVar("lambda_invoked_by", default=None)


class NotPermitted(Exception):
    """The function's resource policy does not allow the service that invokes it."""


class CallerStoppedWaiting(Exception):
    """The invocation outlived the caller's ANSWER_BY; it goes on in the background."""


class FunctionUnavailable(Exception):
    """Lambda refused the invocation itself (no such function, version or alias): AWS's error."""

    def __init__(self, error_type: str, message: str):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Result:
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed


def invoke(
    function: str,
    payload: bytes | dict,
    *,
    region: str | None = None,
    account: str | None = None,
    timeout_s: float | None = None,
    on_behalf_of: OnBehalfOf | None = None,
) -> Result:
    """Run function (an ARN, or a name in region and account; maybe qualified) and return its answer.
    With timeout_s, stop waiting then (CallerStoppedWaiting); with on_behalf_of, only if the function's
    resource policy allows that service (NotPermitted)."""
    from moto.core.exceptions import JsonRESTError

    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response_headers: dict[str, str] = {}
    # On the caller's thread: the Lambda data plane moves the function to a thread of its own only
    # when it might outlive the deadline, sparing a thread switch each way on every call.
    deadline = ANSWER_BY.set(time.monotonic() + timeout_s) if timeout_s is not None else None
    invoked_by = INVOKED_BY.set(on_behalf_of)
    try:
        answer = _backend(function, region, account).invoke(function, None, body, {}, response_headers)
    except JsonRESTError as error:
        raise FunctionUnavailable(error.error_type, error.message) from None
    finally:
        INVOKED_BY.reset(invoked_by)
        if deadline is not None:
            ANSWER_BY.reset(deadline)
    answer = answer.encode() if isinstance(answer, str) else answer or b""
    return Result(answer, response_headers.get(FUNCTION_ERROR_HEADER))


def invoke_event(
    function: str,
    payload: bytes | dict,
    *,
    on_behalf_of: OnBehalfOf,
    region: str | None = None,
    account: str | None = None,
) -> None:
    """An Event invocation, as AWS services that push to Lambda make it, when the function's resource
    policy allows them: the sender goes on at once; a function that is gone or does not allow the
    sender is reported in the local cloud's log, as AWS reports it to nobody."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    invoked_by = INVOKED_BY.set(on_behalf_of)
    try:
        _backend(function, region, account).invoke(function, None, body, {"X-Amz-Invocation-Type": "Event"}, {})
    except Exception as error:
        sender = f"{on_behalf_of.service} ({', '.join(on_behalf_of.source_arns)})"
        print(f"labkit: {sender} could not invoke {function}: {getattr(error, 'message', error)}", flush=True)
    finally:
        INVOKED_BY.reset(invoked_by)


def _backend(function: str, region: str | None, account: str | None):
    from moto.awslambda.models import lambda_backends

    ref = FunctionRef.parse(function)
    if not (ref.account or account) or not (ref.region or region):
        raise ValueError(f"{function!r} is not a function ARN, and no region and account were given")
    return lambda_backends[ref.account or account][ref.region or region]

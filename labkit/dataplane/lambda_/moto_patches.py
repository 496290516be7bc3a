"""Where labkit hooks into moto's Lambda, and what it corrects there (SEAMS, declared in
labkit.dataplane.core.seams; this module is imported only once moto's Lambda is).

- LambdaFunction._invoke_lambda(event) -> (payload, errored, logs): the seam every trigger reaches
  (Invoke, DynamoDB-stream/Kinesis/S3/Logs triggers, Secrets Manager rotation; SQS pollers, SNS
  and EventBridge through LambdaBackend.invoke, see labkit.dataplane.core.functions) through
  LambdaFunction.invoke. moto runs Docker there; labkit runs the code in a warm worker.
- LambdaFunction.invoke: moto marks errors "Handled" and returns the whole log; AWS says
  "Unhandled" and LogResult holds the last 4 KB.
- LambdaBackend.invoke: moto ignores alias weights and runs DryRun and Event synchronously; labkit
  splits traffic by RoutingConfig, runs nothing for DryRun and runs Event in the background.
- LambdaResponse.invoke: moto reads the qualifier as "qualifier" while boto3 sends "Qualifier", so
  Invoke(Qualifier=...) always ran $LATEST.
"""

import base64
import binascii
import functools
import json
import random
import uuid
from urllib.parse import unquote

from moto.awslambda.utils import make_function_arn
from moto.core.exceptions import JsonRESTError
from moto.utilities.aws_headers import amz_crc32

from labkit.dataplane.core import functions, policies
from labkit.dataplane.core.arns import FunctionRef
from labkit.dataplane.core.seams import Seam
from labkit.dataplane.lambda_ import concurrency, events, invoke, logs, roles

# Synchronous Invoke's response limit and AWS's error for it (Lambda quotas: 6 MB).
MAX_SYNC_RESPONSE_BYTES = 6 * 1024 * 1024


def _invoke_lambda(self, event=None):
    """Replaces LambdaFunction._invoke_lambda. event: JSON bytes as the caller sent them, or a
    value moto built (as its own triggers do)."""
    payload = event if isinstance(event, bytes) else json.dumps({} if event is None else event).encode()
    caller = invoke.CALLER.get() or invoke.Caller(invoked_arn=self.function_arn)
    invocation = invoke.run(self, payload, caller)
    return invocation.payload.decode("utf-8", "replace"), invocation.errored, invocation.log_text


class TooManyRequests(JsonRESTError):
    """Invoke's answer to a throttled synchronous invocation (Lambda API Reference, Invoke: 429
    TooManyRequestsException, with the Reason and Type AWS sends)."""

    code = 429

    def __init__(self, reason: str):
        super().__init__("TooManyRequestsException", concurrency.MESSAGE)
        self.description = json.dumps({"Reason": reason, "Type": "User", "message": concurrency.MESSAGE})


def _function_invoke(self, body, request_headers, response_headers):
    """Replaces LambdaFunction.invoke: AWS's FunctionError and LogResult, 429 when throttled."""
    try:
        result, errored, log_text = self._invoke_lambda(_payload(body))
    except concurrency.Throttled as throttled:
        raise TooManyRequests(throttled.reason) from None
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    if _header(request_headers, "x-amz-log-type") == "Tail":  # only Invoke with LogType=Tail returns it
        response_headers["x-amz-log-result"] = logs.tail_base64(log_text)
    response_headers["x-amz-executed-version"] = str(self.version)
    return result.encode()


def _backend_invoke(self, function_name, qualifier, body, headers, response_headers):
    """Replaces LambdaBackend.invoke: the named version or alias, weights, Event and DryRun."""
    ref = FunctionRef.parse(function_name, qualifier)
    name, qualifier = ref.name, ref.qualifier
    fn = self.get_function(name, _version_to_run(self, name, qualifier))
    invoked_by = functions.INVOKED_BY.get()
    if invoked_by is not None:
        _refuse_unless_permitted(self, fn, name, qualifier, invoked_by)
    invocation_type = _header(headers, "x-amz-invocation-type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    invoked_arn = make_function_arn(fn.region, fn.account_id, fn.function_name)
    if qualifier:
        invoked_arn += f":{qualifier}"
    client_context = _client_context(headers)
    if invocation_type == "Event":
        events.submit(fn, _payload(body), invoke.Caller(invoked_arn, str(uuid.uuid4()), client_context))
        return b""
    token = invoke.CALLER.set(invoke.Caller(invoked_arn, client_context=client_context))
    try:
        return fn.invoke(body, headers, response_headers)
    finally:
        invoke.CALLER.reset(token)


@amz_crc32
def _response_invoke(self):
    """Replaces LambdaResponse.invoke: reads Qualifier; 202 for Event, 204 for DryRun."""
    function_name = unquote(self.path.rsplit("/", 2)[-2])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    response_headers = {"content-type": "application/json"}
    payload = self.backend.invoke(function_name, qualifier, self.raw_body, self.headers, response_headers)
    status = {"Event": 202, "DryRun": 204}.get(self.headers.get("X-Amz-Invocation-Type"), 200)
    if status == 200:
        if len(payload) > MAX_SYNC_RESPONSE_BYTES:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps(
                {
                    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
            ).encode()
    response_headers["status"] = str(status)  # moto's dispatcher reads the status from here
    return status, response_headers, payload


def _payload(body) -> bytes:
    """The event as JSON bytes; an Invoke without a payload delivers {}."""
    payload = body.encode() if isinstance(body, str) else body
    return payload or b"{}"


def permits(function_arn: str, invoked_by) -> bool:
    from moto.awslambda.models import lambda_backends

    ref = FunctionRef.parse(function_arn)
    backend = lambda_backends[ref.account][ref.region]
    try:
        fn = backend.get_function(ref.name, _version_to_run(backend, ref.name, ref.qualifier))
        _refuse_unless_permitted(backend, fn, ref.name, ref.qualifier, invoked_by)
    except (functions.NotPermitted, JsonRESTError):
        return False
    return True


def _refuse_unless_permitted(backend, fn, name: str, qualifier: str | None, invoked_by) -> None:
    """An AWS service invokes a function only as its resource policy (AddPermission) allows: the
    policy of the version or alias invoked, and the function's own for an unqualified call."""
    invoked_arn = make_function_arn(fn.region, fn.account_id, name) + (f":{qualifier}" if qualifier else "")
    statements = []
    for holder in {id(fn): fn, id(latest := backend.get_function(name)): latest}.values():
        statements += list(holder.policy.statements)
    documents = [{"Statement": statements}]
    for source_arn in invoked_by.source_arns:
        request = policies.Request(
            "lambda:InvokeFunction",
            invoked_arn,
            {"aws:SourceArn": source_arn, "aws:SourceAccount": fn.account_id},
            {"Service": invoked_by.service},
        )
        if policies.evaluate(documents, request) == policies.ALLOWED:
            return
    raise functions.NotPermitted(
        f"the resource policy of {invoked_arn} does not allow {invoked_by.service} to invoke it "
        f"(source {invoked_by.source_arns[0]}): add it with lambda add_permission"
    )


def _stopping_environments(delete_function):
    """Replaces LambdaBackend.delete_function: a deleted function's execution environments stop, as on AWS,
    where moto's ran on until the local cloud stopped."""

    @functools.wraps(delete_function)
    def delete_and_stop(self, function_name, qualifier=None):
        delete_function(self, function_name, qualifier)
        if qualifier is None:
            ref = FunctionRef.parse(function_name)
            invoke.POOL.stop_function(ref.account or self.account_id, ref.region or self.region_name, ref.name)

    return delete_and_stop


def _checking_the_role_on_create(create_function):
    """Replaces LambdaBackend.create_function: Lambda must be able to assume the role (roles.py)."""

    @functools.wraps(create_function)
    def create(self, spec):
        roles.refuse_unless_assumable(spec.get("Role") or "")
        return create_function(self, spec)

    return create


def _checking_a_new_role(update_function_configuration):
    """Replaces LambdaBackend.update_function_configuration: a new role is checked as on create."""

    @functools.wraps(update_function_configuration)
    def update(self, function_name, qualifier, body):
        if "Role" in body:
            roles.refuse_unless_assumable(body["Role"] or "")
        return update_function_configuration(self, function_name, qualifier, body)

    return update


def _version_to_run(backend, name: str, qualifier: str | None) -> str | None:
    """The version itself, or for an alias its version or, by weight, an additional one."""
    if qualifier is None or qualifier == "$LATEST" or qualifier.isdigit():
        return qualifier
    alias = backend.get_alias(qualifier, name)
    weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
    draw = random.random()
    for version, weight in weights.items():
        if draw < float(weight):
            return str(version)
        draw -= float(weight)
    return alias.function_version


def _header(headers, name: str) -> str | None:
    """Case-insensitive, for werkzeug's headers and for the plain dicts moto's triggers pass."""
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _client_context(headers) -> str | None:
    """Invoke's ClientContext arrives base64-encoded; the runtime gets the JSON itself."""
    encoded = _header(headers, "x-amz-client-context")
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


SEAMS = (
    Seam(
        "moto.awslambda.models.LambdaFunction._invoke_lambda",
        ("self", "event"),
        replace=lambda _: _invoke_lambda,
    ),
    Seam(
        "moto.awslambda.models.LambdaFunction.invoke",
        ("self", "body", "request_headers", "response_headers"),
        contains="self._invoke_lambda(",
        replace=lambda _: _function_invoke,
    ),
    Seam(
        "moto.awslambda.models.LambdaBackend.invoke",
        ("self", "function_name", "qualifier", "body", "headers", "response_headers"),
        contains="fn.invoke(",
        replace=lambda _: _backend_invoke,
    ),
    Seam("moto.awslambda.responses.LambdaResponse.invoke", ("self",), replace=lambda _: _response_invoke),
    Seam("moto.awslambda.models.LambdaBackend.create_function", ("self", "spec"), replace=_checking_the_role_on_create),
    Seam(
        "moto.awslambda.models.LambdaBackend.update_function_configuration",
        ("self", "function_name", "qualifier", "body"),
        replace=_checking_a_new_role,
    ),
    Seam(
        "moto.awslambda.models.LambdaBackend.delete_function",
        ("self", "function_name", "qualifier"),
        replace=_stopping_environments,
    ),
    # Reserved concurrency, as PutFunctionConcurrency records it, by function name (concurrency.py).
    Seam(
        "moto.awslambda.models.LambdaStorage._get_latest", ("self", "name"), contains='self._functions[name]["latest"]'
    ),
    Seam("moto.awslambda.models.LambdaBackend.put_function_concurrency", contains="fn.reserved_concurrency = "),
    # The paths by which other triggers reach the seam, and the Logs calls that write invocations' logs.
    Seam("moto.awslambda.models.LambdaBackend.send_dynamodb_items", contains="func.invoke("),
    Seam("moto.logs.models.LogsBackend.ensure_log_group", ("self", "log_group_name")),
    Seam("moto.logs.models.LogsBackend.ensure_log_stream", ("self", "log_group_name", "log_stream_name")),
    Seam(
        "moto.logs.models.LogsBackend.put_log_events",
        ("self", "log_group_name", "log_stream_name", "log_events"),
    ),
)

"""Calling what a route integrates with, under the integration's timeout: a Lambda function through
moto's Lambda backend in-process (the seam every trigger reaches, where the Lambda data plane runs
the real handler, and stops waiting at the timeout), or an HTTP endpoint."""

import concurrent.futures
import http.client
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from labkit.dataplane.core import functions
from labkit.dataplane.core.arns import Arn, FunctionRef
from labkit.dataplane.core.http import end_to_end, no_delay

# REST APIs default to 29 s (HTTP APIs to 30 s); timeoutInMillis on the integration overrides it.
DEFAULT_TIMEOUT_MS = 29000
# An HTTP call that outlives its timeout keeps its thread until it ends.
_calls = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="apigateway-call")

_LAMBDA_URI = re.compile(
    r"^arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/[\d-]+/functions/"
    r"(?P<arn>.+)/invocations$"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_\-.:/]+)\}")


class IntegrationTimeout(Exception):
    """The integration did not answer within its timeout."""


class IntegrationUnreachable(Exception):
    """The integration could not be called: no such function, a malformed URI, a refused
    connection."""


@dataclass
class LambdaResult:
    payload: bytes
    function_error: str | None  # "Handled" or "Unhandled" when the function failed


@dataclass
class HttpResult:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def with_stage_variables(text: str, variables: dict[str, str]) -> str:
    """${stageVariables.name} in an integration URI replaced by the stage's value."""
    return _STAGE_VARIABLE.sub(lambda found: variables.get(found.group(1), ""), text)


def function_arn(uri: str) -> str:
    """The function ARN in a Lambda integration URI (arn:aws:apigateway:...:lambda:path/.../
    functions/ARN/invocations), or the URI itself when it is a function ARN already."""
    found = _LAMBDA_URI.match(uri or "")
    return found.group("arn") if found else (uri or "")


def execute_api_arns(function_arn: str, match, method: str, path: str) -> tuple[str, ...]:
    """The source ARNs API Gateway invokes a function for (AWS:SourceArn in its resource policy):
    arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH, the path as requested or as the
    resource or route declares it; $default for an HTTP API's default route."""
    region = Arn.parse(function_arn).region
    base = f"arn:aws:execute-api:{region}:{match.account_id}:{match.api_id}/{match.stage}"
    if match.route_key == "$default":
        return (f"{base}/$default",)
    return tuple(dict.fromkeys(f"{base}/{method}/{p.lstrip('/')}" for p in (path, match.path_template)))


def invoke_lambda(arn: str, event: dict, timeout_s: float, source_arns: tuple[str, ...]) -> LambdaResult:
    """Invoke as API Gateway does: only if the function's resource policy allows API Gateway for one
    of source_arns (else IntegrationUnreachable, which API Gateway answers with a 500)."""
    try:
        if Arn.parse(arn).service != "lambda" or not FunctionRef.parse(arn).name:
            raise ValueError(arn)
    except ValueError:
        raise IntegrationUnreachable(f"{arn!r} is not a Lambda function ARN") from None
    on_behalf_of = functions.OnBehalfOf("apigateway.amazonaws.com", source_arns)
    try:
        result = functions.invoke(arn, event, timeout_s=timeout_s, on_behalf_of=on_behalf_of)
    except functions.FunctionUnavailable as error:  # Lambda's own answer, e.g. no such function
        raise IntegrationUnreachable(f"Lambda answered {error.error_type}: {error.message}") from None
    except functions.NotPermitted as refusal:
        raise IntegrationUnreachable(f"Invalid permissions on Lambda function: {refusal}") from None
    except functions.CallerStoppedWaiting:
        raise IntegrationTimeout(f"no answer within {timeout_s:.3f} s") from None
    return LambdaResult(result.payload, result.function_error)


def call_http(method: str, url: str, headers: list[tuple[str, str]], body: bytes, timeout_s: float) -> HttpResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IntegrationUnreachable(f"{url!r} is not an http(s) URL")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def call() -> HttpResult:
        connection = connection_class(parts.hostname, parts.port, timeout=timeout_s)
        try:
            connection.connect()
            no_delay(connection.sock)
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in end_to_end(headers, also_drop=["host"]):
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)  # head and body leave in one send
            response = connection.getresponse()
            answer = HttpResult(response.status, response.getheaders(), response.read())
        except TimeoutError:
            raise IntegrationTimeout(f"{url} did not answer within {timeout_s:.3f} s") from None
        except (OSError, http.client.HTTPException) as error:
            raise IntegrationUnreachable(f"{url}: {error!r}") from None
        finally:
            connection.close()
        return answer

    return _within(timeout_s, call)


def _within(timeout_s: float, call):
    future = _calls.submit(call)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        raise IntegrationTimeout(f"no answer within {timeout_s:.3f} s") from None

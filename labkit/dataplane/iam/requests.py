"""What an AWS request asks for, read from the request itself: who signed it, which service and
operation, and its parameters, whatever the service's protocol (JSON with X-Amz-Target, query with
Action=, or REST paths, matched against botocore's model of the service)."""

import functools
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([\w-]+)/([\w-]+)/aws4_request")
# Signing names whose botocore service or IAM action prefix is another name.
_BOTOCORE_NAME = {"monitoring": "cloudwatch", "elasticloadbalancing": "elbv2", "states": "stepfunctions"}
_ACTION_PREFIX = {"monitoring": "cloudwatch"}


@dataclass(frozen=True)
class Signed:
    access_key_id: str
    region: str
    service: str  # the signing name: "dynamodb", "sqs", "lambda", "s3", ...


@dataclass(frozen=True)
class Call:
    service: str  # botocore's name
    operation: str  # "PutItem", "Invoke", ...
    params: dict
    action_prefix: str  # "dynamodb", "lambda", ...


def signer(environ) -> Signed | None:
    found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return Signed(found[1], found[2], found[3]) if found else None


def call(environ, body: bytes, signed: Signed) -> Call | None:
    """The operation the request calls, or None when it cannot be told (it then reaches moto unchecked
    and answers as moto does; a test per service the course uses pins that it is told)."""
    service = _BOTOCORE_NAME.get(signed.service, signed.service)
    prefix = _ACTION_PREFIX.get(signed.service, signed.service)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return Call(service, target.rsplit(".", 1)[-1], _json(body), prefix)
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        query.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
    if "Action" in query:
        return Call(service, query["Action"], query, prefix)
    matched = _rest_operation(service, environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/"), query)
    if matched is None:
        return None
    operation, path_params = matched
    params = {**query, **path_params}
    if body[:1] == b"{":
        params.update(_json(body))
    return Call(service, operation, params, prefix)


def _json(body: bytes) -> dict:
    try:
        found = json.loads(body or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@functools.cache
def _rest_routes(service: str) -> list[tuple]:
    """(method, path pattern, its parameter names, the query keys it requires, its literal length, the
    operation) per operation of the service."""
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:  # a service botocore does not know: nothing to match
        return []
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http.get("requestUri", "/").partition("?")
        names = tuple(re.findall(r"\{(\w+)\+?\}", path))
        pattern = re.escape(path)
        for param in names:
            pattern = pattern.replace(re.escape("{" + param + "+}"), f"(?P<{param}>.+)")
            pattern = pattern.replace(re.escape("{" + param + "}"), f"(?P<{param}>[^/]+)")
        required = tuple(key.partition("=")[0] for key in query.split("&") if key and not key.startswith("x-id"))
        literal = len(re.sub(r"\{[^}]*\}", "", path))
        routes.append((http.get("method", "GET"), re.compile(f"^{pattern}/?$"), names, required, literal, name))
    return routes


def _rest_operation(service: str, method: str, path: str, query: dict) -> tuple[str, dict] | None:
    best = None
    for route_method, pattern, names, required, literal, name in _rest_routes(service):
        if route_method != method or any(key not in query for key in required):
            continue
        found = pattern.match(path)
        if found is None:
            continue
        rank = (len(required), literal)
        if best is None or rank > best[0]:
            best = (rank, name, {param: unquote(found[param]) for param in names})
    return None if best is None else (best[1], best[2])

"""The events API Gateway sends a Lambda function, field by field as AWS documents them:
payload format 1.0 (REST API proxy integrations, and HTTP APIs that choose 1.0) and 2.0 (HTTP APIs),
plus the request a REST Lambda authorizer of type REQUEST receives.

Format 1.0 always carries every key (null when empty); format 2.0 leaves out empty ones.
"""

import base64
import fnmatch
from dataclasses import dataclass, field

from labkit.dataplane.apigateway.messages import ApiRequest

# HTTP APIs pass these bodies as text and base64-encode every other content type.
_TEXT_TYPES = (
    "text/*",
    "application/json",
    "application/*+json",
    "application/xml",
    "application/*+xml",
    "application/javascript",
    "application/x-javascript",
)


@dataclass
class RouteMatch:
    """What API Gateway knows about a request once it has matched it to a resource or route."""

    account_id: str
    api_id: str
    stage: str
    path_template: str  # the REST resource path or HTTP API route path: "/books/{id}"
    path_parameters: dict[str, str]
    stage_variables: dict[str, str]
    resource_id: str | None = None  # REST APIs
    route_key: str | None = None  # HTTP APIs: "GET /books/{id}" or "$default"
    authorizer: dict | None = None  # what the authorizer passes on, in the payload format's shape
    binary_media_types: tuple[str, ...] = field(default_factory=tuple)  # REST APIs


def proxy_event_v1(request: ApiRequest, match: RouteMatch, http_api: bool = False) -> dict:
    """Payload format 1.0. HTTP APIs join repeated headers and query values with commas where REST
    APIs keep the last one, and add "version"."""
    headers = _grouped(request.header_items)
    query = _grouped(request.query_items)
    single = (lambda values: ",".join(values)) if http_api else (lambda values: values[-1])
    body, is_base64 = _body(request, _is_binary_v1(request, match))
    event = {
        "resource": match.path_template,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: single(values) for name, values in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {name: single(values) for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": match.stage_variables or None,
        "requestContext": request_context_v1(request, match, http_api),
        "body": body,
        "isBase64Encoded": is_base64,
    }
    return {"version": "1.0", **event} if http_api else event


def request_context_v1(request: ApiRequest, match: RouteMatch, http_api: bool = False) -> dict:
    context = {
        "accountId": match.account_id,
        "apiId": match.api_id,
        "domainName": request.host,
        "domainPrefix": match.api_id,
        "extendedRequestId": request.received.extended_request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.user_agent,
            "userArn": None,
        },
        "path": _stage_path(request, match.stage),
        "protocol": request.protocol,
        "requestId": _request_id(request, http_api),
        "requestTime": request.received.clf_time,
        "requestTimeEpoch": request.received.epoch_ms,
        "resourceId": match.resource_id,
        "resourcePath": match.path_template,
        "stage": match.stage,
    }
    if match.authorizer is not None:
        context["authorizer"] = match.authorizer
    return context


def proxy_event_v2(request: ApiRequest, match: RouteMatch) -> dict:
    headers, cookies = {}, []
    for name, values in _grouped(request.header_items).items():
        if name.lower() == "cookie":
            cookies += [part.strip() for value in values for part in value.split(";") if part.strip()]
        else:
            key = name.lower()
            headers[key] = ",".join(([headers[key]] if key in headers else []) + values)
    query = {name: ",".join(values) for name, values in _grouped(request.query_items).items()}
    named_stage = match.stage != "$default"  # a named stage's name starts the path the client sent
    raw_path = _stage_path(request, match.stage, raw=True) if named_stage else request.raw_path
    event = {"version": "2.0", "routeKey": match.route_key, "rawPath": raw_path, "rawQueryString": request.query_string}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    context = {"accountId": match.account_id, "apiId": match.api_id}
    if match.authorizer is not None:
        context["authorizer"] = match.authorizer
    context.update(
        {
            "domainName": request.host,
            "domainPrefix": match.api_id,
            "http": {
                "method": request.method,
                "path": _stage_path(request, match.stage) if named_stage else request.path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.user_agent,
            },
            "requestId": _request_id(request, http_api=True),
            "routeKey": match.route_key,
            "stage": match.stage,
            "time": request.received.clf_time,
            "timeEpoch": request.received.epoch_ms,
        }
    )
    event["requestContext"] = context
    body, is_base64 = _body(request, not _is_text(request.content_type))
    if body is not None:
        event["body"] = body
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    event["isBase64Encoded"] = is_base64
    if match.stage_variables:
        event["stageVariables"] = match.stage_variables
    return event


def request_authorizer_event(request: ApiRequest, match: RouteMatch, method_arn: str) -> dict:
    """What a REST Lambda authorizer of type REQUEST receives: the proxy event without the body."""
    event = {"type": "REQUEST", "methodArn": method_arn, **proxy_event_v1(request, match)}
    del event["body"], event["isBase64Encoded"]
    return event


def _request_id(request: ApiRequest, http_api: bool) -> str:
    # HTTP APIs use the short id they return in apigw-requestid; REST APIs a UUID.
    return request.received.extended_request_id if http_api else request.received.request_id


def _grouped(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in items:
        grouped.setdefault(name, []).append(value)
    return grouped


def _stage_path(request: ApiRequest, stage: str, raw: bool = False) -> str:
    # On the execute-api domain the path a client requests starts with the stage.
    return f"/{stage}{request.raw_path if raw else request.path}"


def _body(request: ApiRequest, binary: bool) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if not binary:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _is_binary_v1(request: ApiRequest, match: RouteMatch) -> bool:
    """REST APIs base64-encode a body whose content type is one of the API's binary media types."""
    content_type = request.content_type
    # A media type set through a patch operation is stored with "/" escaped as "~1".
    patterns = [pattern.replace("~1", "/").lower() for pattern in match.binary_media_types]
    return bool(content_type) and any(fnmatch.fnmatch(content_type, pattern) for pattern in patterns)


def _is_text(content_type: str) -> bool:
    return not content_type or any(fnmatch.fnmatch(content_type, pattern) for pattern in _TEXT_TYPES)

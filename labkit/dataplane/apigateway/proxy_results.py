"""Reading what a Lambda proxy integration returned into the HTTP response, as API Gateway does:
format 1.0 (statusCode, headers, multiValueHeaders, body, isBase64Encoded) and format 2.0, which
also takes cookies and infers a response from a result without a statusCode."""

import base64
import binascii
import json

from labkit.dataplane.apigateway.messages import ApiResponse


class MalformedResult(Exception):
    """The result does not have the shape the payload format requires (AWS: "Malformed Lambda proxy
    response"); the message says what is wrong."""


def response_v1(payload: bytes) -> ApiResponse:
    result = _json(payload)
    if not isinstance(result, dict):
        raise MalformedResult(f"the result is {_kind(result)}, not an object with a statusCode")
    status = _status(result)
    headers: dict[str, list[str]] = {}
    for name, value in _mapping(result, "headers").items():
        headers[name] = [_header_value(name, value)]
    for name, values in _mapping(result, "multiValueHeaders").items():
        if not isinstance(values, list):
            raise MalformedResult(f"multiValueHeaders[{name!r}] is {_kind(values)}, not a list")
        # Where both give a header, multiValueHeaders wins (AWS's output format documentation).
        headers[name] = [_header_value(name, value) for value in values]
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = ["application/json"]  # what REST APIs send when none is given
    pairs = [(name, value) for name, values in headers.items() for value in values]
    return ApiResponse(status, pairs, _body(result))


def response_v2(payload: bytes) -> ApiResponse:
    result = _json(payload)
    if not (isinstance(result, dict) and "statusCode" in result):
        # Any other valid JSON is the body of a 200 response (AWS: "format 2.0 response inference"):
        # a string as itself, anything else as JSON.
        body = result.encode() if isinstance(result, str) else payload
        return ApiResponse(200, [("content-type", "application/json")], body)
    status = _status(result)
    headers = [(name.lower(), _header_value(name, value)) for name, value in _mapping(result, "headers").items()]
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResult(f"cookies is {_kind(cookies)}, not a list")
    headers += [("set-cookie", str(cookie)) for cookie in cookies]
    if not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", "application/json"))
    return ApiResponse(status, headers, _body(result))


def _json(payload: bytes):
    try:
        return json.loads(payload)
    except ValueError:
        raise MalformedResult("the result is not JSON") from None


def _status(result: dict) -> int:
    status = result.get("statusCode")
    if isinstance(status, str) and status.strip().isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResult(f"statusCode is {status!r}, not an HTTP status code")
    return status


def _mapping(result: dict, key: str) -> dict:
    value = result.get(key) or {}
    if not isinstance(value, dict):
        raise MalformedResult(f"{key} is {_kind(value)}, not an object")
    return value


def _header_value(name: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedResult(f"header {name!r} is {_kind(value)}, not a string")


def _body(result: dict) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResult(f"body is {_kind(body)}; it must be a string (json.dumps it)")
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResult("isBase64Encoded is true but body is not base64") from None
    return body.encode()


def _kind(value) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)

"""The integrations of REST API methods: AWS_PROXY (Lambda, payload format 1.0), AWS (Lambda with
mapping templates), HTTP_PROXY, HTTP (with mapping templates) and MOCK, each answering the method
request or raising the GatewayError API Gateway answers instead."""

import json
from urllib.parse import quote, urlencode

from labkit.dataplane.apigateway import errors, events, integrations, mappings, proxy_results
from labkit.dataplane.apigateway.deployments import IntegrationSpec
from labkit.dataplane.apigateway.events import RouteMatch
from labkit.dataplane.apigateway.messages import ApiRequest, ApiResponse
from labkit.dataplane.apigateway.templates import TemplateScope
from labkit.dataplane.core.http import end_to_end


def _lambda_proxy(
    integration: IntegrationSpec, request: ApiRequest, match: RouteMatch, timeout_s: float
) -> ApiResponse:
    result = _invoke(integration, events.proxy_event_v1(request, match), request, match, timeout_s)
    if result.function_error:
        raise errors.bad_integration_response(
            f"the Lambda function failed: {mappings.lambda_error_message(result.payload)}"
        )
    try:
        return proxy_results.response_v1(result.payload)
    except proxy_results.MalformedResult as malformed:
        raise errors.bad_integration_response(f"Malformed Lambda proxy response: {malformed}")


def _lambda_custom(
    integration: IntegrationSpec, request: ApiRequest, match: RouteMatch, timeout_s: float
) -> ApiResponse:
    if ":lambda:path/" not in (integration.uri or ""):
        raise errors.configuration_error(
            f"the AWS integration {integration.uri!r} calls a service "
            "other than Lambda, which the local cloud does not serve"
        )
    scope = mappings.template_scope(request, match)
    text = mappings.request_payload(integration, request.content_type, scope)
    try:
        event = json.loads(text) if text.strip() else {}
    except ValueError:
        raise errors.configuration_error(
            "the integration request for Lambda is not JSON (use a request template, or send a JSON body)"
        )
    result = _invoke(integration, event, request, match, timeout_s)
    selector = mappings.lambda_error_message(result.payload) if result.function_error else None
    chosen = mappings.integration_response(integration, selector)
    return mappings.method_response(
        chosen, result.payload.decode("utf-8", "replace"), {}, request.header("Accept"), scope
    )


def _http_proxy(integration: IntegrationSpec, request: ApiRequest, match: RouteMatch, timeout_s: float) -> ApiResponse:
    scope = mappings.template_scope(request, match)
    url, headers = _endpoint(integration, match, scope, request.query_items)
    result = _call_http(integration, request, url, request.header_items + headers, request.body, timeout_s)
    return ApiResponse(result.status, end_to_end(result.headers), result.body)


def _http_custom(integration: IntegrationSpec, request: ApiRequest, match: RouteMatch, timeout_s: float) -> ApiResponse:
    scope = mappings.template_scope(request, match)
    body = mappings.request_payload(integration, request.content_type, scope).encode()
    url, headers = _endpoint(integration, match, scope, [])
    content_type = request.header("Content-Type") or mappings.DEFAULT_CONTENT_TYPE
    result = _call_http(integration, request, url, [("Content-Type", content_type), *headers], body, timeout_s)
    chosen = mappings.integration_response(integration, str(result.status))
    return mappings.method_response(
        chosen, result.body.decode("utf-8", "replace"), dict(result.headers), request.header("Accept"), scope
    )


def _mock(integration: IntegrationSpec, request: ApiRequest, match: RouteMatch, timeout_s: float) -> ApiResponse:
    """The request template's statusCode picks the integration response (200 without one)."""
    scope = mappings.template_scope(request, match)
    text = mappings.request_payload(integration, request.content_type, scope)
    try:
        status = int((json.loads(text) if text.strip() else {}).get("statusCode", 200))
    except (ValueError, AttributeError, TypeError):
        raise errors.configuration_error(
            'a MOCK integration\'s request template must give JSON with a statusCode, such as {"statusCode": 200}'
        )
    chosen = mappings.integration_response(integration, str(status))
    return mappings.method_response(chosen, "", {}, request.header("Accept"), scope)


def _invoke(integration: IntegrationSpec, event: dict, request: ApiRequest, match: RouteMatch, timeout_s: float):
    arn = integrations.function_arn(integrations.with_stage_variables(integration.uri or "", match.stage_variables))
    if (integration.http_method or "").upper() != "POST":
        # Lambda's Invoke is a POST: any other method gets Lambda's AccessDeniedException, and API Gateway a 500.
        raise errors.configuration_error(
            f"the integration calls {arn} with {integration.http_method}; Lambda answered 403 AccessDeniedException: "
            "Unable to determine service/operation name to be authorized (integrationHttpMethod must be POST)"
        )
    try:
        return integrations.invoke_lambda(
            arn, event, timeout_s, integrations.execute_api_arns(arn, match, request.method, request.path)
        )
    except integrations.IntegrationTimeout:
        raise errors.endpoint_timed_out(
            f"{arn} did not answer within the integration's timeout of {timeout_s * 1000:.0f} ms"
        )
    except integrations.IntegrationUnreachable as failure:
        raise errors.configuration_error(str(failure))


def _call_http(
    integration: IntegrationSpec,
    request: ApiRequest,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    timeout_s: float,
):
    method = integration.http_method
    method = request.method if method in (None, "ANY") else method
    try:
        return integrations.call_http(method, url, headers, body, timeout_s)
    except integrations.IntegrationTimeout:
        raise errors.endpoint_timed_out(f"{url} did not answer within {timeout_s * 1000:.0f} ms")
    except integrations.IntegrationUnreachable as failure:
        raise errors.bad_integration_response(str(failure))


def _endpoint(
    integration: IntegrationSpec, match: RouteMatch, scope: TemplateScope, query: list[tuple[str, str]]
) -> tuple[str, list[tuple[str, str]]]:
    """The integration URL (stage variables and {path} variables filled in, query string added)
    and the headers the request parameters map."""
    url = integrations.with_stage_variables(integration.uri or "", match.stage_variables)
    query = list(query)
    headers = []
    for target, source in integration.request_parameters.items():
        value = mappings.parameter_value(source, scope)
        if target.startswith("integration.request.path."):
            url = url.replace("{" + target[len("integration.request.path.") :] + "}", _quoted(value))
        elif target.startswith("integration.request.querystring."):
            query.append((target[len("integration.request.querystring.") :], value))
        elif target.startswith("integration.request.header."):
            headers.append((target[len("integration.request.header.") :], value))
    # A {name} the parameters do not map takes the path variable of that name.
    for name, value in match.path_parameters.items():
        for placeholder in ("{" + name + "}", "{" + name + "+}"):
            url = url.replace(placeholder, _quoted(value))
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url, headers


def _quoted(value: str) -> str:
    return quote(value, safe="/")


BY_TYPE = {
    "AWS_PROXY": _lambda_proxy,
    "AWS": _lambda_custom,
    "HTTP_PROXY": _http_proxy,
    "HTTP": _http_custom,
    "MOCK": _mock,
}

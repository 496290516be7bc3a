"""HTTP APIs (API Gateway v2) answering on a stage: CORS preflights, the most specific route (a
route's own method before ANY, $default last), its authorizer, then its integration: AWS_PROXY
(Lambda, payload format 2.0 or 1.0) or HTTP_PROXY.

moto keeps no deployments for HTTP APIs (its CreateDeployment answers 404), so every stage serves
the API as it is now, the way a stage with autoDeploy (such as $default) does on AWS.
"""

from urllib.parse import quote

from labkit.dataplane.apigateway import authorizers, cors, errors, events, integrations, proxy_results, routing
from labkit.dataplane.apigateway.errors import GatewayError
from labkit.dataplane.apigateway.events import RouteMatch
from labkit.dataplane.apigateway.messages import ApiRequest, ApiResponse
from labkit.dataplane.apigateway.routing import PathTemplate
from labkit.dataplane.core.http import end_to_end

DEFAULT_TIMEOUT_MS = 30000
DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"


def handle(api, account_id: str, stage_name: str, request: ApiRequest) -> ApiResponse:
    cors_config = api.cors_configuration or None
    preflight = bool(cors_config) and cors.is_preflight(request)
    try:
        stage = api.stages.get(stage_name)
        if stage is None or api.protocol_type != "HTTP":
            raise errors.not_found(
                f"no stage {stage_name!r}" if stage is None else f"{api.protocol_type} APIs are not served locally"
            )
        if preflight:
            response = cors.preflight(cors_config, request)
        else:
            response = _serve(api, account_id, stage, request)
    except GatewayError as error:
        print(
            f"API Gateway {api.api_id}/{stage_name} {request.method} {request.path} -> {error.status}: {error.reason}",
            flush=True,
        )
        response = errors.http_response(error)
    if cors_config and not preflight:
        response = cors.decorate(cors_config, request, response)
    response.headers.append(("apigw-requestid", request.received.extended_request_id))
    return response


def _serve(api, account_id: str, stage, request: ApiRequest) -> ApiResponse:
    route, params = _route(api, request)
    is_default = route.route_key == DEFAULT_ROUTE
    route_path = request.path if is_default else route.route_key.split(" ", 1)[1]
    match = RouteMatch(
        account_id,
        api.api_id,
        stage.name,
        route_path,
        params,
        dict(stage.stage_variables or {}),
        route_key=route.route_key,
    )
    match.authorizer = authorizers.authorize_http(route, api, request, account_id)
    integration = api.integrations.get((route.target or "").removeprefix("integrations/"))
    if integration is None:
        raise errors.internal_server_error(f"route {route.route_key} has no integration (target)")
    timeout_s = (integration.timeout_in_millis or DEFAULT_TIMEOUT_MS) / 1000
    kind = (integration.integration_type or "").upper()
    if kind == "AWS_PROXY":
        return _lambda(integration, request, match, timeout_s)
    if kind == "HTTP_PROXY":
        return _http(integration, request, match, timeout_s)
    raise errors.internal_server_error(f"integration type {kind!r} is not served locally")


def _route(api, request: ApiRequest):
    """(route, path variables): the most specific route for the method and path, else $default."""
    candidates = []
    for route in api.routes.values():
        method, _, path = route.route_key.partition(" ")
        if route.route_key != DEFAULT_ROUTE and method in (request.method, "ANY"):
            candidates.append((PathTemplate.parse(path), 0 if method != "ANY" else 1, route))
    found = routing.best_match(candidates, request.path_segments)
    if found is not None:
        return found
    default = next((route for route in api.routes.values() if route.route_key == DEFAULT_ROUTE), None)
    if default is None:
        raise errors.not_found(f"no route matches {request.method} {request.path}")
    return default, {}


def _lambda(integration, request: ApiRequest, match: RouteMatch, timeout_s: float) -> ApiResponse:
    arn = integrations.function_arn(
        integrations.with_stage_variables(integration.integration_uri or "", match.stage_variables)
    )
    version_1 = integration.payload_format_version == "1.0"
    event = events.proxy_event_v1(request, match, http_api=True) if version_1 else events.proxy_event_v2(request, match)
    try:
        result = integrations.invoke_lambda(
            arn, event, timeout_s, integrations.execute_api_arns(arn, match, request.method, request.path)
        )
    except integrations.IntegrationTimeout:
        raise errors.service_unavailable(f"{arn} did not answer within {timeout_s * 1000:.0f} ms")
    except integrations.IntegrationUnreachable as failure:
        raise errors.internal_server_error(str(failure))
    if result.function_error:
        raise errors.internal_server_error(f"the Lambda function failed: {result.payload[:300]!r}")
    try:
        if version_1:
            return proxy_results.response_v1(result.payload)
        return proxy_results.response_v2(result.payload)
    except proxy_results.MalformedResult as malformed:
        raise errors.internal_server_error(f"malformed Lambda response: {malformed}")


def _http(integration, request: ApiRequest, match: RouteMatch, timeout_s: float) -> ApiResponse:
    url = integrations.with_stage_variables(integration.integration_uri or "", match.stage_variables)
    for name, value in match.path_parameters.items():
        url = url.replace("{" + name + "}", quote(value, safe="/"))
    if request.query_string:
        url += ("&" if "?" in url else "?") + request.query_string
    method = integration.integration_method
    method = request.method if method in (None, "ANY") else method
    try:
        result = integrations.call_http(method, url, request.header_items, request.body, timeout_s)
    except integrations.IntegrationTimeout:
        raise errors.service_unavailable(f"{url} did not answer within {timeout_s * 1000:.0f} ms")
    except integrations.IntegrationUnreachable as failure:
        raise errors.service_unavailable(str(failure))
    kept = [(name.lower(), value) for name, value in end_to_end(result.headers)]
    return ApiResponse(result.status, kept, result.body)

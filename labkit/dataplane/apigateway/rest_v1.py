"""REST APIs (API Gateway v1) answering on a stage: the stage's deployment, the most specific
resource, its method (or ANY), the method's authorizer, then its integration (rest_integrations.py).
Errors on the way answer through the API's gateway responses."""

from labkit.dataplane.apigateway import (
    authorizers,
    deployments,
    errors,
    gateway_responses,
    integrations,
    mappings,
    rest_integrations,
    routing,
    tracing,
)
from labkit.dataplane.apigateway.errors import GatewayError
from labkit.dataplane.apigateway.events import RouteMatch
from labkit.dataplane.apigateway.messages import ApiRequest, ApiResponse
from labkit.dataplane.core import functions


def handle(api, account_id: str, region: str, stage_name: str, request: ApiRequest) -> ApiResponse:
    stage = api.stages.get(stage_name)
    deployment = deployments.deployed(api.id, stage.deployment_id) if stage else None
    match = RouteMatch(account_id, api.id, stage_name, request.path, {}, dict(stage.variables) if stage else {})
    trace = tracing.begin(request) if stage is not None and stage.tracing_enabled else None
    try:
        if stage is None:
            raise errors.stage_not_found(f"no stage {stage_name!r}")
        if deployment is None:
            raise errors.stage_not_found(
                f"stage {stage_name!r} has a deployment the local cloud did not record; deploy the API again"
            )
        response = _traced_serve(trace, deployment, request, match, region)
    except GatewayError as error:
        _log(api.id, stage_name, request, error)
        customised = deployment.gateway_responses if deployment else {}
        scope = mappings.template_scope(request, match)
        response = gateway_responses.render(error, customised, scope)
    response.headers += [
        ("x-amzn-RequestId", request.received.request_id),
        ("x-amz-apigw-id", request.received.extended_request_id),
    ]
    if trace is not None:  # whatever the answer, a gateway error included
        tracing.record(api, stage_name, request, response, trace)
    return response


def _traced_serve(trace, deployment, request: ApiRequest, match: RouteMatch, region: str) -> ApiResponse:
    if trace is None:
        return _serve(deployment, request, match, region)
    token = functions.TRACE_HEADER.set(trace.header)  # a function with active tracing continues it
    try:
        return _serve(deployment, request, match, region)
    finally:
        functions.TRACE_HEADER.reset(token)


def _serve(deployment: deployments.RestDeployment, request: ApiRequest, match: RouteMatch, region: str) -> ApiResponse:
    candidates = ((resource.template, 0, resource) for resource in deployment.resources)
    found = routing.best_match(candidates, request.path_segments)
    if found is None:
        raise errors.missing_authentication_token(f"no resource matches {request.path}")
    resource, match.path_parameters = found
    method = resource.methods.get(request.method) or resource.methods.get("ANY")
    if method is None:
        raise errors.missing_authentication_token(
            f"resource {resource.template.text} has no {request.method} (or ANY) method"
        )
    match.path_template, match.resource_id = resource.template.text, resource.id
    match.binary_media_types = deployment.binary_media_types
    integration = method.integration
    if integration is None:
        raise errors.configuration_error(f"{request.method} {resource.template.text} has no integration")
    match.authorizer = authorizers.authorize_rest(method, deployment, request, match, region)
    timeout_s = (integration.timeout_ms or integrations.DEFAULT_TIMEOUT_MS) / 1000
    serve = rest_integrations.BY_TYPE.get(integration.type)
    if serve is None:
        raise errors.configuration_error(f"integration type {integration.type!r}")
    return serve(integration, request, match, timeout_s)


def _log(api_id: str, stage: str, request: ApiRequest, error: GatewayError) -> None:
    # The local cloud's log stands in for the stage's execution log on AWS.
    print(f"API Gateway {api_id}/{stage} {request.method} {request.path} -> {error.status}: {error.reason}", flush=True)

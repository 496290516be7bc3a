"""REST API mappings around integrations: what mapping templates see, the request template chosen by
content type with its passthrough behaviour, parameter mappings, and the integration response chosen
by its selection pattern (AWS, HTTP and MOCK integrations)."""

import json
import re

from labkit.dataplane.apigateway import errors, events, templates
from labkit.dataplane.apigateway.deployments import IntegrationResponseSpec, IntegrationSpec
from labkit.dataplane.apigateway.events import RouteMatch
from labkit.dataplane.apigateway.messages import ApiRequest, ApiResponse

DEFAULT_CONTENT_TYPE = "application/json"


def request_payload(integration: IntegrationSpec, content_type: str, scope: templates.TemplateScope) -> str:
    """The integration request's body: the request template for the content type, else the
    method request's body passed through, as the passthrough behaviour allows."""
    chosen = content_type or DEFAULT_CONTENT_TYPE
    template = integration.request_templates.get(chosen)
    if template is None:
        behaviour = (integration.passthrough_behavior or "WHEN_NO_MATCH").upper()
        refused = behaviour == "NEVER" or (behaviour == "WHEN_NO_TEMPLATES" and integration.request_templates)
        if refused:
            raise errors.unsupported_media_type(
                f"no request template for {chosen!r} and passthroughBehavior is {behaviour}"
            )
        return scope.body
    return _render(template, scope, "request template")


def template_scope(request: ApiRequest, match: RouteMatch) -> templates.TemplateScope:
    """What mapping templates see: $input, $context (as requestContext, plus the authorizer's
    output) and $stageVariables."""
    return templates.TemplateScope(
        body=request.body.decode("utf-8", "replace"),
        params={
            "path": dict(match.path_parameters),
            "querystring": dict(request.query_items),
            "header": dict(request.header_items),
        },
        context=events.request_context_v1(request, match),
        stage_variables=match.stage_variables,
    )


def parameter_value(source: str, scope: templates.TemplateScope) -> str:
    """A request-side mapping expression: 'literal', method.request.header|querystring|path.NAME,
    stageVariables.NAME or context.NAME[.NAME...]."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    for prefix, where in (
        ("method.request.header.", "header"),
        ("method.request.querystring.", "querystring"),
        ("method.request.path.", "path"),
    ):
        if source.startswith(prefix):
            found = templates.lookup(scope.params.get(where, {}), source[len(prefix) :])
            return templates.as_text(found)
    if source.startswith("stageVariables."):
        return templates.as_text(scope.stage_variables.get(source[len("stageVariables.") :]))
    if source.startswith("context."):
        value = scope.context
        for key in source[len("context.") :].split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return templates.as_text(value)
    return ""


def integration_response(integration: IntegrationSpec, selector: str | None) -> IntegrationResponseSpec:
    """The response whose selection pattern (a regular expression over the whole selector: the
    status code, or a Lambda function's errorMessage) matches, else the one without a pattern.
    A selector of None (a Lambda function that succeeded) takes the one without a pattern."""
    default = None
    for response in integration.responses:
        if response.selection_pattern is None:
            default = default or response
        elif selector is not None and _full_match(response.selection_pattern, selector):
            return response
    if default is None:
        raise errors.configuration_error(
            f"no integration response matches {selector!r} and none is the default (without a "
            "selection pattern): add one with put_integration_response"
        )
    return default


def method_response(
    chosen: IntegrationResponseSpec,
    body: str,
    integration_headers: dict[str, str],
    accept: str | None,
    scope: templates.TemplateScope,
) -> ApiResponse:
    """The client's response: the integration response's status, its response template applied to
    the integration's body (or the body passed through), and its header mappings."""
    media_type, template = _response_template(chosen.templates, accept)
    if template:
        response_scope = templates.TemplateScope(body, scope.params, scope.context, scope.stage_variables)
        body = _render(template, response_scope, "response template")
    headers = [("Content-Type", media_type)]
    for name, source in chosen.parameters.items():
        if name.startswith("method.response.header."):
            headers.append(
                (name[len("method.response.header.") :], _response_parameter(source, body, integration_headers, scope))
            )
    try:
        status = int(chosen.status_code)
    except ValueError:
        raise errors.configuration_error(f"integration response status {chosen.status_code!r}")
    return ApiResponse(status, headers, body.encode())


def _response_template(response_templates: dict, accept: str | None) -> tuple[str, str | None]:
    if accept:
        for media_type in (part.split(";")[0].strip() for part in accept.split(",")):
            if media_type in response_templates:
                return media_type, response_templates[media_type]
    if DEFAULT_CONTENT_TYPE in response_templates or not response_templates:
        return DEFAULT_CONTENT_TYPE, response_templates.get(DEFAULT_CONTENT_TYPE)
    return next(iter(response_templates.items()))


def _response_parameter(
    source: str, body: str, integration_headers: dict[str, str], scope: templates.TemplateScope
) -> str:
    if source.startswith("integration.response.header."):
        return templates.as_text(templates.lookup(integration_headers, source[len("integration.response.header.") :]))
    if source == "integration.response.body":
        return body
    if source.startswith("integration.response.body."):
        path = "$" + source[len("integration.response.body") :]
        return templates.as_text(templates.select(templates.TemplateScope(body).document(), path))
    return parameter_value(source, scope)


def _render(template: str, scope: templates.TemplateScope, what: str) -> str:
    try:
        return templates.render(template, scope)
    except templates.TemplateNotSupported as unsupported:
        raise errors.configuration_error(
            f"the {what} uses {unsupported}, which labkit's local API Gateway does not render "
            "(see labkit/dataplane/apigateway/templates.py for the supported subset)"
        )
    except (ValueError, TypeError) as failure:
        raise errors.configuration_error(f"the {what} failed: {failure}")


def _full_match(pattern: str, text: str) -> bool:
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def lambda_error_message(payload: bytes) -> str:
    """The errorMessage of a Lambda function's error result, which selection patterns match."""
    try:
        document = json.loads(payload)
    except ValueError:
        return ""
    return str(document.get("errorMessage", "")) if isinstance(document, dict) else ""

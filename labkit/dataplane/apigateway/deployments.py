"""REST API deployments: what a stage serves is the API as it was when deployed.

On AWS, a change to resources, methods, integrations, authorizers or gateway responses reaches a
stage only with a new deployment, a step learners often forget. moto keeps no copy, so install()
wraps moto's RestAPI.create_deployment to take one. The same wrapper keeps an existing stage (and
its stage variables) when it is redeployed, where moto would replace it with a bare one.
"""

import threading
from dataclasses import dataclass

from labkit.dataplane.apigateway.routing import PathTemplate
from labkit.dataplane.core import seams
from labkit.dataplane.core.seams import Seam


@dataclass(frozen=True)
class IntegrationResponseSpec:
    status_code: str
    selection_pattern: str | None
    templates: dict
    parameters: dict


@dataclass(frozen=True)
class IntegrationSpec:
    type: str  # AWS_PROXY, AWS, HTTP_PROXY, HTTP or MOCK
    uri: str | None
    http_method: str | None
    request_templates: dict
    passthrough_behavior: str | None
    timeout_ms: int | None
    request_parameters: dict
    responses: tuple[IntegrationResponseSpec, ...]


@dataclass(frozen=True)
class MethodSpec:
    http_method: str
    authorization_type: str
    authorizer_id: str | None
    authorization_scopes: tuple[str, ...]
    integration: IntegrationSpec | None


@dataclass(frozen=True)
class ResourceSpec:
    id: str
    template: PathTemplate
    methods: dict  # http method (or ANY) -> MethodSpec


@dataclass(frozen=True)
class AuthorizerSpec:
    id: str
    name: str
    type: str  # TOKEN, REQUEST or COGNITO_USER_POOLS
    provider_arns: tuple[str, ...]
    uri: str | None
    identity_source: str | None
    identity_validation_expression: str | None


@dataclass(frozen=True)
class GatewayResponseSpec:
    status_code: str | None
    parameters: dict
    templates: dict


@dataclass(frozen=True)
class RestDeployment:
    api_id: str
    resources: tuple[ResourceSpec, ...]
    authorizers: dict  # id -> AuthorizerSpec
    gateway_responses: dict  # response type -> GatewayResponseSpec
    binary_media_types: tuple[str, ...]


_deployments: dict[tuple[str, str], RestDeployment] = {}
_lock = threading.Lock()


def install() -> None:
    seams.declare(
        "apigateway: deployments snapshot the API",
        "moto.apigateway.models",
        "labkit.dataplane.apigateway.deployments:SEAMS",
    )


def _snapshotting(original):
    def create_deployment(self, name, description, stage_variables=None):
        existing = self.stages.get(name) if name else None
        deployment = original(self, name, description, stage_variables)
        if existing is not None:
            existing.deployment_id = deployment.id
            existing.variables.update(stage_variables or {})
            self.stages[name] = existing
        with _lock:
            _deployments[(self.id, deployment.id)] = snapshot(self)
        return deployment

    return create_deployment


def deployed(api_id: str, deployment_id: str | None) -> RestDeployment | None:
    with _lock:
        return _deployments.get((api_id, deployment_id))


def reset() -> None:
    with _lock:
        _deployments.clear()


def snapshot(api) -> RestDeployment:
    """A copy of what moto's RestAPI holds now, detached from later changes."""
    resources = tuple(
        ResourceSpec(
            resource.id,
            PathTemplate.parse(resource.get_path()),
            {verb: _method(method) for verb, method in resource.resource_methods.items()},
        )
        for resource in api.resources.values()
    )
    authorizers = {
        authorizer.id: AuthorizerSpec(
            authorizer.id,
            authorizer.name or "",
            authorizer.type or "",
            tuple(authorizer.provider_arns or ()),
            authorizer.authorizer_uri,
            authorizer.identity_source,
            authorizer.identity_validation_expression,
        )
        for authorizer in api.authorizers.values()
    }
    gateway_responses = {
        response.response_type: GatewayResponseSpec(
            str(response.status_code) if response.status_code else None,
            dict(response.response_parameters or {}),
            dict(response.response_templates or {}),
        )
        for response in api.gateway_responses.values()
    }
    return RestDeployment(api.id, resources, authorizers, gateway_responses, tuple(api.binaryMediaTypes or ()))


def _method(method) -> MethodSpec:
    integration = method.method_integration
    return MethodSpec(
        method.http_method,
        (method.authorization_type or "NONE").upper(),
        method.authorizer_id,
        tuple(method.authorization_scopes or ()),
        _integration(integration) if integration else None,
    )


def _integration(integration) -> IntegrationSpec:
    responses = tuple(
        IntegrationResponseSpec(
            str(response.status_code),
            response.selection_pattern or None,
            dict(response.response_templates or {}),
            dict(response.response_parameters or {}),
        )
        for response in (integration.integration_responses or {}).values()
    )
    timeout = integration.timeout_in_millis
    return IntegrationSpec(
        (integration.integration_type or "").upper(),
        integration.uri,
        integration.http_method,
        dict(integration.request_templates or {}),
        integration.passthrough_behaviour,
        int(timeout) if timeout else None,
        dict(integration.request_parameters or {}),
        responses,
    )


SEAMS = (
    Seam(
        "moto.apigateway.models.RestAPI.create_deployment",
        ("self", "name", "description", "stage_variables"),
        replace=_snapshotting,
    ),
)

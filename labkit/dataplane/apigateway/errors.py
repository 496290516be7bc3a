"""The answers API Gateway gives itself when a request does not reach, or comes back badly from, an
integration: their status, body and (REST APIs) gateway response type, worded as AWS words them."""

import json
from dataclasses import dataclass

from labkit.dataplane.apigateway.messages import ApiResponse


@dataclass
class GatewayError(Exception):
    status: int
    message: str | None
    reason: str  # what went wrong, for the local cloud's log (AWS writes it to execution logs)
    response_type: str | None = None  # REST gateway response type; None: not customisable
    message_key: str = "message"
    error_type: str | None = None  # x-amzn-ErrorType, on the REST errors where AWS sends one


# REST APIs ------------------------------------------------------------------------------------


def missing_authentication_token(reason: str) -> GatewayError:
    # What AWS answers for a path or method the API does not define, as well as a missing signature.
    return GatewayError(
        403,
        "Missing Authentication Token",
        reason,
        "MISSING_AUTHENTICATION_TOKEN",
        error_type="MissingAuthenticationTokenException",
    )


def stage_not_found(reason: str) -> GatewayError:
    return GatewayError(403, "Forbidden", reason, error_type="ForbiddenException")


def unauthorized(reason: str) -> GatewayError:
    return GatewayError(401, "Unauthorized", reason, "UNAUTHORIZED", error_type="UnauthorizedException")


def access_denied(reason: str, explicit: bool) -> GatewayError:
    message = "User is not authorized to access this resource"
    if explicit:
        message += " with an explicit deny"
    # AWS spells this body's key with a capital M.
    return GatewayError(
        403, message, reason, "ACCESS_DENIED", message_key="Message", error_type="AccessDeniedException"
    )


def authorizer_configuration_error(reason: str) -> GatewayError:
    return GatewayError(
        500, None, reason, "AUTHORIZER_CONFIGURATION_ERROR", error_type="AuthorizerConfigurationException"
    )


def endpoint_timed_out(reason: str) -> GatewayError:
    return GatewayError(504, "Endpoint request timed out", reason, "INTEGRATION_TIMEOUT")


def bad_integration_response(reason: str) -> GatewayError:
    """A Lambda function that failed, timed out or answered in the wrong shape."""
    return GatewayError(502, "Internal server error", reason, "DEFAULT_5XX")


def configuration_error(reason: str) -> GatewayError:
    return GatewayError(500, "Internal server error", reason, "API_CONFIGURATION_ERROR")


def unsupported_media_type(reason: str) -> GatewayError:
    return GatewayError(415, "Unsupported Media Type", reason, "UNSUPPORTED_MEDIA_TYPE")


# HTTP APIs: fixed answers, no gateway responses ---------------------------------------------------


def not_found(reason: str) -> GatewayError:
    return GatewayError(404, "Not Found", reason)


def http_unauthorized(reason: str) -> GatewayError:
    return GatewayError(401, "Unauthorized", reason)


def http_forbidden(reason: str) -> GatewayError:
    return GatewayError(403, "Forbidden", reason)


def internal_server_error(reason: str) -> GatewayError:
    """HTTP APIs answer a failed or malformed Lambda result, and a configuration error, this way."""
    return GatewayError(500, "Internal Server Error", reason)


def service_unavailable(reason: str) -> GatewayError:
    """HTTP APIs answer an integration that outlives its timeout this way."""
    return GatewayError(503, "Service Unavailable", reason)


def http_response(error: GatewayError) -> ApiResponse:
    body = json.dumps({"message": error.message}, separators=(",", ":")).encode()
    return ApiResponse(error.status, [("content-type", "application/json")], body)

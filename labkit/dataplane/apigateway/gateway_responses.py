"""REST APIs answer their own errors through gateway responses: a learner may change the status,
add headers (CORS on a 401, say) or rewrite the body, per response type or for all 4XX or 5XX."""

import json

from labkit.dataplane.apigateway import mappings, templates
from labkit.dataplane.apigateway.errors import GatewayError
from labkit.dataplane.apigateway.messages import ApiResponse


def render(error: GatewayError, gateway_responses: dict, scope: templates.TemplateScope) -> ApiResponse:
    """The error as the REST API answers it, through its gateway responses if it customised them."""
    headers = [("Content-Type", "application/json")]
    if error.error_type:
        headers.append(("x-amzn-ErrorType", error.error_type))
    custom = None
    if error.response_type:
        custom = gateway_responses.get(error.response_type) or gateway_responses.get(
            "DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX"
        )
    message_string = json.dumps(error.message)
    scope.context = {
        **scope.context,
        "error": {
            "message": error.message or "",
            "messageString": message_string,
            "responseType": error.response_type or "",
        },
    }
    body = f'{{"{error.message_key}":{message_string}}}'
    status = error.status
    if custom is not None:
        status = int(custom.status_code or status)
        for name, source in custom.parameters.items():
            if name.startswith("gatewayresponse.header."):
                headers.append((name[len("gatewayresponse.header.") :], mappings.parameter_value(source, scope)))
        template = custom.templates.get("application/json")
        if template:
            body = templates.render(template, scope)
    return ApiResponse(status, headers, body.encode())

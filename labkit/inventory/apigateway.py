"""API Gateway: REST APIs (v1), and HTTP and WebSocket APIs (v2)."""

from labkit.awsapi import pages
from labkit.inventory.base import Kind, Resource


def _rest_apis(clients, wanted):
    # The list carries each API's tags; moto's GetTags does not route in server mode.
    for api in pages(clients("apigateway"), "get_rest_apis", "items"):
        tags = api.get("tags") or {}
        if wanted(tags):
            yield Resource(
                id=api["id"],
                name=api["name"],
                full_name=f"{api['name']} ({api['id']})",
                arn=f"arn:aws:apigateway:{clients.region}::/restapis/{api['id']}",
                tags=tags,
                details=api,
            )


def _v2_apis(clients, wanted):
    for api in pages(clients("apigatewayv2"), "get_apis", "Items"):
        tags = api.get("Tags") or {}
        if wanted(tags):
            yield Resource(
                id=api["ApiId"],
                name=api["Name"],
                full_name=f"{api['Name']} ({api['ApiId']})",
                arn=f"arn:aws:apigateway:{clients.region}::/apis/{api['ApiId']}",
                tags=tags,
                details=api,
            )


REST_API = Kind("API Gateway REST API", "apigateway", _rest_apis)
# WebSocket APIs too: details["ProtocolType"] tells them apart.
HTTP_API = Kind("API Gateway HTTP API", "apigatewayv2", _v2_apis)
KINDS = (REST_API, HTTP_API)

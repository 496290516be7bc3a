"""API Gateway: REST APIs (v1) and HTTP APIs (v2); stages, deployments and routes go with them."""

from labkit.awsapi import pages
from labkit.teardown.base import Kind, Resource


def find_rest_apis(client, wanted):
    # The list carries each API's tags; moto's GetTags does not route in server mode.
    for api in pages(client, "get_rest_apis", "items"):
        tags = api.get("tags") or {}
        if wanted(tags):
            yield Resource(id=api["id"], name=f"{api['name']} ({api['id']})", tags=tags)


def find_http_apis(client, wanted):
    for api in pages(client, "get_apis", "Items"):
        tags = api.get("Tags") or {}
        if wanted(tags):
            yield Resource(id=api["ApiId"], name=f"{api['Name']} ({api['ApiId']})", tags=tags)


KINDS = (
    Kind(
        "API Gateway REST API",
        "apigateway",
        find_rest_apis,
        lambda client, api: client.delete_rest_api(restApiId=api.id),
    ),
    Kind("API Gateway HTTP API", "apigatewayv2", find_http_apis, lambda client, api: client.delete_api(ApiId=api.id)),
)

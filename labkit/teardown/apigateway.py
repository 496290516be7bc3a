"""API Gateway: REST APIs (v1) and HTTP APIs (v2); stages, deployments and routes go with them."""

from labkit.inventory import apigateway
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(apigateway.REST_API, lambda client, api: client.delete_rest_api(restApiId=api.id)),
    Deletion(apigateway.HTTP_API, lambda client, api: client.delete_api(ApiId=api.id)),
)

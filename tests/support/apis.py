"""A REST API that answers without any function behind it, for tests about URLs and listings."""

import boto3


def mock_rest_api(name: str, answer: str, tags: dict | None = None, stage: str = "prod") -> str:
    """A REST API whose root answers GET with `answer` (a JSON text) through a MOCK integration,
    deployed to `stage`; returns its id."""
    apigateway = boto3.client("apigateway")
    api_id = apigateway.create_rest_api(name=name, **({"tags": tags} if tags else {}))["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    method = {"restApiId": api_id, "resourceId": root, "httpMethod": "GET"}
    apigateway.put_method(**method, authorizationType="NONE")
    apigateway.put_integration(**method, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    apigateway.put_method_response(**method, statusCode="200")
    apigateway.put_integration_response(**method, statusCode="200", responseTemplates={"application/json": answer})
    apigateway.create_deployment(restApiId=api_id, stageName=stage)
    return api_id

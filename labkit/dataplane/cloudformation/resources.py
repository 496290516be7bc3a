"""Resource types the labs deploy (SAM makes them for every function with AutoPublishAlias and every
API) that moto 5.2.5 has no CloudFormation model for, made for real through moto's own backends:
AWS::Lambda::Alias and AWS::ApiGateway::Stage. And AWS::Lambda::Version as CloudFormation reports it:
Ref is the version's ARN, GetAtt Version its number (moto gives neither). Imported only once
moto.cloudformation is: each class is a CloudFormationModel, which moto finds by subclassing."""

import base64
import json
from typing import Any

from moto.apigateway.exceptions import RestAPINotFound
from moto.apigateway.models import apigateway_backends
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel
from moto.utilities.utils import get_partition

from labkit.dataplane.core.arns import FunctionRef


def _lambda(account_id: str, region: str):
    return lambda_backends[account_id][region]


def _routing_config(properties: dict) -> dict | None:
    weights = (properties.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or []
    if not weights:
        return None
    return {"AdditionalVersionWeights": {w["FunctionVersion"]: float(w["FunctionWeight"]) for w in weights}}


class LambdaAliasResource(CloudFormationModel):
    def __init__(self, alias, function_name: str):
        self.alias = alias
        self.function_name = function_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "AliasArn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.alias.arn

    @property
    def physical_resource_id(self) -> str:
        return self.alias.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        function_name = properties["FunctionName"]
        alias = _lambda(account_id, region_name).create_alias(
            name=properties["Name"],
            function_name=function_name,
            function_version=str(properties["FunctionVersion"]),
            description=properties.get("Description", ""),
            routing_config=_routing_config(properties),
        )
        return cls(alias, function_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        properties = cloudformation_json["Properties"]
        original_resource.alias.update(
            properties.get("Description", ""), str(properties["FunctionVersion"]), _routing_config(properties)
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            _lambda(account_id, region_name).delete_alias(self.alias.name, self.function_name)
        except UnknownFunctionException:
            pass  # the function was deleted first, and its aliases with it


class ApiGatewayStageResource(CloudFormationModel):
    def __init__(self, rest_api_id: str, stage_name: str):
        self.rest_api_id = rest_api_id
        self.stage_name = stage_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return self.stage_name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = apigateway_backends[account_id][region_name]
        backend.create_stage(
            properties["RestApiId"],
            properties["StageName"],
            properties["DeploymentId"],
            variables=properties.get("Variables") or {},
            description=properties.get("Description", ""),
            tracing_enabled=properties.get("TracingEnabled"),
        )
        return cls(properties["RestApiId"], properties["StageName"])

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        properties = cloudformation_json["Properties"]
        if (properties["RestApiId"], properties["StageName"]) != (
            original_resource.rest_api_id,
            original_resource.stage_name,
        ):
            raise NotImplementedError("the local cloud does not replace a stage of another name or API")
        stage = apigateway_backends[account_id][region_name].get_stage(properties["RestApiId"], properties["StageName"])
        stage.deployment_id = properties["DeploymentId"]
        stage.variables = properties.get("Variables") or {}
        stage.description = properties.get("Description", "")
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            apigateway_backends[account_id][region_name].delete_stage(self.rest_api_id, self.stage_name)
        except RestAPINotFound:
            pass  # the API was deleted first, and its stages with it


def version_created(_moto_create):
    """LambdaVersion.create_from_cloudformation_json, keeping the version's ARN."""

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs: Any):
        function_name = cloudformation_json["Properties"]["FunctionName"]
        function = _lambda(account_id, region_name).publish_version(function_name)
        version = cls({"Version": function.version})
        partition = get_partition(region_name)
        function_arn = f"arn:{partition}:lambda:{region_name}:{account_id}:function:{function.function_name}"
        version.arn = f"{function_arn}:{function.version}"
        return version

    return classmethod(create)


def version_arn(_absent):
    return property(lambda version: version.arn)


def version_attribute(_absent):
    def get_cfn_attribute(version, attribute_name: str) -> str:
        return version.version if attribute_name == "Version" else version.arn.rsplit(":", 1)[0]

    return get_cfn_attribute


def version_attributes(_moto_has_cfn_attr):
    return classmethod(lambda cls, attr: attr in ("Version", "FunctionArn"))


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method")


def rest_api_from_body(moto_create):
    """RestAPI.create_from_cloudformation_json, taking an OpenAPI or Swagger 2.0 Body as CloudFormation
    does (SAM's implicit API is one): the paths, methods and x-amazon-apigateway-integration of each.
    moto requires a Name and reads no Body."""

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs: Any):
        properties = cloudformation_json["Properties"]
        body = properties.get("Body")
        if not body:
            return moto_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = apigateway_backends[account_id][region_name]
        info = body.get("info") or {}
        api = backend.create_rest_api(
            name=properties.get("Name") or info.get("title") or resource_name,
            description=properties.get("Description") or info.get("description", ""),
            endpoint_configuration=properties.get("EndpointConfiguration"),
        )
        _define(backend, api, body)
        return api

    return classmethod(create)


def rest_api_body_updated(_moto_update):
    """An update of a RestApi's Body replaces its resources and methods, as PutRestApi's overwrite mode
    does (a new Deployment, which SAM names anew for each change, then serves them)."""

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        body = cloudformation_json["Properties"].get("Body")
        if not body:
            raise NotImplementedError("the local cloud updates a RestApi only through its Body")
        root = original_resource.get_resource_for_path("/")
        original_resource.resources = {root.id: root}
        root.resource_methods = {}
        _define(apigateway_backends[account_id][region_name], original_resource, body)
        return original_resource

    return classmethod(update)


def _define(backend, api, body: dict) -> None:
    """The paths and methods of an OpenAPI or Swagger body, with their x-amazon-apigateway-integration."""
    for path, operations in sorted((body.get("paths") or {}).items()):
        resource_id = _resource_for(backend, api, path)
        for verb, operation in operations.items():
            if verb.lower() not in HTTP_METHODS:
                continue
            method = "ANY" if verb == "x-amazon-apigateway-any-method" else verb.upper()
            backend.put_method(api.id, resource_id, method, "NONE")
            integration = operation.get("x-amazon-apigateway-integration")
            if integration:
                backend.put_integration(
                    api.id,
                    resource_id,
                    method,
                    integration["type"].upper(),
                    integration.get("uri", ""),
                    integration.get("httpMethod", "POST"),
                )


def _resource_for(backend, api, path: str) -> str:
    parent = api.get_resource_for_path("/")
    walked = ""
    for part in [p for p in path.split("/") if p]:
        walked += "/" + part
        found = api.get_resource_for_path(walked)
        if found is None:
            found = backend.create_resource(function_id=api.id, parent_resource_id=parent.id, path_part=part)
        parent = found
    return parent.id


def rest_api_deleted(_absent):
    """What a stack's delete calls on the RestApi it made (moto's RestAPI has no way to be deleted)."""

    def delete(api, account_id: str, region_name: str) -> None:
        apigateway_backends[account_id][region_name].delete_rest_api(api.id)

    return delete


def deployment_id(_absent):
    """Ref of an AWS::ApiGateway::Deployment is its id (moto gives the object itself)."""
    return property(lambda deployment: deployment.id)


def permission_added(_moto_create):
    """Permission.create_from_cloudformation_json, adding the statement as AddPermission adds it (on the
    version or alias FunctionName qualifies, with a statement id), where the resource policy is read
    when a service invokes. moto adds the template's properties as they are, on the unqualified function."""

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs: Any):
        properties = cloudformation_json["Properties"]
        function = FunctionRef.parse(properties["FunctionName"])
        statement = {"StatementId": kwargs.get("LogicalId") or resource_name, "Action": properties["Action"]}
        statement["Principal"] = properties["Principal"]
        for optional in ("SourceArn", "SourceAccount", "EventSourceToken", "PrincipalOrgID", "FunctionUrlAuthType"):
            if properties.get(optional):
                statement[optional] = properties[optional]
        _lambda(account_id, region_name).add_permission(function.name, function.qualifier, json.dumps(statement))
        return cls(region=region_name)

    return classmethod(create)


def function_code_zipped_on_update(moto_update):
    """LambdaFunction.update_from_cloudformation_json, with ZipFile (the source itself, in a template)
    zipped as moto zips it on create; moto took the source for a zip's base64 on update."""

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        code = cloudformation_json["Properties"].get("Code") or {}
        if isinstance(code.get("ZipFile"), str):
            zipped = base64.b64encode(cls._create_zipfile_from_plaintext_code(code["ZipFile"]))
            properties = {**cloudformation_json["Properties"], "Code": {**code, "ZipFile": zipped}}
            cloudformation_json = {**cloudformation_json, "Properties": properties}
        return moto_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)

    return classmethod(update)

"""CloudFormation on the local cloud never reports a resource created that was not: a type it cannot make
fails the stack (CREATE_FAILED with the reason, then rolled back as AWS rolls back); SAM templates are
transformed and deploy a function that answers; a stack's delete removes what it made."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

# What lab 09 deploys as a template. The local cloud must make each of these, or fail the stack.
LAB_TYPES = [
    "AWS::Lambda::Function",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGatewayV2::Api",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::DynamoDB::Table",
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::LogGroup",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
]
# Of those, what moto 5.2.5 has no model for and so skipped while reporting CREATE_COMPLETE: the local
# cloud fails a stack with any of them (Alias and Stage it makes itself: SAM needs them).
CANNOT_MAKE = [
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGatewayV2::Api",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
]


def stack_name() -> str:
    return f"stack-{uuid.uuid4().hex[:8]}"


def status_of(cloudformation, name: str) -> str:
    return cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


def events_of(cloudformation, name: str) -> list[tuple[str, str, str]]:
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in events]


def outputs_of(cloudformation, name: str) -> dict[str, str]:
    outputs = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    return {output["OutputKey"]: output["OutputValue"] for output in outputs}


def resources_of(cloudformation, name: str) -> list[dict]:
    return cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]


def answer_of(lambda_, function: str, qualifier: str) -> dict:
    """What the function returns, invoked at the version or alias qualifier."""
    return json.loads(lambda_.invoke(FunctionName=function, Qualifier=qualifier)["Payload"].read())


def test_the_types_the_local_cloud_cannot_make_are_those_moto_skips(cloud):
    # Asked of the running local cloud: a one-resource stack of each type, its outcome.
    cloudformation = boto3.client("cloudformation")
    failed = []
    for resource_type in LAB_TYPES:
        name = stack_name()
        template = {"Resources": {"Thing": {"Type": resource_type, "Properties": {}}}}
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
        reasons = [reason for logical, status, reason in events_of(cloudformation, name) if status == "CREATE_FAILED"]
        if reasons and "cannot create resources of type" in reasons[0]:
            failed.append(resource_type)
        cloudformation.delete_stack(StackName=name)
    assert failed == CANNOT_MAKE


def test_a_stack_with_a_type_it_cannot_make_fails_and_rolls_back_what_it_made(cloud):
    cloudformation, sqs = boto3.client("cloudformation"), boto3.client("sqs")
    name, queue = stack_name(), f"orders-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": queue}},
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "DependsOn": ["Queue", "Topic"],
                "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:x"},
            },
        }
    }

    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))

    assert status_of(cloudformation, name) == "ROLLBACK_COMPLETE"
    events = events_of(cloudformation, name)
    assert [(logical, status) for logical, status, _ in events if logical == "Queue"] == [
        ("Queue", "DELETE_COMPLETE"),  # newest first
        ("Queue", "CREATE_COMPLETE"),
        ("Queue", "CREATE_IN_PROGRESS"),
    ]
    assert (
        "Subscription",
        "CREATE_FAILED",
        "The local cloud cannot create resources of type AWS::SNS::Subscription (moto has no model for it); "
        "it fails the stack rather than report the resource created. Create it with boto3 instead.",
    ) in events
    assert (
        name,
        "ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to create: [Subscription]. Rollback requested by user.",
    ) in events
    with pytest.raises(ClientError) as gone:
        sqs.get_queue_url(QueueName=queue)
    assert gone.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert resources_of(cloudformation, name) == []
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0].get("Outputs") is None
    with pytest.raises(ClientError) as refused:
        cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(template))
    stack_id = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    assert refused.value.response["Error"]["Message"] == (
        f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
    )


def test_an_update_adding_a_type_it_cannot_make_rolls_back_to_the_previous_template(cloud):
    cloudformation = boto3.client("cloudformation")
    name = stack_name()
    first = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(first))
    second = {"Resources": {**first["Resources"], "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}}}}

    cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(second))

    assert status_of(cloudformation, name) == "UPDATE_ROLLBACK_COMPLETE"
    assert [r["LogicalResourceId"] for r in resources_of(cloudformation, name)] == ["Topic"]
    cloudformation.delete_stack(StackName=name)


# One function, Catalog, published to its alias live at each change of its code, which answers 200 and {body}
# (a Python expression); {rest} is what the template goes on with (the function's events, the outputs).
SAM_FUNCTION = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Catalog:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      AutoPublishAlias: live
      InlineCode: |
        def handler(event, context):
            return {{"statusCode": 200, "body": {body}}}
{rest}"""
SAM_TEMPLATE = SAM_FUNCTION.format(
    body='"catalog v1"',
    rest="""Outputs:
  FunctionName:
    Value: !Ref Catalog
""",
)
# What a SAM template must acknowledge: the transform (AUTO_EXPAND) and the role it makes (IAM).
SAM_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]


def create_sam_stack(cloudformation, template: str = SAM_TEMPLATE) -> str:
    """A stack of a new name made from the SAM template; its name."""
    name = stack_name()
    cloudformation.create_stack(StackName=name, TemplateBody=template, Capabilities=SAM_CAPABILITIES)
    return name


def test_a_sam_template_deploys_a_function_that_answers_through_its_alias(cloud):
    cloudformation, lambda_ = boto3.client("cloudformation"), boto3.client("lambda")

    name = create_sam_stack(cloudformation)

    assert status_of(cloudformation, name) == "CREATE_COMPLETE"
    function = outputs_of(cloudformation, name)["FunctionName"]
    alias = lambda_.get_alias(FunctionName=function, Name="live")
    assert alias["FunctionVersion"] == "1"
    assert answer_of(lambda_, function, "live") == {"statusCode": 200, "body": "catalog v1"}
    types = sorted(r["ResourceType"] for r in resources_of(cloudformation, name))
    assert types == ["AWS::IAM::Role", "AWS::Lambda::Alias", "AWS::Lambda::Function", "AWS::Lambda::Version"]

    cloudformation.delete_stack(StackName=name)

    with pytest.raises(ClientError) as gone:
        lambda_.get_function(FunctionName=function)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_sam_update_of_the_code_publishes_a_version_of_the_new_code_and_moves_the_alias(cloud):
    cloudformation, lambda_ = boto3.client("cloudformation"), boto3.client("lambda")
    name = create_sam_stack(cloudformation)

    cloudformation.update_stack(
        StackName=name, TemplateBody=SAM_TEMPLATE.replace("catalog v1", "catalog v2"), Capabilities=SAM_CAPABILITIES
    )

    assert status_of(cloudformation, name) == "UPDATE_COMPLETE"
    function = outputs_of(cloudformation, name)["FunctionName"]
    assert lambda_.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "2"
    assert answer_of(lambda_, function, "live") == {"statusCode": 200, "body": "catalog v2"}
    assert answer_of(lambda_, function, "1") == {"statusCode": 200, "body": "catalog v1"}
    cloudformation.delete_stack(StackName=name)


SAM_API_TEMPLATE = SAM_FUNCTION.format(
    body='"catalog " + event["path"]',
    rest="""      Events:
        Books:
          Type: Api
          Properties: {Path: /books, Method: get}
Outputs:
  Api:
    Value: !Ref ServerlessRestApi
""",
)


def test_a_sam_api_answers_through_the_alias_and_goes_with_its_stack(cloud):
    cloudformation, apigateway = boto3.client("cloudformation"), boto3.client("apigateway")

    name = create_sam_stack(cloudformation, SAM_API_TEMPLATE)

    assert status_of(cloudformation, name) == "CREATE_COMPLETE"
    api = outputs_of(cloudformation, name)["Api"]
    answer = requests.get(f"{cloud.endpoint}/restapis/{api}/Prod/_user_request_/books", timeout=10)
    assert (answer.status_code, answer.text) == (200, "catalog /books")
    assert apigateway.get_stage(restApiId=api, stageName="Prod")["stageName"] == "Prod"

    with_authors = SAM_API_TEMPLATE.replace(
        "          Properties: {Path: /books, Method: get}",
        "          Properties: {Path: /books, Method: get}\n        Authors:\n          Type: Api\n"
        "          Properties: {Path: /authors, Method: get}",
    )
    cloudformation.update_stack(StackName=name, TemplateBody=with_authors, Capabilities=SAM_CAPABILITIES)
    assert status_of(cloudformation, name) == "UPDATE_COMPLETE"
    answer = requests.get(f"{cloud.endpoint}/restapis/{api}/Prod/_user_request_/authors", timeout=10)
    assert (answer.status_code, answer.text) == (200, "catalog /authors")

    cloudformation.delete_stack(StackName=name)

    assert api not in [item["id"] for item in apigateway.get_rest_apis()["items"]]


def test_an_update_of_a_type_it_cannot_update_fails_and_rolls_back(cloud):
    cloudformation, dynamodb = boto3.client("cloudformation"), boto3.client("dynamodb")
    name, table = stack_name(), f"books-{uuid.uuid4().hex[:6]}"
    properties = {
        "TableName": table,
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    template = {"Resources": {"Books": {"Type": "AWS::DynamoDB::Table", "Properties": properties}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    streamed = {**properties, "StreamSpecification": {"StreamViewType": "NEW_IMAGE"}}

    cloudformation.update_stack(
        StackName=name,
        TemplateBody=json.dumps({"Resources": {"Books": {**template["Resources"]["Books"], "Properties": streamed}}}),
    )

    assert status_of(cloudformation, name) == "UPDATE_ROLLBACK_COMPLETE"
    assert (
        "Books",
        "UPDATE_FAILED",
        "The local cloud cannot update resources of type AWS::DynamoDB::Table (moto has no update for it); it "
        "fails the update rather than report the resource updated. Delete and create the stack again.",
    ) in events_of(cloudformation, name)
    assert "LatestStreamArn" not in dynamodb.describe_table(TableName=table)["Table"]
    assert [r["LogicalResourceId"] for r in resources_of(cloudformation, name)] == ["Books"]
    cloudformation.delete_stack(StackName=name)


def test_a_sam_template_the_transform_refuses_is_refused_with_the_transform_s_reason(cloud):
    cloudformation = boto3.client("cloudformation")
    # A function with no code: neither InlineCode nor CodeUri.
    template = SAM_TEMPLATE.split("      InlineCode:")[0] + "Outputs: {}\n"

    with pytest.raises(ClientError) as refused:
        create_sam_stack(cloudformation, template)

    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == (
        "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. "
        "Number of errors found: 1. Resource with id [Catalog] is invalid. "
        "Only one of 'InlineCode' or 'CodeUri' can be set."
    )


@pytest.mark.parametrize(
    "template, capabilities, required",
    [
        ({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {}}}}, [], "CAPABILITY_IAM"),
        (
            {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "catalog"}}}},
            ["CAPABILITY_IAM"],
            "CAPABILITY_NAMED_IAM",
        ),
        (SAM_TEMPLATE, ["CAPABILITY_IAM"], "CAPABILITY_AUTO_EXPAND"),
        (SAM_TEMPLATE, ["CAPABILITY_AUTO_EXPAND"], "CAPABILITY_IAM"),  # the role SAM makes for the function
    ],
)
def test_a_template_whose_capabilities_are_not_acknowledged_is_refused(cloud, template, capabilities, required):
    body = template if isinstance(template, str) else json.dumps(template)

    with pytest.raises(ClientError) as refused:
        boto3.client("cloudformation").create_stack(
            StackName=stack_name(), TemplateBody=body, Capabilities=capabilities
        )

    assert refused.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    assert refused.value.response["Error"]["Message"] == f"Requires capabilities : [{required}]"


@pytest.mark.no_cloud
def test_cfn_lint_finds_a_mistake_in_a_template_a_learner_wrote(tmp_path):
    template = tmp_path / "template.yaml"
    template.write_text(SAM_TEMPLATE.replace("python3.12", "python2.7"))

    linted = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(template)], capture_output=True, text=True
    )

    assert linted.returncode != 0
    assert "python2.7" in linted.stdout and "deprecated" in linted.stdout


def change_set_done(cloudformation, change_set_id: str) -> dict:
    return cloudformation.describe_change_set(ChangeSetName=change_set_id)


def create_sam_change_set(cloudformation, stack: str, change_set: str, change_set_type: str) -> dict:
    return cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=change_set,
        TemplateBody=SAM_TEMPLATE,
        Capabilities=SAM_CAPABILITIES,
        ChangeSetType=change_set_type,
    )


def test_an_update_change_set_with_no_changes_fails_and_cannot_be_executed(cloud):
    cloudformation = boto3.client("cloudformation")
    name = create_sam_stack(cloudformation)

    same = create_sam_change_set(cloudformation, name, "same", "UPDATE")

    described = change_set_done(cloudformation, same["Id"])
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert described["StatusReason"] == (
        "The submitted information didn't contain changes. Submit different information to create a change set."
    )
    assert described["Changes"] == []
    with pytest.raises(ClientError) as refused:
        cloudformation.execute_change_set(ChangeSetName=same["Id"])
    assert refused.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert refused.value.response["Error"]["Message"] == (
        f"ChangeSet [{same['StackId']}] cannot be executed in its current execution status of [UNAVAILABLE]"
    )
    assert status_of(cloudformation, name) == "CREATE_COMPLETE"
    cloudformation.delete_stack(StackName=name)


def test_a_stack_made_through_a_create_change_set_shows_its_outputs(cloud):
    cloudformation = boto3.client("cloudformation")
    name = stack_name()
    made = create_sam_change_set(cloudformation, name, "create", "CREATE")

    cloudformation.execute_change_set(ChangeSetName=made["Id"])

    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    function = cloudformation.describe_stack_resource(StackName=name, LogicalResourceId="Catalog")
    assert [(o["OutputKey"], o["OutputValue"]) for o in stack["Outputs"]] == [
        ("FunctionName", function["StackResourceDetail"]["PhysicalResourceId"])
    ]
    cloudformation.delete_stack(StackName=name)

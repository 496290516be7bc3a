"""CodePipeline on the local cloud runs its executions: a source in a versioned S3 bucket, a CodeBuild
build that runs the tests, a CloudFormation deploy whose function answers; a failing test fails the build
action and the execution, and the deploy stage never runs; a manual approval waits for its result."""

import json
import re
import uuid

import boto3
import pytest
from support import wait_for
from support.delivery import role, versioned_bucket, zipped

APP = {
    "app.py": "VERSION = 'v2'\n\n\ndef handler(event, context):\n"
    "    return {'statusCode': 200, 'body': f'catalog {VERSION}'}\n",
    "test_app.py": "from app import handler\n\n\ndef test_v2():\n"
    "    assert handler({}, None)['body'] == 'catalog v2'\n",
    "buildspec.yml": """
version: 0.2
phases:
  build:
    commands:
      - python -m pytest -q -p no:cacheprovider
  post_build:
    commands:
      - python make_template.py > template.yaml
artifacts:
  files:
    - template.yaml
""",
    # The build writes the template with the tested code in it, as a package step would.
    "make_template.py": """
import json
code = open("app.py").read()
print(json.dumps({
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {"Catalog": {"Type": "AWS::Serverless::Function", "Properties": {
        "Runtime": "python3.12", "Handler": "index.handler", "InlineCode": code}}},
    "Outputs": {"FunctionName": {"Value": {"Ref": "Catalog"}}},
}))
""",
}


@pytest.fixture(scope="module")
def delivery(cloud):
    """A source bucket, an artifact bucket, a CodeBuild project and the pipeline's role."""
    codebuild = boto3.client("codebuild")
    project = f"catalog-{uuid.uuid4().hex[:6]}"
    codebuild.create_project(
        name=project,
        source={"type": "CODEPIPELINE"},
        artifacts={"type": "CODEPIPELINE"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=role("codebuild.amazonaws.com", ["s3:*", "logs:*"]),
    )
    return {
        "source": versioned_bucket("source"),
        "artifacts": versioned_bucket("artifacts"),
        "project": project,
        "role": role("codepipeline.amazonaws.com", ["s3:*", "codebuild:*", "cloudformation:*", "iam:PassRole"]),
    }


def pipeline_of(delivery, name: str, stack: str) -> dict:
    return {
        "name": name,
        "pipelineType": "V2",
        "roleArn": delivery["role"],
        "artifactStore": {"type": "S3", "location": delivery["artifacts"]},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                        "configuration": {"S3Bucket": delivery["source"], "S3ObjectKey": f"{name}.zip"},
                        "outputArtifacts": [{"name": "SourceOutput"}],
                    }
                ],
            },
            {
                "name": "Build",
                "actions": [
                    {
                        "name": "Test",
                        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                        "configuration": {"ProjectName": delivery["project"]},
                        "inputArtifacts": [{"name": "SourceOutput"}],
                        "outputArtifacts": [{"name": "BuildOutput"}],
                    }
                ],
            },
            {
                "name": "Deploy",
                "actions": [
                    {
                        "name": "Stack",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "CloudFormation",
                            "version": "1",
                        },
                        "configuration": {
                            "ActionMode": "CREATE_UPDATE",
                            "StackName": stack,
                            "TemplatePath": "BuildOutput::template.yaml",
                            "Capabilities": "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND",
                        },
                        "inputArtifacts": [{"name": "BuildOutput"}],
                        "namespace": "DeployVariables",
                    }
                ],
            },
        ],
    }


def finished_execution(pipeline: str, execution_id: str, timeout: float = 90) -> dict:
    codepipeline = boto3.client("codepipeline")

    def done():
        found = codepipeline.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id)
        execution = found["pipelineExecution"]
        return execution if execution["status"] not in ("InProgress", "Stopping") else None

    return wait_for(done, timeout, f"execution {execution_id} of {pipeline} to end")


def first_execution(pipeline: str) -> str:
    summaries = boto3.client("codepipeline").list_pipeline_executions(pipelineName=pipeline)
    return summaries["pipelineExecutionSummaries"][-1]["pipelineExecutionId"]


def test_a_pipeline_tests_builds_and_deploys_a_function_that_answers(delivery):
    codepipeline, s3 = boto3.client("codepipeline"), boto3.client("s3")
    name, stack = f"catalog-{uuid.uuid4().hex[:6]}", f"catalog-{uuid.uuid4().hex[:6]}"
    version = s3.put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped(APP))["VersionId"]

    codepipeline.create_pipeline(pipeline=pipeline_of(delivery, name, stack))
    execution_id = first_execution(name)
    execution = finished_execution(name, execution_id)

    assert execution["status"] == "Succeeded"
    assert execution["trigger"]["triggerType"] == "CreatePipeline"
    assert execution["artifactRevisions"][0]["revisionId"] == version
    state = codepipeline.get_pipeline_state(name=name)
    assert [(s["stageName"], s["latestExecution"]["status"]) for s in state["stageStates"]] == [
        ("Source", "Succeeded"),
        ("Build", "Succeeded"),
        ("Deploy", "Succeeded"),
    ]
    details = codepipeline.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": execution_id})[
        "actionExecutionDetails"
    ]
    assert [(d["stageName"], d["actionName"], d["status"]) for d in details] == [
        ("Deploy", "Stack", "Succeeded"),
        ("Build", "Test", "Succeeded"),
        ("Source", "Source", "Succeeded"),
    ]
    source_output = details[2]["output"]["outputArtifacts"][0]
    assert source_output["s3location"]["bucket"] == delivery["artifacts"]
    assert re.fullmatch(rf"{name[:20]}/SourceOutput/[A-Za-z0-9]{{7}}", source_output["s3location"]["key"])
    assert details[1]["output"]["executionResult"]["externalExecutionId"].startswith(f"{delivery['project']}:")
    function = details[0]["output"]["outputVariables"]["FunctionName"]
    answer = boto3.client("lambda").invoke(FunctionName=function)
    assert json.loads(answer["Payload"].read()) == {"statusCode": 200, "body": "catalog v2"}

    again = codepipeline.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert finished_execution(name, again)["status"] == "Succeeded"  # the stack updated: no changes is fine
    summaries = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    assert [(s["pipelineExecutionId"], s["trigger"]["triggerType"]) for s in summaries] == [
        (again, "StartPipelineExecution"),
        (execution_id, "CreatePipeline"),
    ]


def test_a_failing_test_fails_the_build_and_the_execution_and_nothing_is_deployed(delivery):
    codepipeline = boto3.client("codepipeline")
    name, stack = f"catalog-{uuid.uuid4().hex[:6]}", f"catalog-{uuid.uuid4().hex[:6]}"
    broken = {**APP, "app.py": APP["app.py"].replace("'v2'", "'v3'")}
    boto3.client("s3").put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped(broken))

    codepipeline.create_pipeline(pipeline=pipeline_of(delivery, name, stack))
    execution = finished_execution(name, first_execution(name))

    assert execution["status"] == "Failed"
    state = {s["stageName"]: s for s in codepipeline.get_pipeline_state(name=name)["stageStates"]}
    test_action = state["Build"]["actionStates"][0]["latestExecution"]
    assert test_action["status"] == "Failed"
    assert test_action["errorDetails"] == {
        "code": "JobFailed",
        "message": "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, "
        "Message: Error while executing command: python -m pytest -q -p no:cacheprovider. Reason: exit status 1",
    }
    assert state["Build"]["latestExecution"]["status"] == "Failed"
    assert "latestExecution" not in state["Deploy"]
    assert state["Deploy"]["actionStates"] == [{"actionName": "Stack"}]
    build = boto3.client("codebuild").batch_get_builds(ids=[test_action["externalExecutionId"]])["builds"][0]
    assert next(p for p in build["phases"] if p["phaseType"] == "BUILD")["phaseStatus"] == "FAILED"
    stacks = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    assert stack not in [s["StackName"] for s in stacks]


def test_a_change_set_is_made_then_executed_by_two_deploy_actions_in_run_order(delivery):
    codepipeline = boto3.client("codepipeline")
    name, stack = f"catalog-{uuid.uuid4().hex[:6]}", f"catalog-{uuid.uuid4().hex[:6]}"
    boto3.client("s3").put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped(APP))
    pipeline = pipeline_of(delivery, name, stack)
    deploy = pipeline["stages"][2]["actions"][0]
    replace = {**deploy, "name": "Plan", "runOrder": 1}
    replace["configuration"] = {**deploy["configuration"], "ActionMode": "CHANGE_SET_REPLACE", "ChangeSetName": "next"}
    execute = {**deploy, "name": "Apply", "runOrder": 2, "inputArtifacts": []}
    execute["configuration"] = {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": stack, "ChangeSetName": "next"}
    pipeline["stages"][2]["actions"] = [execute, replace]  # listed out of order: runOrder decides

    codepipeline.create_pipeline(pipeline=pipeline)
    execution_id = first_execution(name)

    assert finished_execution(name, execution_id)["status"] == "Succeeded"
    details = codepipeline.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": execution_id})
    assert [d["actionName"] for d in details["actionExecutionDetails"]][:2] == ["Apply", "Plan"]
    cloudformation = boto3.client("cloudformation")
    assert cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_a_pipeline_role_that_may_not_start_builds_fails_the_build_action_with_iam_s_message(delivery):
    codepipeline = boto3.client("codepipeline")
    name = f"catalog-{uuid.uuid4().hex[:6]}"
    boto3.client("s3").put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped(APP))
    pipeline = pipeline_of(delivery, name, "never")
    pipeline["roleArn"] = role("codepipeline.amazonaws.com", ["s3:*"])

    codepipeline.create_pipeline(pipeline=pipeline)

    assert finished_execution(name, first_execution(name))["status"] == "Failed"
    build = codepipeline.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]["latestExecution"]
    role_name = pipeline["roleArn"].rsplit("/", 1)[1]
    assert re.fullmatch(
        rf"Error calling startBuild: User: arn:aws:sts::123456789012:assumed-role/{role_name}/{name}-[0-9a-f-]{{8}} "
        rf"is not authorized to perform: codebuild:StartBuild on resource: "
        rf"arn:aws:codebuild:us-east-1:123456789012:project/{delivery['project']} because no identity-based "
        rf"policy allows the codebuild:StartBuild action",
        build["errorDetails"]["message"],
    ), build["errorDetails"]["message"]


def test_a_new_version_of_the_source_object_starts_an_execution(delivery):
    codepipeline, s3 = boto3.client("codepipeline"), boto3.client("s3")
    name = f"release-{uuid.uuid4().hex[:6]}"
    first_version = s3.put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped(APP))["VersionId"]
    codepipeline.create_pipeline(pipeline=approval_pipeline(delivery, name))
    first = first_execution(name)

    def source_revision():
        source = codepipeline.get_pipeline_state(name=name)["stageStates"][0]["actionStates"][0]
        return source.get("currentRevision", {}).get("revisionId")

    # The first execution reads the object first: a version put before that is the one it deploys.
    wait_for(lambda: source_revision() == first_version, 10, "the first execution to read the source")

    version = s3.put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped({**APP, "v": "2"}))["VersionId"]

    def started_by_the_change():
        summaries = codepipeline.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
        return [s for s in summaries if s["pipelineExecutionId"] != first]

    [summary] = wait_for(started_by_the_change, 10, "an execution started by the new version")
    assert summary["trigger"] == {"triggerType": "PollForSourceChanges", "triggerDetail": "Source"}
    # It waits for the first one (waiting for its approval) to end: reject that, then it reads the new version.
    token = wait_for(lambda: waiting_token(codepipeline, name), 10, "the first execution to wait for approval")
    codepipeline.put_approval_result(
        pipelineName=name,
        stageName="Approve",
        actionName="Release",
        result={"summary": "no", "status": "Rejected"},
        token=token,
    )
    assert wait_for(lambda: source_revision() == version, 10, "the new version to be read")


def waiting_token(codepipeline, name: str) -> str | None:
    stage = codepipeline.get_pipeline_state(name=name)["stageStates"][1]
    return stage["actionStates"][0].get("latestExecution", {}).get("token")


@pytest.mark.parametrize(
    "principal, created",
    [
        ({"Service": ["codebuild.amazonaws.com", "codepipeline.amazonaws.com"]}, True),  # a list: valid on AWS
        ({"Service": "codebuild.amazonaws.com"}, False),
    ],
)
def test_a_pipeline_role_must_trust_codepipeline_whether_its_services_are_listed_or_not(delivery, principal, created):
    iam, codepipeline = boto3.client("iam"), boto3.client("codepipeline")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName=f"pipeline-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    name = f"release-{uuid.uuid4().hex[:6]}"
    pipeline = {**approval_pipeline(delivery, name), "roleArn": arn}

    if created:
        assert codepipeline.create_pipeline(pipeline=pipeline)["pipeline"]["name"] == name
        return
    with pytest.raises(codepipeline.exceptions.InvalidStructureException) as refused:
        codepipeline.create_pipeline(pipeline=pipeline)
    assert (
        refused.value.response["Error"]["Message"]
        == f"CodePipeline is not authorized to perform AssumeRole on role {arn}"
    )


def approval_pipeline(delivery, name: str) -> dict:
    pipeline = pipeline_of(delivery, name, "unused")
    pipeline["stages"][1:] = [
        {
            "name": "Approve",
            "actions": [
                {
                    "name": "Release",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                }
            ],
        }
    ]
    return pipeline


@pytest.mark.parametrize("decision, outcome", [("Approved", "Succeeded"), ("Rejected", "Failed")])
def test_a_manual_approval_waits_for_its_result(delivery, decision, outcome):
    codepipeline = boto3.client("codepipeline")
    name = f"release-{uuid.uuid4().hex[:6]}"
    boto3.client("s3").put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped(APP))
    codepipeline.create_pipeline(pipeline=approval_pipeline(delivery, name))

    token = wait_for(lambda: waiting_token(codepipeline, name), 30, "the approval to wait")
    codepipeline.put_approval_result(
        pipelineName=name,
        stageName="Approve",
        actionName="Release",
        result={"summary": "looks good" if decision == "Approved" else "not today", "status": decision},
        token=token,
    )

    assert finished_execution(name, first_execution(name))["status"] == outcome


def test_a_template_configuration_s_tags_and_stack_policy_go_to_the_stack_the_deploy_action_makes(delivery):
    codepipeline, cloudformation = boto3.client("codepipeline"), boto3.client("cloudformation")
    name, stack = f"catalog-{uuid.uuid4().hex[:6]}", f"catalog-{uuid.uuid4().hex[:6]}"
    policy = {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}
    configuration = {"Tags": {"course": "microservices", "lab": "09"}, "StackPolicy": policy}
    source = {
        **APP,
        "config.json": json.dumps(configuration),
        "buildspec.yml": APP["buildspec.yml"].replace("- template.yaml", "- template.yaml\n    - config.json"),
    }
    boto3.client("s3").put_object(Bucket=delivery["source"], Key=f"{name}.zip", Body=zipped(source))
    pipeline = pipeline_of(delivery, name, stack)
    pipeline["stages"][2]["actions"][0]["configuration"]["TemplateConfiguration"] = "BuildOutput::config.json"

    codepipeline.create_pipeline(pipeline=pipeline)

    assert finished_execution(name, first_execution(name))["status"] == "Succeeded"
    tags = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("course", "microservices"), ("lab", "09")]
    assert json.loads(cloudformation.get_stack_policy(StackName=stack)["StackPolicyBody"]) == policy

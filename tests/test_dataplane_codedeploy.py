"""CodeDeploy canaries of a Lambda function on the local cloud, as a learner drives them with boto3: the
alias's traffic shifts by the deployment configuration, hooks are invoked and waited for, an alarm
stops the deployment and a rollback deployment puts the alias back on the old version."""

import io
import json
import textwrap
import threading
import uuid
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from support import first_error_alarm, wait_for
from support.iam import grant

ACCOUNT = "123456789012"


def zipped(source: str) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", textwrap.dedent(source))
    return archive.getvalue()


def role(service: str, actions: list[str]) -> str:
    trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    name = f"role-{uuid.uuid4().hex[:8]}"
    arn = boto3.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]["Arn"]
    grant(name, actions)
    return arn


VERSION_1 = """
    def handler(event, context):
        return {"version": 1}
"""
BROKEN_VERSION_2 = """
    def handler(event, context):
        raise RuntimeError("version 2 is broken")
"""
GOOD_VERSION_2 = """
    def handler(event, context):
        return {"version": 2}
"""
HOOK = """
    import boto3

    def handler(event, context):
        boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
            deploymentId=event["DeploymentId"],
            lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status="{status}",
        )
"""


class LambdaCanary:
    """A function with versions 1 and 2, its alias live on 1, and a CodeDeploy application and group."""

    def __init__(self, cloud, version_2: str, alarms: list[str] | None = None):
        self.lambda_, self.codedeploy = boto3.client("lambda"), boto3.client("codedeploy")
        self.name = f"fn-{uuid.uuid4().hex[:8]}"
        execution = role("lambda.amazonaws.com", ["logs:*"])
        self.lambda_.create_function(
            FunctionName=self.name,
            Runtime="python3.12",
            Role=execution,
            Handler="app.handler",
            Code={"ZipFile": zipped(VERSION_1)},
        )
        self.lambda_.publish_version(FunctionName=self.name)
        self.lambda_.update_function_code(FunctionName=self.name, ZipFile=zipped(version_2))
        self.lambda_.publish_version(FunctionName=self.name)
        self.lambda_.create_alias(FunctionName=self.name, Name="live", FunctionVersion="1")
        self.application = f"app-{self.name}"
        self.codedeploy.create_application(applicationName=self.application, computePlatform="Lambda")
        service_role = role(
            "codedeploy.amazonaws.com", ["lambda:InvokeFunction", "lambda:UpdateAlias", "lambda:GetAlias"]
        )
        group = {
            "applicationName": self.application,
            "deploymentGroupName": "live",
            "serviceRoleArn": service_role,
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "autoRollbackConfiguration": {
                "enabled": True,
                "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
            },
        }
        if alarms:
            group["alarmConfiguration"] = {"enabled": True, "alarms": [{"name": n} for n in alarms]}
        self.codedeploy.create_deployment_group(**group)

    def hook(self, status: str) -> str:
        name = f"CodeDeployHook_{uuid.uuid4().hex[:8]}"
        self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role("lambda.amazonaws.com", ["codedeploy:PutLifecycleEventHookExecutionStatus"]),
            Handler="app.handler",
            Code={"ZipFile": zipped(HOOK.replace("{status}", status))},
            Timeout=10,
        )
        return name

    def deploy(self, config: str, hooks: dict | None = None) -> str:
        appspec = {
            "version": 0.0,
            "Resources": [
                {
                    self.name: {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {"Name": self.name, "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"},
                    }
                }
            ],
            "Hooks": [{event: function} for event, function in (hooks or {}).items()],
        }
        return self.codedeploy.create_deployment(
            applicationName=self.application,
            deploymentGroupName="live",
            deploymentConfigName=config,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
        )["deploymentId"]

    def alias(self) -> tuple[str, dict]:
        found = self.lambda_.get_alias(FunctionName=self.name, Name="live")
        return found["FunctionVersion"], (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}

    def finished(self, deployment_id: str, timeout: float = 30) -> dict:
        def done():
            info = self.codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
            return info if info["status"] in ("Succeeded", "Failed", "Stopped") else None

        return wait_for(done, timeout, f"deployment {deployment_id} to finish")


def canary_config(percent: int, minutes: int) -> str:
    name = f"Canary{percent}Percent{minutes}Minutes-{uuid.uuid4().hex[:6]}"
    boto3.client("codedeploy").create_deployment_config(
        deploymentConfigName=name,
        computePlatform="Lambda",
        trafficRoutingConfig={
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": percent, "canaryInterval": minutes},
        },
    )
    return name


def test_a_lambda_canary_shifts_the_alias_by_its_schedule_and_completes(cloud):
    canary = LambdaCanary(cloud, GOOD_VERSION_2)
    deployment = canary.deploy(
        canary_config(20, 3),
        hooks={"BeforeAllowTraffic": canary.hook("Succeeded"), "AfterAllowTraffic": canary.hook("Succeeded")},
    )
    assert deployment.startswith("d-") and len(deployment) == 11

    wait_for(lambda: canary.alias() == ("1", {"2": 0.2}), 20, "20 percent of the alias on version 2")
    info = canary.finished(deployment)
    assert info["status"] == "Succeeded"
    assert canary.alias() == ("2", {})
    assert "errorInformation" not in info or not info["errorInformation"]


def test_a_predefined_linear_config_moves_ten_percent_every_minute(cloud):
    config = boto3.client("codedeploy").get_deployment_config(
        deploymentConfigName="CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
    )["deploymentConfigInfo"]
    assert config["computePlatform"] == "Lambda"
    assert config["trafficRoutingConfig"] == {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1},
    }


def test_an_alarm_on_the_alias_errors_stops_the_canary_and_rolls_the_alias_back(cloud):
    alarm = f"canary-errors-{uuid.uuid4().hex[:6]}"
    canary = LambdaCanary(cloud, BROKEN_VERSION_2, alarms=[alarm])
    first_error_alarm(alarm, "AWS/Lambda", "Errors", {"FunctionName": canary.name, "Resource": f"{canary.name}:live"})
    stop = threading.Event()
    answers = []

    def invoke_the_alias():
        client = boto3.client("lambda")
        while not stop.is_set():
            answer = client.invoke(FunctionName=canary.name, Qualifier="live", Payload=b"{}")
            answers.append(answer.get("FunctionError") is None)

    caller = threading.Thread(target=invoke_the_alias, daemon=True)
    caller.start()
    try:
        deployment = canary.deploy("CodeDeployDefault.LambdaCanary10Percent5Minutes")
        info = canary.finished(deployment)
    finally:
        stop.set()
        caller.join()

    assert info["status"] == "Stopped"
    assert info["errorInformation"] == {
        "code": "ALARM_ACTIVE",
        "message": "One or more alarms have been activated according to the Amazon CloudWatch metrics you "
        f"selected, and the affected deployments have been stopped. Activated alarms: <{alarm}>",
    }
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert info["rollbackInfo"]["rollbackMessage"] == (
        f"Deployment {deployment} terminated. Automatic rollback is triggered with a DeploymentId {rollback_id}."
    )
    rollback = canary.codedeploy.get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert rollback["status"] == "Succeeded"
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment
    assert canary.alias() == ("1", {})
    assert 0 < answers.count(False) < len(answers) * 0.5


def test_a_before_allow_traffic_hook_that_reports_failed_stops_the_deployment_before_any_traffic_moves(cloud):
    canary = LambdaCanary(cloud, GOOD_VERSION_2)
    hook = canary.hook("Failed")
    deployment = canary.deploy("CodeDeployDefault.LambdaAllAtOnce", hooks={"BeforeAllowTraffic": hook})
    info = canary.finished(deployment)
    assert info["status"] == "Failed"
    assert info["errorInformation"] == {
        "code": "HOOK_EXECUTION_FAILURE",
        "message": f"The deployment failed because the BeforeAllowTraffic lifecycle event hook {hook} reported Failed.",
    }
    assert canary.alias() == ("1", {})


def test_a_hook_status_for_an_unknown_execution_is_refused_as_codedeploy_refuses_it(cloud):
    canary = LambdaCanary(cloud, GOOD_VERSION_2)
    deployment = canary.deploy("CodeDeployDefault.LambdaAllAtOnce")
    with pytest.raises(canary.codedeploy.exceptions.InvalidLifecycleEventHookExecutionIdException) as refused:
        canary.codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment, lifecycleEventHookExecutionId="not-an-execution", status="Succeeded"
        )
    assert refused.value.response["Error"]["Message"] == (
        "The lifecycle event hook execution ID not-an-execution is not valid."
    )
    assert canary.finished(deployment)["status"] == "Succeeded"


def test_update_deployment_group_renames_it_and_replaces_its_role_config_alarms_and_rollback(cloud):
    canary = LambdaCanary(cloud, GOOD_VERSION_2)
    codedeploy = canary.codedeploy
    new_role = role("codedeploy.amazonaws.com", ["lambda:*"])

    answer = codedeploy.update_deployment_group(
        applicationName=canary.application,
        currentDeploymentGroupName="live",
        newDeploymentGroupName="canary",
        serviceRoleArn=new_role,
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        alarmConfiguration={"enabled": True, "alarms": [{"name": "catalog-errors"}]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_STOP_ON_ALARM"]},
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    )

    assert answer["hooksNotCleanedUp"] == []
    group = codedeploy.get_deployment_group(applicationName=canary.application, deploymentGroupName="canary")
    info = group["deploymentGroupInfo"]
    assert info["serviceRoleArn"] == new_role
    assert info["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert info["alarmConfiguration"] == {"enabled": True, "alarms": [{"name": "catalog-errors"}]}
    assert info["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_STOP_ON_ALARM"]}
    with pytest.raises(ClientError) as gone:
        codedeploy.get_deployment_group(applicationName=canary.application, deploymentGroupName="live")
    assert gone.value.response["Error"]["Message"] == (
        "The deployment group live does not exist with the user or AWS account."
    )


def test_update_deployment_group_refuses_an_unknown_group_and_an_unknown_config(cloud):
    canary = LambdaCanary(cloud, GOOD_VERSION_2)
    codedeploy = canary.codedeploy

    with pytest.raises(ClientError) as unknown_group:
        codedeploy.update_deployment_group(applicationName=canary.application, currentDeploymentGroupName="nope")
    with pytest.raises(ClientError) as unknown_config:
        codedeploy.update_deployment_group(
            applicationName=canary.application, currentDeploymentGroupName="live", deploymentConfigName="NoSuchConfig"
        )

    assert unknown_group.value.response["Error"]["Code"] == "DeploymentGroupDoesNotExistException"
    assert unknown_group.value.response["Error"]["Message"] == (
        "The deployment group nope does not exist with the user or AWS account."
    )
    assert unknown_config.value.response["Error"]["Code"] == "DeploymentConfigDoesNotExistException"
    assert unknown_config.value.response["Error"]["Message"] == "The deployment config NoSuchConfig does not exist."


def test_a_deployment_to_an_alias_still_weighted_between_two_versions_fails_until_the_weights_are_removed(cloud):
    canary = LambdaCanary(cloud, GOOD_VERSION_2)
    canary.lambda_.update_alias(
        FunctionName=canary.name, Name="live", RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}}
    )

    info = canary.finished(canary.deploy("CodeDeployDefault.LambdaAllAtOnce"))

    assert info["status"] == "Failed"
    assert info["errorInformation"] == {
        "code": "INVALID_LAMBDA_CONFIGURATION",
        "message": "The deployment failed because the AppSpec file that specifies the AWS Lambda deployment "
        "configuration is missing or has an invalid configuration. The Lambda function alias live shifts traffic "
        "to additional versions (version 2 0.3): remove its weighted routing before deploying.",
    }
    assert canary.alias() == ("1", {"2": 0.3})
    canary.lambda_.update_alias(FunctionName=canary.name, Name="live", RoutingConfig={"AdditionalVersionWeights": {}})
    assert canary.finished(canary.deploy("CodeDeployDefault.LambdaAllAtOnce"))["status"] == "Succeeded"
    assert canary.alias() == ("2", {})


def test_a_deployment_whose_appspec_names_another_current_version_than_the_alias_has_fails_as_on_aws(cloud):
    canary = LambdaCanary(cloud, GOOD_VERSION_2)
    assert canary.finished(canary.deploy("CodeDeployDefault.LambdaAllAtOnce"))["status"] == "Succeeded"

    info = canary.finished(canary.deploy("CodeDeployDefault.LambdaAllAtOnce"))  # CurrentVersion 1 again

    assert info["status"] == "Failed"
    assert info["errorInformation"] == {
        "code": "INVALID_LAMBDA_CONFIGURATION",
        "message": "The deployment failed because the AppSpec file that specifies the AWS Lambda deployment "
        "configuration is missing or has an invalid configuration. The Lambda function alias version does not match "
        "the current version in AppSpec file.",
    }
    assert canary.alias() == ("2", {})

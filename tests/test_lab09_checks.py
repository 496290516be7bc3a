"""Lab 09's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook runs once for the module (its cells but the cleanup), which deploys the catalog's stack
and pipeline, the catalog's CodeDeploy group and alarm, and the orders service with its canary; each test then
makes one mistake with boto3 (a canary without an alarm, an alarm on a version rather than the alias, a
buildspec whose tests cannot fail the build...), runs the check, and puts the right answer back."""

import contextlib
import io
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from solution_files import code_cell
from solution_runs import solution_kernel
from support.checks import checks_of

from labkit import config, labs

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "09_delivery.ipynb"
result, assert_fails_saying_exactly = checks_of("09")
deployed = solution_kernel(SOLUTION, "09")
CREATE_ORDERS = code_cell(SOLUTION, 'ecs.create_service(cluster=cluster, serviceName="orders"')
DEPLOYMENT_GROUP_SETTINGS = (
    "serviceRoleArn",
    "deploymentStyle",
    "deploymentConfigName",
    "alarmConfiguration",
    "autoRollbackConfiguration",
)
ALARM_KEYS = ("AlarmName", "Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods", "Threshold")
ALARM_KEYS += ("ComparisonOperator", "TreatMissingData", "Dimensions")


def catalog_function() -> str:
    found = boto3.client("cloudformation").describe_stack_resource(StackName="catalog", LogicalResourceId="Catalog")
    return found["StackResourceDetail"]["PhysicalResourceId"]


def orders_deployment_configuration() -> dict:
    return boto3.client("ecs").describe_services(cluster="shop", services=["orders"])["services"][0][
        "deploymentConfiguration"
    ]


def with_orders_deployment_configuration(wrong: dict, check_id: str, says: str) -> None:
    ecs, right = boto3.client("ecs"), orders_deployment_configuration()
    ecs.update_service(cluster="shop", service="orders", deploymentConfiguration=wrong(right))
    try:
        assert_fails_saying_exactly(check_id, says)
    finally:
        ecs.update_service(cluster="shop", service="orders", deploymentConfiguration=right)
    assert result(check_id).passed


def test_the_solution_passes_every_check(deployed):
    failing = [(r.id, r.message) for r in labs.require("09").run() if not r.passed]
    assert failing == []


def test_an_ecs_canary_without_an_alarm_fails_saying_it_goes_to_100_percent_whatever_it_does(deployed):
    with_orders_deployment_configuration(
        lambda right: {**right, "alarms": {**right["alarms"], "enable": False}},
        "ecs-canary",
        "expected the deployment's alarms enabled, found them disabled (enable False): a canary without an alarm "
        'goes to 100 % whatever its requests answer. Set "alarms": {"alarmNames": alarm_names, "enable": True, '
        '"rollback": True}',
    )


def test_alarms_that_do_not_roll_back_fail_saying_the_canary_keeps_its_traffic(deployed):
    with_orders_deployment_configuration(
        lambda right: {**right, "alarms": {**right["alarms"], "rollback": False}},
        "ecs-canary",
        "expected the deployment's alarms to roll it back (rollback True), found rollback False: an alarm in ALARM "
        "would then only mark the deployment failed, with the canary's traffic left where it is",
    )


def test_an_alarm_on_one_target_group_only_fails_naming_the_group_left_unwatched(deployed):
    with_orders_deployment_configuration(
        lambda right: {
            **right,
            "alarms": {**right["alarms"], "alarmNames": [n for n in right["alarms"]["alarmNames"] if "blue" in n]},
        },
        "ecs-canary",
        "expected an HTTPCode_Target_5XX_Count alarm on each of the service's target groups, found none on "
        "orders-green: the new revision starts in whichever group is not serving, so both need one",
    )


def test_an_ecs_canary_without_a_circuit_breaker_fails_saying_unhealthy_tasks_would_be_retried(deployed):
    with_orders_deployment_configuration(
        lambda right: {**right, "deploymentCircuitBreaker": {"enable": False, "rollback": False}},
        "ecs-canary",
        "expected the deployment circuit breaker enabled with rollback, found enable False, rollback False: tasks "
        "that never become healthy would be retried forever",
    )


def test_an_alarm_on_the_old_version_rather_than_the_alias_fails_saying_it_never_sees_the_canary(deployed):
    cloudwatch, function = boto3.client("cloudwatch"), catalog_function()
    alarm = cloudwatch.describe_alarms(AlarmNames=["catalog-live-errors"])["MetricAlarms"][0]
    right = {key: alarm[key] for key in ALARM_KEYS}
    on_version = [{"Name": "FunctionName", "Value": function}, {"Name": "Resource", "Value": f"{function}:1"}]
    cloudwatch.put_metric_alarm(**{**right, "Dimensions": on_version})
    try:
        assert_fails_saying_exactly(
            "lambda-canary",
            f"expected the alarm catalog-live-errors to watch AWS/Lambda Errors of the alias live (Resource "
            f"{function}:live), found AWS/Lambda Errors with Resource {function}:1: the canary's calls go through "
            "the alias, so an alarm on a version or another alias never sees its errors",
        )
    finally:
        cloudwatch.put_metric_alarm(**right)
    assert result("lambda-canary").passed


@contextlib.contextmanager
def deployment_group_without(setting: str):
    """The deployment group live made again as a learner would have made it without this setting, and put back
    as it was afterwards."""
    codedeploy = boto3.client("codedeploy")
    group = codedeploy.get_deployment_group(applicationName="catalog", deploymentGroupName="live")[
        "deploymentGroupInfo"
    ]
    arn = f"arn:aws:codedeploy:us-east-1:{config.LOCAL_ACCOUNT_ID}:deploymentgroup:catalog/live"
    tags = codedeploy.list_tags_for_resource(ResourceArn=arn)["Tags"]  # how teardown finds it

    def made_again(settings: tuple[str, ...]) -> None:
        codedeploy.delete_deployment_group(applicationName="catalog", deploymentGroupName="live")
        codedeploy.create_deployment_group(
            applicationName="catalog", deploymentGroupName="live", tags=tags, **{key: group[key] for key in settings}
        )

    made_again(tuple(key for key in DEPLOYMENT_GROUP_SETTINGS if key != setting))
    try:
        yield
    finally:
        made_again(DEPLOYMENT_GROUP_SETTINGS)


def test_a_codedeploy_canary_without_an_alarm_fails_saying_it_goes_to_100_percent_whatever_it_does(deployed):
    with deployment_group_without("alarmConfiguration"):
        assert_fails_saying_exactly(
            "lambda-canary",
            "expected the deployment group to stop on an alarm, found no alarm: a canary without an alarm goes to "
            '100 % whatever it does. Set alarmConfiguration {"enabled": True, "alarms": [{"name": catalog_alarm}]}',
        )
    assert result("lambda-canary").passed


def committed(bucket: str) -> dict[str, bytes]:
    archive = boto3.client("s3").get_object(Bucket=bucket, Key="catalog.zip")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        return {name: files.read(name) for name in files.namelist()}


def commit(bucket: str, files: dict[str, bytes]) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    boto3.client("s3").put_object(Bucket=bucket, Key="catalog.zip", Body=archive.getvalue())


def test_a_buildspec_whose_tests_cannot_fail_the_build_fails_saying_or_true_turns_failure_into_success(deployed):
    bucket = next(
        b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"] if b["Name"].startswith("catalog-source")
    )
    right = committed(bucket)
    test_command = b"python -m pytest -q -p no:cacheprovider"
    assert test_command in right["buildspec.yml"]
    commit(bucket, {**right, "buildspec.yml": right["buildspec.yml"].replace(test_command, test_command + b" || true")})
    try:
        assert_fails_saying_exactly(
            "tests-gate",
            "expected a failing test to fail the build, found the command 'python -m pytest -q -p no:cacheprovider "
            "|| true': '|| true' turns the tests' failure into success, so the build goes on and the pipeline "
            "deploys code whose tests fail. Make pytest a command of its own",
        )
    finally:
        commit(bucket, right)
    assert result("tests-gate").passed


def test_a_deploy_action_that_takes_the_source_rather_than_the_build_fails_naming_the_artifact_to_take(deployed):
    codepipeline = boto3.client("codepipeline")
    right = codepipeline.get_pipeline(name="catalog")["pipeline"]
    wrong = {
        **right,
        "stages": [
            {**stage, "actions": [{**stage["actions"][0], "inputArtifacts": [{"name": "SourceOutput"}]}]}
            if stage["name"] == "Deploy"
            else stage
            for stage in right["stages"]
        ],
    }
    codepipeline.update_pipeline(pipeline=wrong)
    try:
        assert_fails_saying_exactly(
            "pipeline",
            "expected the Deploy action to take the Build action's output (BuildOutput) and read its TemplatePath "
            "from it, found the input artifacts SourceOutput and the TemplatePath BuildOutput::packaged.yaml: only "
            "the build's output holds packaged.yaml, the template whose code the build packaged",
        )
    finally:
        codepipeline.update_pipeline(pipeline=right)
    assert result("pipeline").passed


def test_a_codedeploy_group_without_automatic_rollback_fails_saying_the_canary_keeps_its_weight(deployed):
    with deployment_group_without("autoRollbackConfiguration"):
        assert_fails_saying_exactly(
            "lambda-canary",
            "expected automatic rollback on DEPLOYMENT_STOP_ON_ALARM, found no autoRollbackConfiguration: without "
            "it a stopped deployment leaves the canary's weight on the alias. Set autoRollbackConfiguration "
            '{"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}',
        )
    assert result("lambda-canary").passed


def without_advanced_configuration(lb: dict) -> dict:
    return {key: value for key, value in lb.items() if key != "advancedConfiguration"}


def without_its_role(lb: dict) -> dict:
    return {**lb, "advancedConfiguration": {k: v for k, v in lb["advancedConfiguration"].items() if k != "roleArn"}}


@pytest.mark.parametrize(
    "change, says",
    [
        (
            without_advanced_configuration,
            "The CANARY deployment strategy requires advancedConfiguration (alternateTargetGroupArn, "
            "productionListenerRule and roleArn) for the load balancer with targetGroupArn {group}.",
        ),
        (
            without_its_role,
            "The CANARY deployment strategy requires roleArn in the advancedConfiguration of the load balancer with "
            "targetGroupArn {group}.",
        ),
    ],
    ids=["without advancedConfiguration", "without roleArn"],
)
def test_an_ecs_canary_whose_load_balancer_loses_what_ecs_moves_the_weights_with_is_refused(deployed, change, says):
    ecs = boto3.client("ecs")
    right = ecs.describe_services(cluster="shop", services=["orders"])["services"][0]["loadBalancers"]

    with pytest.raises(ClientError) as refused:
        ecs.update_service(cluster="shop", service="orders", loadBalancers=[change(lb) for lb in right])

    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterException",
        says.format(group=right[0]["targetGroupArn"]),
    )
    assert result("ecs-canary").passed


def test_creating_orders_without_the_role_ecs_moves_the_weights_with_says_what_ecs_refused_in_one_line(deployed):
    """The learner's cell, as a first run makes the service (here under another name), with roleArn left out:
    ECS's refusal is one line, not botocore's traceback."""
    wrong = CREATE_ORDERS.replace(',\n                                             "roleArn": infrastructure_role', "")
    wrong = wrong.replace('services=["orders"]', 'services=["orders-refused"]')
    wrong = wrong.replace('serviceName="orders"', 'serviceName="orders-refused"')
    assert wrong.count("orders-refused") == 2 and "roleArn" not in wrong
    indented = "".join(f"    {line}\n" for line in wrong.splitlines())

    said = deployed(f"try:\n{indented}except LabkitError as error:\n    print(f'labkit: {{error}}')\n")

    blue_group = deployed("print(blue_group)").strip()
    assert said == (
        "labkit: ECS refused the service orders: The CANARY deployment strategy requires roleArn in the "
        f"advancedConfiguration of the load balancer with targetGroupArn {blue_group}.\n"
    )
    assert boto3.client("ecs").describe_services(cluster="shop", services=["orders-refused"])["services"] == []


def test_an_ecs_canary_without_a_load_balancer_fails_saying_where_the_new_revision_would_start(deployed):
    ecs = boto3.client("ecs")
    right = ecs.describe_services(cluster="shop", services=["orders"])["services"][0]["loadBalancers"]
    ecs.update_service(cluster="shop", service="orders", loadBalancers=[])
    try:
        assert_fails_saying_exactly(
            "ecs-canary",
            "expected the service behind the load balancer, with an alternate target group and the production "
            "listener rule (advancedConfiguration), found no load balancer: a CANARY deployment starts the new "
            "revision in the alternate group and moves the rule's weights to it. Create the service with "
            "load_balancers as given",
        )
        assert_fails_saying_exactly(
            "ecs-rollback",
            "expected the service to name its production listener rule, found none: see the check ecs-canary",
        )
    finally:
        ecs.update_service(cluster="shop", service="orders", loadBalancers=right)
    assert result("ecs-canary").passed


def test_an_ecs_canary_of_half_the_traffic_fails_saying_the_canary_is_a_small_share(deployed):
    with_orders_deployment_configuration(
        lambda right: {**right, "canaryConfiguration": {**right["canaryConfiguration"], "canaryPercent": 50.0}},
        "ecs-canary",
        "expected a canaryPercent between 1 and 25, found 50.0: the canary is a small share",
    )


def test_an_alarm_on_the_whole_function_fails_saying_to_add_the_alias_as_resource(deployed):
    cloudwatch, function = boto3.client("cloudwatch"), catalog_function()
    alarm = cloudwatch.describe_alarms(AlarmNames=["catalog-live-errors"])["MetricAlarms"][0]
    right = {key: alarm[key] for key in ALARM_KEYS}
    cloudwatch.put_metric_alarm(**{**right, "Dimensions": [{"Name": "FunctionName", "Value": function}]})
    try:
        assert_fails_saying_exactly(
            "lambda-canary",
            f"expected the alarm catalog-live-errors to watch the alias live (Resource {function}:live), found it on "
            "the whole function (FunctionName only): that counts the errors of every version and alias, calls that "
            f"are not the canary's among them, so it can stop a deployment for them. Add the dimension Resource = "
            f"{function}:live",
        )
    finally:
        cloudwatch.put_metric_alarm(**right)
    assert result("lambda-canary").passed


def test_the_catalog_canary_run_again_after_v2_went_all_at_once_starts_from_the_stacks_version(deployed):
    lambda_, function = boto3.client("lambda"), catalog_function()
    stack_version = lambda_.get_alias(FunctionName=function, Name="live")["FunctionVersion"]
    broken_v2 = deployed("print(v2_version)").strip()
    assert broken_v2 != stack_version
    # What a first answer with CodeDeployDefault.LambdaAllAtOnce leaves: live on the broken v2, no canary.
    lambda_.update_alias(FunctionName=function, Name="live", FunctionVersion=broken_v2)
    printed = deployed(code_cell(SOLUTION, "catalog_deployment = deploy_catalog(v2_version)"))
    assert printed.splitlines()[-3:] == [
        "deployment: Stopped | ALARM_ACTIVE",
        "the alias live is back on the old version, with no routing: True",
        "some calls failed, and fewer than half: True",
    ]
    assert lambda_.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == stack_version
    assert result("lambda-canary").passed

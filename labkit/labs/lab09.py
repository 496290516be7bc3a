"""Lab 09 · delivery: the catalog as a SAM template deployed through a change set; a pipeline that tests,
packages and deploys it; the catalog shipped as a CodeDeploy canary and orders as an ECS canary, each rolled
back by an alarm.

The checks read CloudFormation, CodePipeline, S3 (the buildspec in the committed source), CodeDeploy,
CloudWatch, ECS and ELB with boto3, lint the stack's template with cfn-lint, and invoke the catalog's alias."""

import contextlib
import io
import re
import zipfile

import yaml
from botocore.exceptions import ClientError

from labkit.awsapi import pages
from labkit.checks import Lab

lab = Lab("09", "Delivery: CodePipeline, canary, rollback")

STACK = PIPELINE = APPLICATION = "catalog"
CLUSTER, SERVICE = "shop", "orders"
DEPLOYMENT_GROUP, ALIAS = "live", "live"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
STAGES = [("Source", "S3"), ("Build", "CodeBuild"), ("Deploy", "CloudFormation")]
CANARY_PERCENT = (1, 25)
# A command whose failure the shell turns into success: the build phase never sees the tests fail.
SWALLOWED = re.compile(r"\|\|\s*(true|:|exit\s+0)\b|;\s*(true|exit\s+0)\s*$")


# "Not there" in the words of the services this lab adds (CloudFormation says it with a ValidationError).
MISSING_CODES = {
    "PipelineNotFoundException",
    "ApplicationDoesNotExistException",
    "DeploymentGroupDoesNotExistException",
}


@contextlib.contextmanager
def _missing(ctx, what: str, fix: str):
    """Like ctx.not_done_if_missing, for CloudFormation's, CodePipeline's and CodeDeploy's "not found" errors."""
    with ctx.not_done_if_missing(what, fix):
        try:
            yield
        except ClientError as error:
            found = error.response.get("Error", {})
            gone = found.get("Code") in MISSING_CODES or (
                found.get("Code") == "ValidationError" and "does not exist" in found.get("Message", "")
            )
            if gone:
                ctx.missing(what, fix)
            raise


def _stack(ctx) -> dict:
    name = ctx.env.name(STACK)
    with _missing(ctx, f"CloudFormation stack {name!r}", "deploy it in step 1"):
        stacks = ctx.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    return stacks[0]


def _catalog_function(ctx) -> str:
    name = ctx.env.name(STACK)
    with _missing(ctx, f"function Catalog in the stack {name!r}", "deploy it in step 1"):
        found = ctx.client("cloudformation").describe_stack_resource(StackName=name, LogicalResourceId="Catalog")
    return found["StackResourceDetail"]["PhysicalResourceId"]


def _lint_findings(template: str, region: str) -> list[str]:
    from cfnlint import api

    matches = api.lint(template, config=api.ManualArgs(regions=[region]))
    return [f"{m.rule.id} {m.message}" for m in matches]


@lab.check(
    "stack",
    "The catalog is a stack made from your SAM template, lint-free, and its alias live answers",
    step=1,
    hints=[
        "The template starts with Transform: AWS::Serverless-2016-10-31 and has one resource Catalog of Type "
        "AWS::Serverless::Function; AutoPublishAlias: live makes the version and the alias.",
        "create_change_set(StackName=stack_name, ChangeSetName=..., TemplateBody=packaged, ChangeSetType="
        '"UPDATE" if existing else "CREATE", Capabilities=capabilities, Tags=env.tag_list()), then '
        "execute_change_set(ChangeSetName=change_set).",
    ],
)
def stack(ctx):
    found = _stack(ctx)
    status = found["StackStatus"]
    if status == "REVIEW_IN_PROGRESS":
        ctx.not_done(f"the stack {found['StackName']} has a change set not executed yet: execute_change_set it")
    ctx.expect(
        status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"),
        f"expected the stack {found['StackName']} CREATE_COMPLETE or UPDATE_COMPLETE, found {status}"
        + (f" ({found['StackStatusReason']})" if found.get("StackStatusReason") else "")
        + ": describe_stack_events says which resource failed and why",
    )
    original = ctx.client("cloudformation").get_template(StackName=found["StackName"], TemplateStage="Original")
    body = original["TemplateBody"]
    template = body if isinstance(body, dict) else yaml.load(body, Loader=_CloudFormationLoader)
    transform = template.get("Transform")
    ctx.expect(
        SAM_TRANSFORM in (transform if isinstance(transform, list) else [transform]),
        f"expected the template's Transform {SAM_TRANSFORM}, found {transform}: a SAM template declares it",
    )
    catalog = (template.get("Resources") or {}).get("Catalog") or {}
    ctx.expect(
        catalog.get("Type") == "AWS::Serverless::Function",
        f"expected a resource Catalog of Type AWS::Serverless::Function, found {catalog.get('Type')}",
    )
    alias = (catalog.get("Properties") or {}).get("AutoPublishAlias")
    ctx.expect(
        alias == ALIAS,
        f"expected the function's AutoPublishAlias {ALIAS}, found {alias}: the canaries of step 3 shift that alias",
    )
    findings = _lint_findings(body if isinstance(body, str) else yaml.safe_dump(body), ctx.env.region)
    if findings:
        ctx.fail(f"expected cfn-lint to find nothing in the stack's template, found {len(findings)}: {findings[0]}")
    answer = ctx.invoke(f"{_catalog_function(ctx)}:{ALIAS}", {})
    ctx.expect(
        isinstance(answer, dict) and answer.get("statusCode") == 200,
        f"expected the alias {ALIAS} to answer GET /books with statusCode 200, found {str(answer)[:200]}",
    )


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !GetAtt, !Sub...) read as {"Ref": ...} and the like."""


def _short_form(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        return {name: value.split(".", 1) if suffix == "GetAtt" else value}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


def _pipeline(ctx) -> dict:
    name = ctx.env.name(PIPELINE)
    with _missing(ctx, f"pipeline {name!r}", "create it in step 2"):
        return ctx.client("codepipeline").get_pipeline(name=name)["pipeline"]


def _action(pipeline: dict, stage: str) -> dict:
    found = next((s for s in pipeline["stages"] if s["name"] == stage), {"actions": []})
    return found["actions"][0] if found["actions"] else {}


@lab.check(
    "pipeline",
    "A V2 pipeline sources, builds and deploys the catalog stack, and an execution succeeded",
    step=2,
    hints=[
        "Three stages, Source, Build and Deploy, one action each; the action's actionTypeId has category, "
        'owner "AWS", provider (S3, CodeBuild, CloudFormation) and version "1".',
        "Artifacts join them: Source outputs SourceOutput, Build takes it and outputs BuildOutput, Deploy takes "
        "BuildOutput with TemplatePath BuildOutput::packaged.yaml.",
    ],
)
def pipeline(ctx):
    found = _pipeline(ctx)
    ctx.expect(
        found.get("pipelineType") == "V2",
        f"expected pipelineType V2, found {found.get('pipelineType')}",
    )
    stages = [
        (s["name"], (s["actions"][0]["actionTypeId"]["provider"] if s["actions"] else None)) for s in found["stages"]
    ]
    ctx.expect(
        stages == STAGES,
        f"expected the stages {', '.join(f'{s} ({p})' for s, p in STAGES)}, found "
        f"{', '.join(f'{s} ({p})' for s, p in stages)}",
    )
    deploy_action = _action(found, "Deploy")
    deploy = deploy_action["configuration"]
    ctx.expect(
        deploy.get("StackName") == ctx.env.name(STACK) and deploy.get("ActionMode") == "CREATE_UPDATE",
        f"expected the Deploy action to CREATE_UPDATE the stack {ctx.env.name(STACK)}, found ActionMode "
        f"{deploy.get('ActionMode')} on the stack {deploy.get('StackName')}",
    )
    built = [a["name"] for a in _action(found, "Build").get("outputArtifacts") or []]
    taken = [a["name"] for a in deploy_action.get("inputArtifacts") or []]
    template_artifact = str(deploy.get("TemplatePath", "")).split("::")[0]
    ctx.expect(
        template_artifact in built and template_artifact in taken,
        f"expected the Deploy action to take the Build action's output ({', '.join(built) or 'none'}) and read "
        f"its TemplatePath from it, found the input artifacts {', '.join(taken) or 'none'} and the TemplatePath "
        f"{deploy.get('TemplatePath')}: only the build's output holds packaged.yaml, the template whose code the "
        "build packaged",
    )
    executions = pages(
        ctx.client("codepipeline"), "list_pipeline_executions", "pipelineExecutionSummaries", pipelineName=found["name"]
    )
    statuses = [e["status"] for e in executions]
    if not statuses or set(statuses) <= {"InProgress"}:
        ctx.not_done(f"the pipeline {found['name']} has not finished an execution yet: wait for it")
    ctx.expect(
        "Succeeded" in statuses,
        f"expected an execution of the pipeline that Succeeded, found {', '.join(sorted(set(statuses)))}: "
        "get_pipeline_state shows the failed action's errorDetails",
    )


def _committed_buildspec(ctx, pipeline: dict) -> dict:
    source = _action(pipeline, "Source").get("configuration") or {}
    bucket, key = source.get("S3Bucket"), source.get("S3ObjectKey")
    if not (bucket and key):
        ctx.fail(f"expected a Source stage whose S3 action names S3Bucket and S3ObjectKey, found {source}")
    with ctx.not_done_if_missing(f"object {key} in the bucket {bucket}", "commit the catalog with push(...) in step 2"):
        archive = ctx.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        if "buildspec.yml" not in files.namelist():
            ctx.fail(f"expected a buildspec.yml in {key}, found {', '.join(files.namelist())}")
        return yaml.safe_load(files.read("buildspec.yml")) or {}


@lab.check(
    "tests-gate",
    "The build runs the tests, and a failing test fails the build",
    step=2,
    hints=[
        "The build phase's commands run in order, and the first that exits non-zero fails the phase: put the "
        "tests first, as a command of its own.",
        "commands: [python -m pytest -q -p no:cacheprovider, python package.py > packaged.yaml], with nothing "
        "after pytest that turns its failure into success (|| true).",
    ],
)
def tests_gate(ctx):
    buildspec = _committed_buildspec(ctx, _pipeline(ctx))
    phases = buildspec.get("phases") or {}
    build = phases.get("build") or {}
    commands = [str(c) for c in build.get("commands") or []]
    tests = [i for i, c in enumerate(commands) if "pytest" in c]
    ctx.expect(tests, f"expected the build phase to run the tests (pytest), found the commands {commands}")
    first = tests[0]
    swallowed = SWALLOWED.search(commands[first])
    if swallowed:
        ctx.fail(
            f"expected a failing test to fail the build, found the command {commands[first]!r}: "
            f"{swallowed.group(0).strip()!r} turns the tests' failure into success, so the build goes on and the "
            "pipeline deploys code whose tests fail. Make pytest a command of its own"
        )
    ctx.expect(
        build.get("on-failure", "ABORT") == "ABORT",
        f"expected the build phase to stop at a failing command, found on-failure: {build.get('on-failure')}",
    )


def _function_alarms(ctx, names: list[str]) -> list[dict]:
    return ctx.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"] if names else []


def _dimensions(alarm: dict) -> dict:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}


@lab.check(
    "lambda-canary",
    "CodeDeploy ships the catalog as a canary that an alarm on the alias live rolls back",
    step=3,
    hints=[
        "The alarm watches AWS/Lambda Errors with the dimensions FunctionName = catalog_function and "
        'Resource = f"{catalog_function}:live": the calls through the alias, old version and canary alike.',
        'deployment_group = {"deploymentStyle": {...}, "deploymentConfigName": canary_config, '
        '"alarmConfiguration": {"enabled": True, "alarms": [{"name": catalog_alarm}]}, '
        '"autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", '
        '"DEPLOYMENT_STOP_ON_ALARM"]}}',
    ],
)
def lambda_canary(ctx):
    codedeploy = ctx.client("codedeploy")
    application = ctx.env.name(APPLICATION)
    with _missing(ctx, f"CodeDeploy deployment group {application}/{DEPLOYMENT_GROUP}", "run step 3"):
        group = codedeploy.get_deployment_group(applicationName=application, deploymentGroupName=DEPLOYMENT_GROUP)[
            "deploymentGroupInfo"
        ]
    config_name = group.get("deploymentConfigName") or "CodeDeployDefault.LambdaAllAtOnce"
    config = codedeploy.get_deployment_config(deploymentConfigName=config_name)["deploymentConfigInfo"]
    routing = (config.get("trafficRoutingConfig") or {}).get("type", "AllAtOnce")
    ctx.expect(
        routing in ("TimeBasedCanary", "TimeBasedLinear"),
        f"expected a canary deployment configuration, found {config_name} ({routing}): all the traffic would "
        "move at once. Use canary_config",
    )
    alarm_config = group.get("alarmConfiguration") or {}
    names = [a["name"] for a in alarm_config.get("alarms") or []]
    ctx.expect(
        alarm_config.get("enabled") and names,
        "expected the deployment group to stop on an alarm, found "
        + ("no alarm" if not names else "its alarms disabled")
        + ": a canary without an alarm goes to 100 % whatever it does. Set alarmConfiguration "
        '{"enabled": True, "alarms": [{"name": catalog_alarm}]}',
    )
    function = _catalog_function(ctx)
    wanted = f"{function}:{ALIAS}"
    alarms = _function_alarms(ctx, names)
    ctx.expect(alarms, f"expected the alarm(s) {', '.join(names)} to exist, found none: put_metric_alarm them")
    watching = [
        a
        for a in alarms
        if (a.get("Namespace"), a.get("MetricName")) == ("AWS/Lambda", "Errors")
        and _dimensions(a).get("FunctionName") == function
        and _dimensions(a).get("Resource") == wanted
    ]
    if not watching:
        alarm = alarms[0]
        found = _dimensions(alarm)
        if found.get("FunctionName") == function and "Resource" not in found:
            ctx.fail(
                f"expected the alarm {alarm['AlarmName']} to watch the alias {ALIAS} (Resource {wanted}), found it "
                "on the whole function (FunctionName only): that counts the errors of every version and alias, "
                "calls that are not the canary's among them, so it can stop a deployment for them. Add the "
                f"dimension Resource = {wanted}"
            )
        ctx.fail(
            f"expected the alarm {alarm['AlarmName']} to watch AWS/Lambda Errors of the alias {ALIAS} (Resource "
            f"{wanted}), found {alarm.get('Namespace')} {alarm.get('MetricName')} with Resource "
            f"{found.get('Resource', 'none')}: the canary's calls go through the alias, so an alarm on a version or "
            "another alias never sees its errors"
        )
    rollback = group.get("autoRollbackConfiguration") or {}
    ctx.expect(
        rollback.get("enabled") and "DEPLOYMENT_STOP_ON_ALARM" in (rollback.get("events") or []),
        "expected automatic rollback on DEPLOYMENT_STOP_ON_ALARM, found "
        + (
            f"enabled {rollback.get('enabled')}, events {rollback.get('events') or []}"
            if rollback
            else "no autoRollbackConfiguration"
        )
        + ": without it a stopped deployment leaves the canary's weight on the alias. Set autoRollbackConfiguration "
        '{"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}',
    )
    stopped = codedeploy.list_deployments(
        applicationName=application, deploymentGroupName=DEPLOYMENT_GROUP, includeOnlyStatuses=["Stopped"]
    )["deployments"]
    if not stopped:
        ctx.not_done("no deployment of the catalog was stopped by the alarm yet: run the cell that deploys v2")


def _service(ctx) -> dict:
    ecs = ctx.client("ecs")
    cluster = ctx.env.name(CLUSTER)
    with ctx.not_done_if_missing(f"ECS cluster {cluster!r}", "run step 4"):
        found = [
            s for s in ecs.describe_services(cluster=cluster, services=[SERVICE])["services"] if s["status"] == "ACTIVE"
        ]
    if not found:
        ctx.missing(f"ECS service {SERVICE!r} in the cluster {cluster}", "run step 4")
    return found[0]


def _group_suffix(arn: str) -> str:
    return arn.split(":", 5)[5]


@lab.check(
    "ecs-canary",
    "Orders deploys as an ECS canary whose alarms on both target groups roll it back, with a circuit breaker",
    step=4,
    hints=[
        'deployment_configuration = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, '
        '"canaryBakeTimeInMinutes": 3}, "bakeTimeInMinutes": 1, ...}',
        'Add "alarms": {"alarmNames": alarm_names, "enable": True, "rollback": True} and '
        '"deploymentCircuitBreaker": {"enable": True, "rollback": True}; one alarm per target group, on '
        "HTTPCode_Target_5XX_Count with its TargetGroup and LoadBalancer dimensions.",
    ],
)
def ecs_canary(ctx):
    service = _service(ctx)
    configuration = service.get("deploymentConfiguration") or {}
    strategy = configuration.get("strategy", "ROLLING")
    ctx.expect(
        strategy == "CANARY",
        f"expected the deployment strategy CANARY, found {strategy}: set it in deployment_configuration",
    )
    balancers = service.get("loadBalancers") or []
    # ECS refuses a CANARY strategy for a load balancer without advancedConfiguration, but not for a service
    # without a load balancer, whose canary has no traffic to shift.
    ctx.expect(
        balancers,
        "expected the service behind the load balancer, with an alternate target group and the production listener "
        "rule (advancedConfiguration), found no load balancer: a CANARY deployment starts the new revision in the "
        "alternate group and moves the rule's weights to it. Create the service with load_balancers as given",
    )
    balancer = balancers[0]
    advanced = balancer["advancedConfiguration"]
    percent = (configuration.get("canaryConfiguration") or {}).get("canaryPercent")
    low, high = CANARY_PERCENT
    ctx.expect(
        percent is not None and low <= percent <= high,
        f"expected a canaryPercent between {low} and {high}, found {percent}: the canary is a small share",
    )
    alarms = configuration.get("alarms") or {}
    names = alarms.get("alarmNames") or []
    ctx.expect(
        alarms.get("enable") and names,
        "expected the deployment's alarms enabled, found "
        + ("no alarm" if not names else "them disabled (enable False)")
        + ': a canary without an alarm goes to 100 % whatever its requests answer. Set "alarms": '
        '{"alarmNames": alarm_names, "enable": True, "rollback": True}',
    )
    ctx.expect(
        alarms.get("rollback"),
        "expected the deployment's alarms to roll it back (rollback True), found rollback False: an alarm in "
        "ALARM would then only mark the deployment failed, with the canary's traffic left where it is",
    )
    groups = [balancer.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")]
    watched = {
        _dimensions(a).get("TargetGroup")
        for a in _function_alarms(ctx, names)
        if (a.get("Namespace"), a.get("MetricName")) == ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")
    }
    unwatched = [_group_suffix(g).split("/")[1] for g in groups if g and _group_suffix(g) not in watched]
    ctx.expect(
        not unwatched,
        f"expected an HTTPCode_Target_5XX_Count alarm on each of the service's target groups, found none on "
        f"{', '.join(unwatched)}: the new revision starts in whichever group is not serving, so both need one",
    )
    breaker = configuration.get("deploymentCircuitBreaker") or {}
    ctx.expect(
        breaker.get("enable") and breaker.get("rollback"),
        f"expected the deployment circuit breaker enabled with rollback, found enable {breaker.get('enable')}, "
        f"rollback {breaker.get('rollback')}: tasks that never become healthy would be retried forever",
    )


@lab.check(
    "ecs-rollback",
    "The broken orders v2 was rolled back, and the good v2 serves all the traffic",
    step=4,
    hints=[
        "Run the cells of step 4 in order: ship(orders_v2_broken, ...) then ship(orders_v2, ...).",
        "A deployment that never shifts traffic is often waiting for healthy targets: describe_services' events "
        "say why.",
    ],
)
def ecs_rollback(ctx):
    service = _service(ctx)
    deployments = ctx.client("ecs").list_service_deployments(cluster=ctx.env.name(CLUSTER), service=SERVICE)[
        "serviceDeployments"
    ]
    statuses = [d["status"] for d in deployments]
    if "ROLLBACK_SUCCESSFUL" not in statuses:
        ctx.not_done("no deployment of orders was rolled back yet: run the cell that ships orders_v2_broken")
    ctx.expect(
        statuses[0] == "SUCCESSFUL",
        f"expected the newest deployment of orders SUCCESSFUL (the good v2), found {statuses[0]}"
        + (f" ({deployments[0].get('statusReason')})" if deployments[0].get("statusReason") else ""),
    )
    rule = ((service.get("loadBalancers") or [{}])[0].get("advancedConfiguration") or {}).get("productionListenerRule")
    if not rule:
        ctx.fail("expected the service to name its production listener rule, found none: see the check ecs-canary")
    forward = ctx.client("elbv2").describe_rules(RuleArns=[rule])["Rules"][0]["Actions"][0]["ForwardConfig"]
    weights = sorted(g["Weight"] for g in forward["TargetGroups"])
    ctx.expect(
        weights == [0, 100],
        f"expected the production rule to send 100 % to one target group once the deployment is done, found the "
        f"weights {weights}",
    )

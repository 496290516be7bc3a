"""ECS's own canary, linear and blue/green deployments on the local cloud, as a learner sees them
through boto3 and the load balancer: traffic shifts by the strategy's schedule, an alarm or a
lifecycle hook rolls it back, the circuit breaker stops green tasks that never become healthy.

A local cloud of this file's own. The stack (echo image, cluster, load balancer) is the ECS tests'
(test_dataplane_ecs.Stack); each test makes its own blue and green target groups, a listener whose
default rule is the production listener rule, and a service.
"""

import io
import json
import textwrap
import threading
import uuid
import zipfile

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from private_cloud import private_cloud
from support import first_error_alarm, wait_for
from support.iam import grant
from test_dataplane_ecs import CLUSTER, Stack, listener_url

pytestmark = pytest.mark.long

HOOK_ROLE = "ecs-hook-invoker"


@pytest.fixture(scope="module")
def cloud():
    with private_cloud("labkit-ecs-deploy-test-") as env:
        yield env


@pytest.fixture(scope="module")
def stack(cloud):
    stack = Stack(cloud)
    stack.task_definition("echo-v2", environment=[{"name": "VERSION", "value": "2"}])
    stack.task_definition(
        "echo-broken", environment=[{"name": "VERSION", "value": "2"}, {"name": "BROKEN", "value": "requests"}]
    )
    stack.task_definition("echo-unhealthy", environment=[{"name": "BROKEN", "value": "health"}])
    iam = boto3.client("iam")
    trust = {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    iam.create_role(
        RoleName=HOOK_ROLE, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )
    grant(HOOK_ROLE, ["lambda:InvokeFunction"])
    return stack


class Canary:
    """A service behind a listener whose default rule forwards to blue (100) and green (0)."""

    def __init__(
        self,
        stack,
        name: str,
        strategy: dict,
        hooks: list | None = None,
        alarms: list | None = None,
        test_listener: bool = False,
    ):
        self.stack, self.name = stack, name
        self.blue = self._group(f"{name}-blue")
        self.green = self._group(f"{name}-green")
        self.url, self.rule = self._listener()
        advanced = {
            "alternateTargetGroupArn": self.green,
            "productionListenerRule": self.rule,
            "roleArn": f"arn:aws:iam::123456789012:role/{HOOK_ROLE}",
        }
        if test_listener:
            self.test_url, self.test_rule = self._listener()
            advanced["testListenerRule"] = self.test_rule
        configuration = {
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "bakeTimeInMinutes": 1,
            **strategy,
            "lifecycleHooks": hooks or [],
        }
        if alarms:
            configuration["alarms"] = {"alarmNames": alarms, "enable": True, "rollback": True}
        stack.service(
            name,
            2,
            loadBalancers=[
                {
                    "targetGroupArn": self.blue,
                    "containerName": "echo",
                    "containerPort": 8080,
                    "advancedConfiguration": advanced,
                }
            ],
            deploymentConfiguration=configuration,
        )
        stack.settled(name, timeout=20)

    def _listener(self) -> tuple[str, str]:
        """A listener forwarding 100 to blue and 0 to green: (its URL, its default rule's ARN)."""
        port = next(self.stack.listener_ports)
        groups = [{"TargetGroupArn": self.blue, "Weight": 100}, {"TargetGroupArn": self.green, "Weight": 0}]
        listener = self.stack.elb.create_listener(
            LoadBalancerArn=self.stack.balancer,
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
        )["Listeners"][0]["ListenerArn"]
        rule = self.stack.elb.describe_rules(ListenerArn=listener)["Rules"][0]["RuleArn"]
        return listener_url(self.stack.env, self.stack.balancer, port), rule

    def _group(self, name: str) -> str:
        group = self.stack.elb.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=8080,
            VpcId=self.stack.vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.stack.elb.modify_target_group_attributes(
            TargetGroupArn=group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}]
        )
        return group

    def weights(self, rule_arn: str | None = None) -> dict[str, int]:
        rule = self.stack.elb.describe_rules(RuleArns=[rule_arn or self.rule])["Rules"][0]
        groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
        return {g["TargetGroupArn"]: g["Weight"] for g in groups}

    def green_weight(self) -> int:
        return self.weights().get(self.green, 0)

    def deploy(self, family: str) -> dict:
        self.stack.ecs.update_service(cluster=CLUSTER, service=self.name, taskDefinition=family)
        return self.latest_deployment()

    def latest_deployment(self) -> dict:
        ecs = self.stack.ecs
        brief = ecs.list_service_deployments(cluster=CLUSTER, service=self.name)["serviceDeployments"][0]
        return ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])[
            "serviceDeployments"
        ][0]

    def finished(self, timeout: float = 30) -> dict:
        def done():
            found = self.latest_deployment()
            return found if found["status"] not in ("PENDING", "IN_PROGRESS", "ROLLBACK_IN_PROGRESS") else None

        return wait_for(done, timeout, f"the deployment of {self.name} to finish")

    def versions_running(self) -> set[str]:
        return {t["taskDefinitionArn"].rsplit("/", 1)[-1].split(":")[0] for t in self.stack.tasks(self.name)}


def error_alarm(stack, group_arn: str, name: str) -> str:
    """An alarm on the green target group's 5XX answers, in ALARM after one bad minute (one local second)."""
    first_error_alarm(
        name,
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        {"TargetGroup": group_arn.split(":")[-1], "LoadBalancer": stack.balancer.split(":loadbalancer/", 1)[-1]},
    )
    return name


class Traffic:
    """Requests to a listener, one after another, from a thread: how many failed, and what answered."""

    def __init__(self, url: str):
        self.url, self.answers, self._stop = url, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    response = session.get(self.url + "/whoami", timeout=5)
                    self.answers.append(response.status_code)
                except requests.RequestException:
                    self.answers.append(0)

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join()
        return self.answers


ANSWERING = """
    def handler(event, context):
        return {{"hookStatus": "{answer}"}}
"""
# Asks to be called again once, then succeeds if ECS passed back its hookDetails and green had no
# production traffic yet (POST_SCALE_UP).
CALLED_BACK = """
    def handler(event, context):
        if event.get("hookDetails") != {"calls": 1}:
            return {"hookStatus": "IN_PROGRESS", "callBackDelay": 2, "hookDetails": {"calls": 1}}
        weights = event["productionTrafficWeights"]
        green_idle = weights.get(event["targetServiceRevisionArn"]) == 0 and sorted(weights.values()) == [0, 100]
        ours = event["serviceArn"].endswith(":service/containers/hook-called-back")
        return {"hookStatus": "SUCCEEDED" if green_idle and ours else "FAILED"}
"""


def hook_function(answer: str | None = None, source: str | None = None) -> str:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", textwrap.dedent(source or ANSWERING.format(answer=answer)))
    iam = boto3.client("iam")
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    role = iam.create_role(
        RoleName=f"hook-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )["Role"]["Arn"]
    return boto3.client("lambda").create_function(
        FunctionName=f"hook-{uuid.uuid4().hex[:8]}",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]


def test_a_canary_with_a_healthy_green_shifts_its_share_then_everything_and_stops_blue(stack):
    canary = Canary(
        stack,
        "canary-ok",
        {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 3}},
        test_listener=True,
    )
    started = canary.deploy("echo-v2")
    assert started["status"] == "IN_PROGRESS"

    wait_for(lambda: canary.green_weight() == 20, 20, "the canary's 20 percent on green")
    assert canary.weights()[canary.blue] == 80
    # The test listener reaches green alone from TEST_TRAFFIC_SHIFT on.
    assert canary.weights(canary.test_rule) == {canary.blue: 0, canary.green: 100}
    assert {requests.get(canary.test_url + "/whoami", timeout=5).json()["version"] for _ in range(10)} == {"2"}
    versions = {requests.get(canary.url + "/whoami", timeout=5).json()["version"] for _ in range(60)}
    assert versions == {"1", "2"}

    finished = canary.finished()
    assert finished["status"] == "SUCCESSFUL"
    assert finished["lifecycleStage"] == "CLEAN_UP"
    assert canary.weights() == {canary.blue: 0, canary.green: 100}
    wait_for(lambda: canary.versions_running() == {"echo-v2"}, 15, "blue's tasks to stop")
    assert {requests.get(canary.url + "/whoami", timeout=5).json()["version"] for _ in range(20)} == {"2"}


def test_a_broken_green_trips_its_alarm_and_rolls_back_while_blue_answers_throughout(stack):
    alarm = f"canary-bad-5xx-{uuid.uuid4().hex[:6]}"
    canary = Canary(
        stack,
        "canary-bad",
        {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 30}},
        alarms=[alarm],
    )
    error_alarm(stack, canary.green, alarm)
    traffic = Traffic(canary.url)
    canary.deploy("echo-broken")

    finished = canary.finished(timeout=40)
    answers = traffic.stop()
    assert finished["status"] == "ROLLBACK_SUCCESSFUL"
    assert finished["alarms"]["triggeredAlarmNames"] == [alarm]
    assert finished["rollback"]["reason"] == (
        f"Service deployment rolled back because the alarm(s) {alarm} went into ALARM state."
    )
    assert canary.weights() == {canary.blue: 100, canary.green: 0}
    assert canary.versions_running() == {"echo"}
    failed = sum(1 for status in answers if status != 200)
    # Only the canary's share failed, and only until the alarm rolled it back.
    assert 0 < failed < len(answers) * 0.3, (failed, len(answers))
    assert set(answers) <= {200, 500}


def test_a_linear_deployment_shifts_traffic_in_equal_steps(stack):
    canary = Canary(
        stack,
        "linear-ok",
        {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}},
    )
    canary.deploy("echo-v2")
    seen = []

    def all_shifted():
        weight = canary.green_weight()
        if not seen or seen[-1] != weight:
            seen.append(weight)
        return weight == 100

    wait_for(all_shifted, 30, "every step to green", interval=0.02)
    assert seen == [0, 25, 50, 75, 100]
    assert canary.finished()["status"] == "SUCCESSFUL"


def test_a_lifecycle_hook_that_answers_failed_rolls_the_deployment_back(stack):
    hook = hook_function("FAILED")
    canary = Canary(
        stack,
        "hooked",
        {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5}},
        hooks=[
            {
                "hookTargetArn": hook,
                "roleArn": f"arn:aws:iam::123456789012:role/{HOOK_ROLE}",
                "lifecycleStages": ["POST_SCALE_UP"],
            }
        ],
    )
    canary.deploy("echo-v2")
    finished = canary.finished()
    assert finished["status"] == "ROLLBACK_SUCCESSFUL"
    assert finished["rollback"]["reason"] == f"Lifecycle hook {hook} returned hookStatus FAILED at POST_SCALE_UP."
    assert canary.weights() == {canary.blue: 100, canary.green: 0}


def test_the_circuit_breaker_rolls_back_green_tasks_that_never_become_healthy(stack):
    canary = Canary(
        stack,
        "breaker",
        {
            "strategy": "BLUE_GREEN",
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
    )
    canary.deploy("echo-unhealthy")
    finished = canary.finished(timeout=60)
    assert finished["status"] == "ROLLBACK_SUCCESSFUL"
    assert finished["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert finished["deploymentCircuitBreaker"]["failureCount"] >= 3
    assert canary.green_weight() == 0
    assert canary.versions_running() == {"echo"}


def test_a_rolling_deployment_whose_alarm_goes_off_rolls_back_to_the_last_completed_one(stack):
    group, url = stack.load_balanced("rolling-alarm")
    alarm = error_alarm(stack, group, f"rolling-5xx-{uuid.uuid4().hex[:6]}")
    stack.service(
        "rolling-alarm",
        2,
        group,
        deploymentConfiguration={
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "alarms": {"alarmNames": [alarm], "enable": True, "rollback": True},
        },
    )
    stack.settled("rolling-alarm", timeout=20)
    traffic = Traffic(url)
    stack.ecs.update_service(cluster=CLUSTER, service="rolling-alarm", taskDefinition="echo-broken")

    def rolled_back():
        brief = stack.ecs.list_service_deployments(cluster=CLUSTER, service="rolling-alarm")["serviceDeployments"][0]
        return brief if brief["status"] == "ROLLBACK_SUCCESSFUL" else None

    brief = wait_for(rolled_back, 40, "the rolling deployment to roll back")
    traffic.stop()
    found = stack.ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])
    deployment = found["serviceDeployments"][0]
    assert deployment["alarms"]["triggeredAlarmNames"] == [alarm]
    assert deployment["rollback"]["reason"].startswith("ECS deployment alarms: rolling back to deploymentId ecs-svc/")
    assert {t["taskDefinitionArn"].rsplit("/", 1)[-1].split(":")[0] for t in stack.tasks("rolling-alarm")} == {"echo"}


def test_a_hook_that_answers_in_progress_is_called_again_with_its_details_and_then_lets_the_deployment_go_on(stack):
    hook = hook_function(source=CALLED_BACK)
    canary = Canary(
        stack,
        "hook-called-back",
        {"strategy": "BLUE_GREEN"},
        hooks=[
            {
                "hookTargetArn": hook,
                "roleArn": f"arn:aws:iam::123456789012:role/{HOOK_ROLE}",
                "lifecycleStages": ["POST_SCALE_UP"],
            }
        ],
    )
    canary.deploy("echo-v2")
    finished = canary.finished()
    assert finished["status"] == "SUCCESSFUL"
    assert canary.weights() == {canary.blue: 0, canary.green: 100}


def test_a_canary_percent_outside_ecs_limits_is_refused_and_changes_nothing(stack):
    canary = Canary(
        stack,
        "canary-limits",
        {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}},
    )
    too_much = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 150.0, "canaryBakeTimeInMinutes": 3}}

    with pytest.raises(ClientError) as refused:
        stack.ecs.update_service(cluster=CLUSTER, service=canary.name, deploymentConfiguration=too_much)

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert refused.value.response["Error"]["Message"] == (
        "canaryPercent 150.0 is invalid: valid values are multiples of 0.1 from 0.1 to 100.0."
    )
    service = stack.ecs.describe_services(cluster=CLUSTER, services=[canary.name])["services"][0]
    assert service["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] == 10.0


def refusal(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        call(**params)
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def test_a_canary_service_whose_load_balancer_has_no_advanced_configuration_is_refused_and_not_created(stack):
    group, _ = stack.load_balanced("no-advanced")
    canary = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}}

    refused = refusal(stack.service, name="no-advanced", count=0, group=group, deploymentConfiguration=canary)

    assert refused == (
        "InvalidParameterException",
        "The CANARY deployment strategy requires advancedConfiguration (alternateTargetGroupArn, "
        f"productionListenerRule and roleArn) for the load balancer with targetGroupArn {group}.",
    )
    assert stack.ecs.describe_services(cluster=CLUSTER, services=["no-advanced"])["failures"][0]["reason"] == (
        "MISSING"
    )


def test_a_blue_green_service_whose_advanced_configuration_has_no_role_is_refused_naming_the_role(stack):
    group, _ = stack.load_balanced("no-role-blue")
    green, _ = stack.load_balanced("no-role-green")
    listener = next(
        found
        for found in stack.elb.describe_listeners(LoadBalancerArn=stack.balancer)["Listeners"]
        if found["DefaultActions"][0].get("TargetGroupArn") == group
    )
    rule = stack.elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"][0]["RuleArn"]
    balancer = {
        "targetGroupArn": group,
        "containerName": "echo",
        "containerPort": 8080,
        "advancedConfiguration": {"alternateTargetGroupArn": green, "productionListenerRule": rule},
    }

    refused = refusal(
        stack.service,
        name="no-role",
        count=0,
        loadBalancers=[balancer],
        deploymentConfiguration={"strategy": "BLUE_GREEN"},
    )

    assert refused == (
        "InvalidParameterException",
        f"The BLUE_GREEN deployment strategy requires roleArn in the advancedConfiguration of the load balancer "
        f"with targetGroupArn {group}.",
    )


def test_an_update_dropping_advanced_configuration_from_a_canary_service_is_refused_and_changes_nothing(stack):
    canary = Canary(
        stack,
        "canary-keeps",
        {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}},
    )
    right = stack.describe(canary.name)["loadBalancers"]
    bare = [{key: value for key, value in lb.items() if key != "advancedConfiguration"} for lb in right]

    refused = refusal(stack.ecs.update_service, cluster=CLUSTER, service=canary.name, loadBalancers=bare)

    assert refused == (
        "InvalidParameterException",
        "The CANARY deployment strategy requires advancedConfiguration (alternateTargetGroupArn, "
        f"productionListenerRule and roleArn) for the load balancer with targetGroupArn {canary.blue}.",
    )
    assert stack.describe(canary.name)["loadBalancers"] == right


def test_an_update_turning_a_rolling_service_behind_a_plain_load_balancer_linear_is_refused(stack):
    group, _ = stack.load_balanced("rolling-plain")
    stack.service("rolling-plain", 0, group=group)
    linear = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}}

    refused = refusal(
        stack.ecs.update_service, cluster=CLUSTER, service="rolling-plain", deploymentConfiguration=linear
    )

    assert refused == (
        "InvalidParameterException",
        "The LINEAR deployment strategy requires advancedConfiguration (alternateTargetGroupArn, "
        f"productionListenerRule and roleArn) for the load balancer with targetGroupArn {group}.",
    )
    assert "strategy" not in stack.describe("rolling-plain")["deploymentConfiguration"]


def test_a_canary_service_without_a_load_balancer_is_accepted_as_aws_accepts_a_headless_one(stack):
    canary = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 3}}

    created = stack.service("headless-canary", 0, deploymentConfiguration=canary)

    assert (created["status"], created["loadBalancers"]) == ("ACTIVE", [])
    assert stack.describe("headless-canary")["deploymentConfiguration"]["strategy"] == "CANARY"

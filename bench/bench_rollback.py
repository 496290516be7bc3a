"""A bad canary rolled back by an alarm, on the local cloud: how long from the alarm going to ALARM to
all traffic back on the old version, and from the first failed request, in one run.

    .venv/bin/python bench/bench_rollback.py      about a minute; loopback only; stops by itself

Starts a private local cloud (temporary state folder, free port) and runs two kinds of rounds:
- ECS canary: the echo test service (tests/data/services/echo), 2 tasks behind an ALB listener whose
  default rule is the service's production listener rule, deploymentConfiguration CANARY 10 percent
  for 30 minutes (local: 30 s) with an alarm on the green target group's HTTPCode_Target_5XX_Count
  (Sum >= 1 over 60 s, local: 1 s) that rolls back. Each round deploys a green whose every request
  answers 500 (BROKEN=requests) while one client sends GET /whoami through the listener back to back;
  traffic is back when the rule forwards 100 to blue.
- Lambda canary: a function whose version 2 raises, its alias `live` on version 1, a CodeDeploy
  deployment group with an alarm on the alias's Errors (Sum >= 1 over 60 s) and automatic rollback;
  each round deploys version 2 with CodeDeployDefault.LambdaCanary10Percent5Minutes while one client
  invokes the alias back to back; traffic is back when the alias is on version 1 with no routing.
The alarm's moment is its StateUpdate to ALARM in DescribeAlarmHistory; traffic is polled every 10 ms.
Target (bench/README.md): a rollback decided by an alarm lands within 30 s of wall time.
Writes bench/results/rollback.md and prints it.
"""

import json
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from fargate_behind_alb import CLUSTER, create_service, listener_url, load_balanced_network, register_task_definition

ECS_ROUNDS, LAMBDA_ROUNDS = 3, 5
POLL_S = 0.01
TARGET_S = 30.0
ECHO = Path(__file__).resolve().parent.parent / "tests" / "data" / "services" / "echo"
ACCOUNT = "123456789012"


@dataclass
class Round:
    alarm_to_back_s: float
    first_failure_to_back_s: float
    deploy_to_back_s: float
    failed: int
    requests: int


class Load:
    """One client calling back to back from a thread: when each failure happened, and how many calls."""

    def __init__(self, call):
        self.call, self.failures, self.calls, self._stop = call, [], 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            ok = self.call()
            self.calls += 1
            if not ok:
                self.failures.append(time.time())

    def stop(self):
        self._stop.set()
        self._thread.join()


def alarm_moment(cloudwatch, name: str, after: float) -> float:
    history = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    moments = [
        item["Timestamp"].timestamp()
        for item in history
        if json.loads(item["HistoryData"])["newState"]["stateValue"] == "ALARM"
        and item["Timestamp"].timestamp() >= after
    ]
    return min(moments)


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(POLL_S)
    return found


def alarm(cloudwatch, name: str, namespace: str, metric: str, dimensions: dict) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )


def canary_round(cloudwatch, alarm_name: str, call, deploy, shifted, back, old: str, in_flight_s: float = 0.0):
    """One round, once the alarm has left ALARM: deploy() the broken canary while `call` runs back to back,
    wait until shifted() and then back() (traffic all on the old version). The Round, and what deploy returned."""
    wait_until(
        lambda: cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["StateValue"] != "ALARM",
        30,
        "the alarm to leave ALARM",
    )
    load = Load(call)
    started = time.time()
    deployed = deploy()
    wait_until(shifted, 30, "the canary's shift")
    wait_until(back, 30, f"traffic back on {old}")
    back_at = time.time()
    time.sleep(in_flight_s)
    load.stop()
    measured = Round(
        back_at - alarm_moment(cloudwatch, alarm_name, started),
        back_at - load.failures[0],
        back_at - started,
        len(load.failures),
        load.calls,
    )
    return measured, deployed


def ecs_rounds(env) -> list[Round]:
    import boto3

    from labkit import images

    ec2, ecs, elb, cloudwatch = (boto3.client(s) for s in ("ec2", "ecs", "elbv2", "cloudwatch"))
    image = images.build(ECHO, "echo:rollback")
    network = load_balanced_network(ec2, elb)
    groups = [
        elb.create_target_group(
            Name=f"orders-{color}",
            Protocol="HTTP",
            Port=8080,
            VpcId=network.vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        for color in ("blue", "green")
    ]
    forward = {
        "TargetGroups": [{"TargetGroupArn": groups[0], "Weight": 100}, {"TargetGroupArn": groups[1], "Weight": 0}]
    }
    listener = elb.create_listener(
        LoadBalancerArn=network.balancer_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "ForwardConfig": forward}],
    )["Listeners"][0]["ListenerArn"]
    rule = elb.describe_rules(ListenerArn=listener)["Rules"][0]["RuleArn"]
    url = listener_url(env.endpoint, network.balancer_arn)
    ecs.create_cluster(clusterName=CLUSTER)
    register_task_definition(ecs, "orders", "orders", image.uri)
    register_task_definition(ecs, "orders-broken", "orders", image.uri, {"BROKEN": "requests"})
    name = "orders-green-5xx"
    alarm(
        cloudwatch,
        name,
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        {
            "TargetGroup": groups[1].split(":")[-1],
            "LoadBalancer": network.balancer_arn.split(":loadbalancer/")[1],
        },
    )
    create_service(
        ecs,
        network,
        "orders",
        2,
        {
            "targetGroupArn": groups[0],
            "containerName": "orders",
            "advancedConfiguration": {
                "alternateTargetGroupArn": groups[1],
                "productionListenerRule": rule,
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsInfrastructure",
            },
        },
        deploymentConfiguration={
            "strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 30},
            "bakeTimeInMinutes": 1,
            "alarms": {"alarmNames": [name], "enable": True, "rollback": True},
        },
    )

    def service_deployment():
        listed = ecs.list_service_deployments(cluster=CLUSTER, service="orders")["serviceDeployments"]
        return listed[0]

    def weights():
        actions = elb.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"][0]
        return {g["TargetGroupArn"]: g["Weight"] for g in actions["ForwardConfig"]["TargetGroups"]}

    wait_until(lambda: service_deployment()["status"] == "SUCCESSFUL", 30, "the first deployment")
    session = requests.Session()

    def request() -> bool:
        try:
            return session.get(url + "/whoami", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    rounds = []
    for _ in range(ECS_ROUNDS):
        measured, _ = canary_round(
            cloudwatch,
            name,
            request,
            lambda: ecs.update_service(cluster=CLUSTER, service="orders", taskDefinition="orders-broken"),
            lambda: weights()[groups[1]] > 0,
            lambda: weights()[groups[1]] == 0,
            "blue",
            in_flight_s=0.5,  # requests in flight when traffic moved back
        )
        wait_until(lambda: service_deployment()["status"] == "ROLLBACK_SUCCESSFUL", 30, "the rollback")
        rounds.append(measured)
    return rounds


def lambda_rounds() -> list[Round]:
    import io
    import zipfile

    import boto3

    lambda_, iam, codedeploy, cloudwatch = (boto3.client(s) for s in ("lambda", "iam", "codedeploy", "cloudwatch"))

    def zipped(source: str) -> bytes:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("app.py", source)
        return archive.getvalue()

    def role(service: str, actions: list[str]) -> str:
        trust = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        name = f"bench-{uuid.uuid4().hex[:8]}"
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
        )["Role"]["Arn"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        iam.put_role_policy(RoleName=name, PolicyName="bench", PolicyDocument=json.dumps(policy))
        return arn

    lambda_.create_function(
        FunctionName="catalog",
        Runtime="python3.12",
        Role=role("lambda.amazonaws.com", ["logs:*"]),
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return 1\n")},
    )
    lambda_.publish_version(FunctionName="catalog")
    lambda_.update_function_code(
        FunctionName="catalog", ZipFile=zipped("def handler(event, context):\n    raise RuntimeError('v2')\n")
    )
    lambda_.publish_version(FunctionName="catalog")
    lambda_.create_alias(FunctionName="catalog", Name="live", FunctionVersion="1")
    name = "catalog-live-errors"
    alarm(cloudwatch, name, "AWS/Lambda", "Errors", {"FunctionName": "catalog", "Resource": "catalog:live"})
    codedeploy.create_application(applicationName="catalog", computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName="catalog",
        deploymentGroupName="live",
        serviceRoleArn=role("codedeploy.amazonaws.com", ["lambda:InvokeFunction", "lambda:UpdateAlias"]),
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        alarmConfiguration={"enabled": True, "alarms": [{"name": name}]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_STOP_ON_ALARM"]},
    )
    appspec = {
        "version": 0.0,
        "Resources": [
            {
                "catalog": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Name": "catalog", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"},
                }
            }
        ],
    }
    invoker = boto3.client("lambda")

    def invoke() -> bool:
        return "FunctionError" not in invoker.invoke(FunctionName="catalog", Qualifier="live", Payload=b"{}")

    def alias():
        found = lambda_.get_alias(FunctionName="catalog", Name="live")
        return found["FunctionVersion"], (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}

    def deploy() -> str:
        return codedeploy.create_deployment(
            applicationName="catalog",
            deploymentGroupName="live",
            deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
        )["deploymentId"]

    rounds = []
    for _ in range(LAMBDA_ROUNDS):
        measured, deployment = canary_round(
            cloudwatch, name, invoke, deploy, lambda: alias()[1], lambda: alias() == ("1", {}), "version 1"
        )
        status = codedeploy.get_deployment(deploymentId=deployment)["deploymentInfo"]["status"]
        assert status == "Stopped", status
        rounds.append(measured)
    return rounds


def render(results: dict[str, list[Round]], loads: tuple[float, float], wall_s: float) -> str:
    rows = []
    for label, rounds in results.items():
        alarm_to_back = [r.alarm_to_back_s for r in rounds]
        failure_to_back = [r.first_failure_to_back_s for r in rounds]
        worst = max(failure_to_back)
        rows.append(
            f"| {label} | {len(rounds)} | {statistics.median(alarm_to_back) * 1000:.0f} | "
            f"{max(alarm_to_back) * 1000:.0f} | {statistics.median(failure_to_back):.2f} | {worst:.2f} | "
            f"{statistics.median(r.deploy_to_back_s for r in rounds):.2f} | "
            f"{sum(r.failed for r in rounds)} of {sum(r.requests for r in rounds)} | "
            f"{'yes' if worst < TARGET_S else '**no**'} |"
        )
    return "\n".join(
        [
            f"A bad canary rolled back by an alarm on the local cloud, one run of bench/bench_rollback.py "
            f"({wall_s:.0f} s): {os.cpu_count()} cores, load average {loads[0]:.1f} before and {loads[1]:.1f} "
            f"after, {time.strftime('%Y-%m-%d')}.",
            "",
            "Each round deploys a broken version as a canary while one client calls back to back; the alarm "
            "(Sum of errors >= 1 over 60 s, one local second) rolls it back. *alarm → back*: from the alarm's "
            "StateUpdate to ALARM to all traffic on the old version (the ECS rule 100 on blue; the alias on "
            "version 1 without routing), polled every 10 ms. *first failure → back*: from the first failed "
            "request, what a learner sees. Target: within 30 s of wall time (on AWS the same rule takes "
            "minutes: one-minute periods and CodeDeploy's or ECS's alarm polling).",
            "",
            "| canary | rounds | alarm → back p50 (ms) | max (ms) | first failure → back p50 (s) | max (s) | "
            "deploy → back p50 (s) | failed requests | within 30 s |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def main() -> None:
    load_before = os.getloadavg()[0]
    run_started = time.perf_counter()
    state = tempfile.mkdtemp(prefix="labkit-bench-rollback-")
    os.environ["LABKIT_STATE_DIR"] = state
    from labkit.proc import free_port

    os.environ["LABKIT_PORT"] = str(free_port())
    os.environ["LABKIT_ROLE_PROPAGATION_S"] = "0"  # the roles are made just before they are used
    from labkit import course
    from labkit.localcloud import control

    try:
        env = course.start(quiet=True)
        results = {"ECS canary (10 %, ALB)": ecs_rounds(env), "Lambda canary (CodeDeploy, 10 %)": lambda_rounds()}
    finally:
        control.down()
        shutil.rmtree(state, ignore_errors=True)
    report = render(results, (load_before, os.getloadavg()[0]), time.perf_counter() - run_started)
    (Path(__file__).parent / "results" / "rollback.md").write_text(report)
    print(report, end="")


if __name__ == "__main__":
    main()

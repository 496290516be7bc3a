"""ECS services on the local cloud, as a learner notices them: through boto3 and real HTTP.

A local cloud of this file's own (the last test resets it and stops it, and checks that no task
process is left). One image (tests/data/services/echo), one cluster and one load balancer serve
every test; each test makes its own service and, when it needs one, its own listener and target
group. Task processes answer /whoami with their task id, so a test sees which task served.
"""

import ipaddress
import json
import os
import re
import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from private_cloud import private_cloud
from support import exited, open_to_the_internet, stays, wait_for

from labkit import images

pytestmark = pytest.mark.long  # started early by tests/conftest.py

ECHO = Path(__file__).parent / "data" / "services" / "echo"
CLUSTER = "containers"
LOG_GROUP = "/ecs/echo"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


@pytest.fixture(scope="module")
def cloud():
    """A local cloud for this file: its last test resets it and stops it."""
    with private_cloud("labkit-ecs-test-") as env:
        yield env


class Stack:
    """What every test shares: the echo image, a cluster, a load balancer open to the internet, the
    tasks' security group that admits it on 8080, a log group."""

    def __init__(self, env):
        self.env = env
        self.ecs, self.elb = boto3.client("ecs"), boto3.client("elbv2")
        self.image = images.build(ECHO, "echo:1")
        ec2 = boto3.client("ec2")
        self.vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        self.ecs.create_cluster(clusterName=CLUSTER)
        boto3.client("logs").create_log_group(logGroupName=LOG_GROUP)
        self.ec2 = ec2
        self.web = open_to_the_internet("containers-web", self.vpc)
        self.task_group = ec2.create_security_group(GroupName="echo-tasks", Description="tasks", VpcId=self.vpc)[
            "GroupId"
        ]
        self.admit(self.task_group, self.web)
        self.balancer = self.elb.create_load_balancer(
            Name="containers", Subnets=self.subnets, SecurityGroups=[self.web]
        )["LoadBalancers"][0]["LoadBalancerArn"]
        self.listener_ports = iter(range(8000, 8100))
        self.task_definition("echo")

    def task_definition(self, family: str, execution_role: str = EXECUTION_ROLE, **container) -> str:
        definition = {
            "name": "echo",
            "image": self.image.uri,
            "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": LOG_GROUP,
                    "awslogs-region": self.env.region,
                    "awslogs-stream-prefix": "ecs",
                },
            },
            **container,
        }
        return self.ecs.register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            executionRoleArn=execution_role,
            containerDefinitions=[definition],
        )["taskDefinition"]["taskDefinitionArn"]

    def load_balanced(self, name: str) -> tuple[str, str]:
        """A target group and a listener of its own: (target group ARN, listener URL)."""
        group = self.elb.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=8080,
            VpcId=self.vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elb.modify_target_group_attributes(
            TargetGroupArn=group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}]
        )
        port = next(self.listener_ports)
        self.elb.create_listener(
            LoadBalancerArn=self.balancer,
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
        )
        return group, listener_url(self.env, self.balancer, port)

    def admit(self, group: str, source_group: str, port: int = 8080) -> None:
        self.ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": source_group}]}
            ],
        )

    def service(self, name: str, count: int, group: str | None = None, security_group=None, **extra) -> dict:
        if group:
            extra["loadBalancers"] = [{"targetGroupArn": group, "containerName": "echo", "containerPort": 8080}]
        network = {"subnets": self.subnets, "securityGroups": [security_group or self.task_group]}
        return self.ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=extra.pop("taskDefinition", "echo"),
            desiredCount=count,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {**network, "assignPublicIp": "ENABLED"}},
            **extra,
        )["service"]

    def describe(self, name: str) -> dict:
        return self.ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]

    def settled(self, name: str, timeout: float = 10.0) -> dict:
        def steady():
            service = self.describe(name)
            return service if in_steady_state(service) else None

        return wait_for(steady, timeout, f"service {name} to reach a steady state")

    def tasks(self, name: str | None = None, status: str = "RUNNING") -> list[dict]:
        found = self.ecs.list_tasks(cluster=CLUSTER, desiredStatus=status, **({"serviceName": name} if name else {}))[
            "taskArns"
        ]
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=found)["tasks"] if found else []

    def task(self, arn: str) -> dict:
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]

    def task_in(self, arn: str, status: str, timeout: float = 10.0) -> dict:
        def probe():
            task = self.task(arn)
            if task["lastStatus"] == "STOPPED" and status != "STOPPED":
                raise AssertionError(f"the task stopped: {task['stoppedReason']}")
            return task if task["lastStatus"] == status else None

        return wait_for(probe, timeout, f"the task to be {status}")

    def remove(self, name: str) -> None:
        self.ecs.delete_service(cluster=CLUSTER, service=name, force=True)


@pytest.fixture(scope="module")
def stack(cloud):
    return Stack(cloud)


def listener_url(env, balancer_arn: str, port: int) -> str:
    with urllib.request.urlopen(env.endpoint + "/_labkit/loadbalancers") as response:
        balancers = json.loads(response.read())["LoadBalancers"]
    balancer = next(b for b in balancers if b["LoadBalancerArn"] == balancer_arn)
    return next(listener["Url"] for listener in balancer["Listeners"] if listener["Port"] == port)


def in_steady_state(service: dict) -> bool:
    """One deployment, rolled out completely."""
    return len(service["deployments"]) == 1 and service["deployments"][0]["rolloutState"] == "COMPLETED"


def task_port(task: dict) -> int:
    return task["containers"][0]["networkBindings"][0]["hostPort"]


def task_address(task: dict) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["privateIPv4Address"]


def task_id(task: dict) -> str:
    return task["taskArn"].rsplit("/", 1)[-1]


def whoami(task: dict) -> dict:
    """Asked of the task directly, on its local port, once its process listens."""
    url = f"http://127.0.0.1:{task_port(task)}/whoami"
    return wait_for(lambda: _get_json(url), 5, "the task to answer")


def test_a_service_of_two_runs_two_processes_that_answer_through_the_load_balancer(stack):
    group, url = stack.load_balanced("two")
    created = stack.service("two", 2, group)
    assert created["status"] == "ACTIVE" and created["desiredCount"] == 2
    service = stack.settled("two")
    assert (service["runningCount"], service["pendingCount"]) == (2, 0)
    messages = [event["message"] for event in service["events"]]
    assert any(m.startswith("(service two) has started 2 tasks: (task ") for m in messages)
    assert "(service two) has reached a steady state." in messages

    tasks = stack.tasks("two")
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"} and len(tasks) == 2
    assert all(t["group"] == "service:two" and t["launchType"] == "FARGATE" for t in tasks)
    health = stack.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    # Each task is a target at its ENI's private address, on its container port, as on AWS.
    assert sorted((h["Target"]["Id"], h["Target"]["Port"]) for h in health) == sorted(
        (task_address(t), 8080) for t in tasks
    )
    assert all(ipaddress.ip_address(task_address(t)) in ipaddress.ip_network("172.31.0.0/16") for t in tasks)
    assert {h["TargetHealth"]["State"] for h in health} == {"healthy"}

    session = requests.Session()
    answers = [session.get(url + "/whoami").json() for _ in range(10)]
    assert {a["task"] for a in answers} == {task_id(t) for t in tasks}
    assert len({a["pid"] for a in answers}) == 2
    assert {a["greeting"] for a in answers} == {"hello"}  # ENV from the Dockerfile
    stack.remove("two")


def test_a_killed_task_is_replaced_and_no_request_after_it_died_fails(stack):
    group, url = stack.load_balanced("sturdy")
    stack.service("sturdy", 2, group)
    stack.settled("sturdy")
    session = requests.Session()
    first = session.get(url + "/whoami").json()
    before = {task_id(t) for t in stack.tasks("sturdy")}

    statuses = []

    def a_replacement_serves():
        response = session.get(url + "/whoami")
        statuses.append(response.status_code)
        return response.ok and response.json()["task"] not in before

    os.kill(first["pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    # A request the task accepted while dying fails on AWS too (502); from its death on, none may.
    wait_for(lambda: exited(first["pid"]), 5, "the killed task's process to exit", interval=0.01)
    wait_for(a_replacement_serves, 15, "a replacement task to serve", interval=0)  # requests without a pause
    replacement_serves_after = time.monotonic() - killed_at
    assert set(statuses) == {200}, f"{statuses.count(200)} of {len(statuses)} requests succeeded"
    print(
        f"\nthe replacement served {replacement_serves_after:.2f} s after the kill, "
        f"{len(statuses)} requests, none failed"
    )

    killed = stack.task_in(first["task"], "STOPPED")
    eni = next(d["value"] for d in killed["attachments"][0]["details"] if d["name"] == "networkInterfaceId")
    with pytest.raises(ClientError, match="InvalidNetworkInterfaceID.NotFound"):  # AWS deletes a task's ENI
        stack.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])
    assert killed["desiredStatus"] == "STOPPED"
    assert killed["stoppedReason"] == "Essential container in task exited"
    assert killed["stopCode"] == "EssentialContainerExited"
    assert killed["containers"][0]["exitCode"] == 137  # 128 + SIGKILL, as Docker reports it
    service = stack.settled("sturdy")
    assert service["runningCount"] == 2
    assert any("has started 1 tasks" in e["message"] for e in service["events"])
    stack.remove("sturdy")


def test_a_rolling_update_to_a_new_task_definition_loses_no_request(stack):
    group, url = stack.load_balanced("rolling")
    stack.service("rolling", 2, group)
    stack.settled("rolling")
    new_definition = stack.task_definition("echo", environment=[{"name": "VERSION", "value": "2"}])
    session = requests.Session()
    assert session.get(url + "/whoami").json()["version"] == "1"

    stack.ecs.update_service(cluster=CLUSTER, service="rolling", taskDefinition="echo")
    statuses, deployment_counts = [], []

    def rolled_out():
        statuses.append(session.get(url + "/whoami").status_code)
        service = stack.describe("rolling")
        deployment_counts.append(len(service["deployments"]))
        return service if in_steady_state(service) else None

    service = wait_for(rolled_out, 20, "the rolling update to complete", interval=0)  # requests without a pause
    assert set(statuses) == {200}
    assert 2 in deployment_counts  # PRIMARY (new) and ACTIVE (old) side by side
    primary = service["deployments"][0]
    assert primary["taskDefinition"] == new_definition and primary["runningCount"] == 2
    assert service["taskDefinition"] == new_definition
    assert {session.get(url + "/whoami").json()["version"] for _ in range(6)} == {"2"}
    assert any(m["message"].endswith("deployment completed.") for m in service["events"])
    stack.remove("rolling")


def execution_role(name: str, *statements) -> str:
    """A task execution role of its own, with these statements as its one inline policy: its ARN."""
    iam = boto3.client("iam")
    trust = {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Statement": [trust]}))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    iam.put_role_policy(RoleName=name, PolicyName="execution", PolicyDocument=json.dumps(policy))
    return arn


def run_task(stack, family: str) -> str:
    return stack.ecs.run_task(
        cluster=CLUSTER,
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": stack.subnets}},
    )["tasks"][0]["taskArn"]


def test_secrets_reach_the_environment_and_output_reaches_cloudwatch_logs(stack):
    secret = boto3.client("secretsmanager").create_secret(
        Name="shop/db", SecretString=json.dumps({"password": "s3cret"})
    )["ARN"]
    boto3.client("ssm").put_parameter(Name="/shop/greeting", Value="bonjour", Type="SecureString")
    parameter = f"arn:aws:ssm:{stack.env.region}:{stack.env.account_id}:parameter/shop/greeting"
    stack.task_definition(
        "echo-secrets",
        execution_role=execution_role(
            "echo-secrets-execution",
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret},
            {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": parameter},
        ),
        secrets=[
            {"name": "DB_PASSWORD", "valueFrom": f"{secret}:password::"},
            {"name": "GREETING", "valueFrom": parameter},
        ],
    )
    arn = stack.ecs.run_task(
        cluster=CLUSTER,
        taskDefinition="echo-secrets",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": stack.subnets}},
    )["tasks"][0]["taskArn"]
    task = stack.task_in(arn, "RUNNING")
    answer = whoami(task)
    assert (answer["secret"], answer["greeting"]) == ("s3cret", "bonjour")

    requests.get(f"http://127.0.0.1:{task_port(task)}/log", params={"line": "order 42 shipped"})
    logs = boto3.client("logs")
    stream = f"ecs/echo/{task_id(task)}"  # prefix/container-name/task-id, as AWS names it
    lines = wait_for(
        lambda: (lambda found: found if "order 42 shipped" in found else None)(
            [e["message"] for e in logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]]
        ),
        5,
        "the line in CloudWatch Logs",
    )
    assert lines[0] == f"echo {task_id(task)} listening on port {task_port(task)}"

    stopped = stack.ecs.stop_task(cluster=CLUSTER, task=arn, reason="done with it")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    final = stack.task_in(arn, "STOPPED")
    assert (final["stoppedReason"], final["stopCode"]) == ("done with it", "UserInitiated")
    assert final["containers"][0]["exitCode"] == 0  # it shut down cleanly on SIGTERM


SECRET_FAILURE = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
)
REQUEST_ID = r" status code: 400, request id: [0-9a-f-]{36}"


def test_a_task_whose_execution_role_may_not_read_its_secret_stops_before_it_runs_with_awss_reason(stack):
    secret = boto3.client("secretsmanager").create_secret(Name="shop/api-key", SecretString="key-0")["ARN"]
    role = execution_role("no-secrets-execution", {"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
    stack.task_definition("echo-unread-secret", execution_role=role, secrets=[{"name": "API_KEY", "valueFrom": secret}])
    task = stack.task_in(run_task(stack, "echo-unread-secret"), "STOPPED", timeout=5)
    assert task["stopCode"] == "TaskFailedToStart"
    assert re.fullmatch(
        re.escape(
            f"{SECRET_FAILURE}unable to retrieve secret from asm: service call has been retried 1 time(s): "
            f"failed to fetch secret {secret} from secrets manager: AccessDeniedException: User: "
            f"arn:aws:sts::123456789012:assumed-role/no-secrets-execution/{task_id(task)} is not authorized to "
            f"perform: secretsmanager:GetSecretValue on resource: {secret} because no identity-based policy "
            "allows the secretsmanager:GetSecretValue action"
        )
        + REQUEST_ID,
        task["stoppedReason"],
    ), task["stoppedReason"]


def test_a_task_whose_execution_role_may_not_read_its_parameter_stops_with_ssms_words(stack):
    boto3.client("ssm").put_parameter(Name="/shop/provider-url", Value="http://provider", Type="String")
    parameter = f"arn:aws:ssm:{stack.env.region}:{stack.env.account_id}:parameter/shop/provider-url"
    role = execution_role("no-parameters-execution", {"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
    stack.task_definition(
        "echo-unread-parameter", execution_role=role, secrets=[{"name": "PROVIDER", "valueFrom": "/shop/provider-url"}]
    )
    task = stack.task_in(run_task(stack, "echo-unread-parameter"), "STOPPED", timeout=5)
    assert re.fullmatch(
        re.escape(
            f"{SECRET_FAILURE}unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
            "AccessDeniedException: User: "
            f"arn:aws:sts::123456789012:assumed-role/no-parameters-execution/{task_id(task)} is not authorized to "
            f"perform: ssm:GetParameters on resource: {parameter} because no identity-based policy allows the "
            "ssm:GetParameters action"
        )
        + REQUEST_ID,
        task["stoppedReason"],
    ), task["stoppedReason"]


def test_a_secret_under_a_customer_managed_key_needs_kms_decrypt_for_the_execution_role(stack):
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]  # its default policy trusts the account
    secret = boto3.client("secretsmanager").create_secret(Name="shop/card-key", SecretString="k", KmsKeyId=key)["ARN"]
    read = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
    stack.task_definition(
        "echo-sealed-secret",
        execution_role=execution_role("sealed-execution", read),
        secrets=[{"name": "CARD_KEY", "valueFrom": secret}],
    )
    task = stack.task_in(run_task(stack, "echo-sealed-secret"), "STOPPED", timeout=5)
    assert re.fullmatch(
        re.escape(
            f"{SECRET_FAILURE}unable to retrieve secret from asm: service call has been retried 1 time(s): "
            f"failed to fetch secret {secret} from secrets manager: AccessDeniedException: Access to KMS is not allowed"
        )
        + REQUEST_ID,
        task["stoppedReason"],
    ), task["stoppedReason"]

    decrypt = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}
    stack.task_definition(
        "echo-sealed-secret",
        execution_role=execution_role("unsealing-execution", read, decrypt),
        secrets=[{"name": "CARD_KEY", "valueFrom": secret}],
    )
    running = stack.task_in(run_task(stack, "echo-sealed-secret"), "RUNNING")
    stack.ecs.stop_task(cluster=CLUSTER, task=running["taskArn"])


def test_a_task_definition_with_secrets_needs_an_execution_role(stack):
    with pytest.raises(ClientError) as refused:
        stack.ecs.register_task_definition(
            family="echo-no-role",
            containerDefinitions=[
                {"name": "echo", "image": stack.image.uri, "secrets": [{"name": "A", "valueFrom": "/shop/a"}]}
            ],
        )
    assert refused.value.response["Error"] == {
        "Code": "ClientException",
        "Message": "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
    }


def test_a_task_whose_image_is_missing_stops_with_the_pull_error(stack):
    stack.task_definition("ghost", image=f"{stack.image.uri.rsplit(':', 1)[0]}:no-such-tag")
    arn = stack.ecs.run_task(
        cluster=CLUSTER,
        taskDefinition="ghost",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": stack.subnets}},
    )["tasks"][0]["taskArn"]
    task = stack.task_in(arn, "STOPPED", timeout=5)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError:")


def test_tasks_failing_health_checks_are_replaced(stack):
    group, url = stack.load_balanced("checked")
    stack.task_definition(
        "echo-checked",
        healthCheck={
            "command": [
                "CMD-SHELL",
                'python -c "import urllib.request; '
                "urllib.request.urlopen('http://localhost:8080/health', timeout=2)\"",
            ],
            "interval": 10,
            "timeout": 2,
            "retries": 3,
            "startPeriod": 60,
        },
    )
    stack.service("checked", 1, group, taskDefinition="echo-checked")
    stack.settled("checked")
    task = stack.tasks("checked")[0]
    assert task["healthStatus"] == "HEALTHY"  # its check reached localhost:8080, its local port

    requests.get(f"http://127.0.0.1:{task_port(task)}/sicken")  # /health answers 500 from now on
    stopped = wait_for(
        lambda: (lambda t: t if t["desiredStatus"] == "STOPPED" else None)(stack.task(task["taskArn"])),
        10,
        "the sick task to be stopped",
    )
    # Whichever notices first: the load balancer's checks or the container's own.
    assert stopped["stoppedReason"] in (
        f"Task failed ELB health checks in (target-group {group})",
        "Task failed container health checks",
    )
    served_by = wait_for(lambda: _get_json(url + "/whoami"), 10, "a replacement to serve")
    assert served_by["task"] != task_id(task)
    assert served_by["task"] in {task_id(t) for t in stack.tasks("checked")}
    stack.remove("checked")


def test_a_task_whose_security_group_does_not_admit_the_load_balancer_fails_its_checks_until_a_rule_does(stack):
    closed = stack.ec2.create_security_group(GroupName="walled-tasks", Description="no ingress", VpcId=stack.vpc)[
        "GroupId"
    ]
    group, url = stack.load_balanced("walled")
    stack.service("walled", 1, group, security_group=closed)

    def timed_out():
        found = stack.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        return next((h["TargetHealth"] for h in found if h["TargetHealth"].get("Reason") == "Target.Timeout"), None)

    # As on AWS: the load balancer's health checks get no answer, so the task is never healthy.
    assert wait_for(timed_out, 20, "a health check to time out")["Description"] == "Request timed out"
    stack.admit(closed, stack.web)
    served = wait_for(lambda: _get_json(url + "/whoami"), 30, "a task to serve once its group admits the ALB's")
    assert served["greeting"] == "hello"  # the echo task answered through the load balancer
    stack.remove("walled")


def test_cloud_map_finds_the_running_tasks(stack):
    discovery = boto3.client("servicediscovery")
    operation = discovery.create_http_namespace(Name="shop")["OperationId"]
    namespace = discovery.get_operation(OperationId=operation)["Operation"]["Targets"]["NAMESPACE"]
    registry = discovery.create_service(Name="orders", NamespaceId=namespace)["Service"]["Arn"]
    stack.service("discovered", 2, serviceRegistries=[{"registryArn": registry}])
    stack.settled("discovered")
    found = discovery.discover_instances(NamespaceName="shop", ServiceName="orders")["Instances"]
    tasks = {task_id(t): t for t in stack.tasks("discovered")}
    # The instance id is the task id; its address and port are the task's private address and container port.
    assert {
        i["InstanceId"]: (i["Attributes"]["AWS_INSTANCE_IPV4"], i["Attributes"]["AWS_INSTANCE_PORT"]) for i in found
    } == {task: (task_address(t), "8080") for task, t in tasks.items()}

    stack.ecs.update_service(cluster=CLUSTER, service="discovered", desiredCount=1)
    wait_for(
        lambda: len(discovery.discover_instances(NamespaceName="shop", ServiceName="orders")["Instances"]) == 1,
        10,
        "one instance left",
    )
    stack.remove("discovered")


def test_a_task_reaches_another_service_by_its_service_connect_alias(stack):
    discovery = boto3.client("servicediscovery")
    operation = discovery.create_http_namespace(Name="shop-connect")["OperationId"]
    discovery.get_operation(OperationId=operation)
    stack.task_definition("echo-named", portMappings=[{"name": "web", "containerPort": 8080, "protocol": "tcp"}])
    stack.service(
        "backend",
        2,
        taskDefinition="echo-named",
        serviceConnectConfiguration={
            "enabled": True,
            "namespace": "shop-connect",
            "services": [
                {"portName": "web", "discoveryName": "backend", "clientAliases": [{"port": 8080, "dnsName": "backend"}]}
            ],
        },
    )
    stack.service("frontend", 1, serviceConnectConfiguration={"enabled": True, "namespace": "shop-connect"})
    stack.settled("backend")
    stack.settled("frontend")
    backend_tasks = {whoami(t)["task"] for t in stack.tasks("backend")}  # both listen
    frontend = stack.tasks("frontend")[0]
    whoami(frontend)

    def fetch(url):
        answer = requests.get(f"http://127.0.0.1:{task_port(frontend)}/fetch", params={"url": url}, timeout=10).json()
        return answer["status"], answer["body"]

    # Both services' tasks are in the group that admits only the load balancer: as on AWS, the
    # backend's tasks drop the frontend's connections, and the frontend's proxy gives up.
    assert fetch("http://backend:8080/whoami") == (
        503,
        "upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
    )
    stack.admit(stack.task_group, stack.task_group)  # tasks of the group admit each other on 8080
    served_by = set()
    for _ in range(4):
        status, body = fetch("http://backend:8080/whoami")
        assert status == 200, body
        served_by.add(json.loads(body)["task"])
    assert served_by == backend_tasks  # round robin over both tasks
    status, body = fetch("http://nothing-here:8080/whoami")
    assert status == 502 and "not a Service Connect client alias" in body
    found = discovery.discover_instances(NamespaceName="shop-connect", ServiceName="backend")
    assert {i["InstanceId"] for i in found["Instances"]} == backend_tasks
    stack.remove("frontend")
    stack.remove("backend")


class Mesh:
    """Lab 07's service to service calls: a namespace, tasks in a security group that admits its own
    members on 8080, and a frontend whose /fetch calls a backend by its Service Connect alias."""

    def __init__(self, stack):
        self.stack = stack
        discovery = boto3.client("servicediscovery")
        discovery.get_operation(OperationId=discovery.create_http_namespace(Name="mesh")["OperationId"])
        stack.task_definition("echo-named", portMappings=[{"name": "web", "containerPort": 8080, "protocol": "tcp"}])
        self.group = stack.ec2.create_security_group(GroupName="mesh-tasks", Description="mesh", VpcId=stack.vpc)[
            "GroupId"
        ]
        stack.admit(self.group, self.group)
        self.frontend = None

    def backend(self, name: str, count: int, **entry) -> list[dict]:
        """A backend service reached at http://NAME:8080; its running tasks."""
        self.stack.service(
            name,
            count,
            taskDefinition="echo-named",
            security_group=self.group,
            serviceConnectConfiguration={
                "enabled": True,
                "namespace": "mesh",
                "services": [
                    {"portName": "web", "discoveryName": name, "clientAliases": [{"port": 8080, "dnsName": name}]}
                    | entry
                ],
            },
        )
        self.stack.settled(name)
        tasks = self.stack.tasks(name)
        for task in tasks:
            whoami(task)
        return tasks

    def fetch(self, url: str) -> tuple[int, str]:
        """GET url from inside the frontend's task: (status, body)."""
        if self.frontend is None:  # started after the backends, as Service Connect clients are
            self.stack.service(
                "mesh-frontend",
                1,
                security_group=self.group,
                serviceConnectConfiguration={"enabled": True, "namespace": "mesh"},
            )
            self.stack.settled("mesh-frontend")
            self.frontend = self.stack.tasks("mesh-frontend")[0]
            whoami(self.frontend)
        answer = requests.get(
            f"http://127.0.0.1:{task_port(self.frontend)}/fetch", params={"url": url}, timeout=20
        ).json()
        return answer["status"], answer["body"]


@pytest.fixture(scope="module")
def mesh(stack):
    # Each test removes its backend; the frontend stays until this file's last test stops the cloud.
    return Mesh(stack)


def test_a_service_connect_per_request_timeout_answers_envoys_504_in_time(mesh):
    mesh.backend("slowpoke", 1, timeout={"perRequestTimeoutSeconds": 1})
    started = time.monotonic()
    assert mesh.fetch("http://slowpoke:8080/slow?seconds=5") == (504, "upstream request timeout")
    assert time.monotonic() - started < 3  # the timeout's second, not the answer's five
    assert mesh.fetch("http://slowpoke:8080/slow?seconds=0.2")[0] == 200
    mesh.stack.remove("slowpoke")


def test_an_idle_timeout_shorter_than_the_answer_closes_the_connection_unanswered(mesh):
    mesh.backend("dawdler", 1, timeout={"idleTimeoutSeconds": 1, "perRequestTimeoutSeconds": 10})
    started = time.monotonic()
    status, error = mesh.fetch("http://dawdler:8080/slow?seconds=4")
    assert (status, error) == (0, "RemoteDisconnected: Remote end closed connection without response")
    assert time.monotonic() - started < 3
    mesh.stack.remove("dawdler")


def test_a_task_that_keeps_failing_is_taken_out_of_rotation_for_a_while(mesh):
    sick, _ = mesh.backend("flaky", 2)
    requests.get(f"http://127.0.0.1:{task_port(sick)}/sicken", timeout=5)  # its /health answers 500 from now on
    statuses = [mesh.fetch("http://flaky:8080/health")[0] for _ in range(10)]
    assert statuses.count(500) == 5  # round robin: every other request, five in a row for the sick task
    ejected_by = time.monotonic()
    # Ejected for 30 s on AWS, half a second here: the requests of the next quarter second all succeed.
    after = []
    while time.monotonic() - ejected_by < 0.25:
        after.append(mesh.fetch("http://flaky:8080/health")[0])
    assert len(after) >= 2 and set(after) == {200}
    # Back in rotation once the ejection time has passed.
    wait_for(lambda: mesh.fetch("http://flaky:8080/health")[0] == 500, 5, "the sick task to be tried again")
    mesh.stack.remove("flaky")


def test_each_deployment_shows_its_service_connect_configuration_and_a_new_one_is_a_new_deployment(mesh):
    mesh.backend("described", 1)
    first = mesh.stack.describe("described")["deployments"]
    entry = first[0]["serviceConnectConfiguration"]["services"][0]
    assert "serviceConnectConfiguration" not in mesh.stack.describe("described")  # on the deployments, as on AWS
    assert (entry["discoveryName"], "timeout" in entry) == ("described", False)
    timed = {**entry, "timeout": {"perRequestTimeoutSeconds": 2}}
    mesh.stack.ecs.update_service(
        cluster=CLUSTER,
        service="described",
        serviceConnectConfiguration={"enabled": True, "namespace": "mesh", "services": [timed]},
    )
    deployments = mesh.stack.settled("described")["deployments"]
    assert deployments[0]["id"] != first[0]["id"]
    assert deployments[0]["serviceConnectConfiguration"]["services"][0]["timeout"] == {"perRequestTimeoutSeconds": 2}
    mesh.stack.remove("described")


def test_a_task_that_refuses_connections_is_passed_over_for_the_next(mesh):
    closing, _ = mesh.backend("sturdy-backend", 2)
    port = task_port(closing)
    # A request in flight keeps the task's process alive after SIGTERM closes its listening socket.
    in_flight = socket.create_connection(("127.0.0.1", port))
    in_flight.sendall(b"GET /slow?seconds=4 HTTP/1.1\r\nHost: task\r\n\r\n")
    whoami(closing)  # answered on a later connection: the one in flight was accepted before it
    os.kill(whoami(closing)["pid"], signal.SIGTERM)
    wait_for(lambda: refuses(port), 5, "the stopping task to refuse connections")
    # Still RUNNING, and refusing: Service Connect's proxy retries each such request on the other task.
    assert [mesh.fetch("http://sturdy-backend:8080/whoami")[0] for _ in range(6)] == [200] * 6
    in_flight.close()
    mesh.stack.remove("sturdy-backend")


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:  # accepted into the backlog as the socket closed: not yet
        return False
    return False


def test_target_tracking_scales_out_under_load_and_back_in_after(stack):
    group, url = stack.load_balanced("scaled")
    stack.service("scaled", 1, group)
    stack.settled("scaled")
    autoscaling = boto3.client("application-autoscaling")
    resource = f"service/{CLUSTER}/scaled"
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=3,
    )
    balancer_label = stack.balancer.split(":loadbalancer/")[1]
    group_label = group.split(":")[-1]
    autoscaling.put_scaling_policy(
        PolicyName="requests",
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "ScaleOutCooldown": 0,
            "ScaleInCooldown": 0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ALBRequestCountPerTarget",
                "ResourceLabel": f"{balancer_label}/{group_label}",
            },
        },
    )

    session, started = requests.Session(), time.monotonic()

    def scaled_out_under_load():
        for _ in range(50):  # well over 50 requests per target per period (one second locally)
            assert session.get(url + "/whoami").ok
        desired = stack.describe("scaled")["desiredCount"]
        return desired if desired > 1 else None

    scaled_out = wait_for(scaled_out_under_load, 15, "a scale-out under load", interval=0)
    print(f"\nscaled out to {scaled_out} after {time.monotonic() - started:.1f} s of load")
    wait_for(lambda: stack.describe("scaled")["runningCount"] == scaled_out, 10, "the new tasks")

    # No traffic at all is no data for the alarm, not low traffic: AWS never scales in then.
    # More than the 15 periods a scale-in needs; the scale-out above is the control that the policy acts.
    stays(lambda: stack.describe("scaled")["desiredCount"] == scaled_out, 18, "no scale-in without any traffic")
    quiet, trickle_stops = time.monotonic(), threading.Event()

    def trickle():  # a few requests per period: well under the target, and data for the alarm
        while not trickle_stops.wait(0.25):
            session.get(url + "/whoami")

    trickling = threading.Thread(target=trickle, daemon=True)
    trickling.start()
    try:
        wait_for(lambda: stack.describe("scaled")["desiredCount"] == 1, 30, "the scale-in")
    finally:
        trickle_stops.set()
        trickling.join()
    print(f"scaled back in to 1 after {time.monotonic() - quiet:.1f} s of light load")
    activities = autoscaling.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=resource)[
        "ScalingActivities"
    ]
    assert [a["Description"] for a in activities[:2]] == [
        "Setting desired count to 1.",
        f"Setting desired count to {scaled_out}.",
    ]
    assert all(a["StatusCode"] == "Successful" for a in activities)
    assert "AlarmHigh" in activities[1]["Cause"] and "AlarmLow" in activities[0]["Cause"]
    # The alarms the causes name are the policy's, made as AWS makes them.
    alarms = boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"TargetTracking-{resource}-")["MetricAlarms"]
    assert {
        (a["AlarmName"].split("-")[-6], a["MetricName"], a["Threshold"], a["EvaluationPeriods"]) for a in alarms
    } == {
        ("AlarmHigh", "RequestCountPerTarget", 50.0, 3),
        ("AlarmLow", "RequestCountPerTarget", 45.0, 15),
    }
    assert {a["AlarmName"] for a in alarms} == {a["Cause"].split()[2] for a in activities[:2]}
    metrics = boto3.client("cloudwatch").list_metrics(Namespace="AWS/ApplicationELB")["Metrics"]
    assert any(m["MetricName"] == "RequestCountPerTarget" for m in metrics)
    stack.remove("scaled")


def test_a_family_named_without_a_revision_is_its_latest_active_revision(stack):
    first = stack.task_definition("echo-revisions")
    second = stack.task_definition("echo-revisions")
    stack.ecs.deregister_task_definition(taskDefinition=second)
    found = stack.ecs.describe_task_definition(taskDefinition="echo-revisions")["taskDefinition"]
    assert (found["taskDefinitionArn"], found["status"]) == (first, "ACTIVE")


def test_what_a_learner_naturally_sends_for_fargate_is_accepted_or_refused_as_on_aws(stack):
    with pytest.raises(ClientError, match="execution role ARN to support log driver awslogs"):
        stack.ecs.register_task_definition(
            family="no-role",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "echo",
                    "image": stack.image.uri,
                    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": LOG_GROUP}},
                }
            ],
        )
    with pytest.raises(ClientError, match="Network Configuration must be provided"):
        stack.ecs.create_service(
            cluster=CLUSTER, serviceName="no-network", taskDefinition="echo", desiredCount=1, launchType="FARGATE"
        )
    with pytest.raises(ClientError, match="Fargate only supports network mode"):
        stack.ecs.register_task_definition(
            family="bridged",
            requiresCompatibilities=["FARGATE"],
            networkMode="bridge",
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "echo", "image": stack.image.uri}],
        )
    unused = stack.elb.create_target_group(
        Name="no-listener", Protocol="HTTP", Port=8080, VpcId=stack.vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(
        ClientError, match=f"The target group with targetGroupArn {unused} does not have an associated load balancer"
    ):
        stack.service("unbalanced", 1, unused)
    stack.elb.delete_target_group(TargetGroupArn=unused)
    # No securityGroups (the VPC's default group is used) and no container memory: both fine.
    service = stack.service("natural", 1)
    assert service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
    stack.settled("natural")
    with pytest.raises(ClientError, match="ClusterContainsServicesException"):
        stack.ecs.delete_cluster(cluster=CLUSTER)
    stack.remove("natural")


def test_every_task_is_a_child_of_the_local_cloud_and_stops_with_it(stack, cloud):
    from labkit.localcloud import control

    stack.service("last", 2)
    stack.settled("last")
    info = control.status()
    pids = [whoami(task)["pid"] for task in stack.tasks("last")]
    for pid in pids:
        parent, group = _parent_and_group(pid)
        assert parent == info["pid"] and group == os.getpgid(info["pid"])

    control.reset()
    wait_for(lambda: all(exited(pid) for pid in pids), 5, "reset to stop the tasks")
    assert stack.ecs.list_clusters()["clusterArns"] == []

    # The reset emptied everything: the cluster, the image in ECR, the log group, the subnets.
    stack.ecs.create_cluster(clusterName=CLUSTER)
    images.build(ECHO, "echo:1")
    boto3.client("logs").create_log_group(logGroupName=LOG_GROUP)
    stack.subnets = [s["SubnetId"] for s in boto3.client("ec2").describe_subnets()["Subnets"]][:2]
    vpc = boto3.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    stack.task_group = stack.ec2.create_security_group(GroupName="echo-tasks", Description="tasks", VpcId=vpc)[
        "GroupId"
    ]
    stack.task_definition("echo")
    stack.service("after-reset", 1)
    stack.settled("after-reset")
    pid = whoami(stack.tasks("after-reset")[0])["pid"]
    control.down()
    wait_for(lambda: exited(pid), 5, "`labkit down` to stop the task")


def _get_json(url: str):
    try:
        return requests.get(url, timeout=2).json()
    except requests.RequestException:
        return None


def _parent_and_group(pid: int) -> tuple[int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])

"""Lab 03's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook passes every check (test_labs.py); here, one mistake at a time. The load
balancer's targets are small HTTP servers in this process: one stands for the monolith, one for
the orders service (it sets X-Served-By, as services/orders does)."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from private_cloud import private_cloud
from support import on_premises, open_to_the_internet, wait_for

from labkit import healthwait, images, labs, load, urls
from labkit.errors import LabkitError

pytestmark = pytest.mark.long  # started early by tests/conftest.py

EXECUTION_ROLE = "arn:aws:iam::123456789012:role/orders-execution-role"
GOOD_CONTAINER = {
    "name": "orders",
    "essential": True,
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1",
    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
    "environment": [{"name": "ORDERS_TABLE", "value": "orders"}, {"name": "BOOKSHOP_URL", "value": ""}],
    "logConfiguration": {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/orders", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "orders"},
    },
}


def result(check_id):
    return next(r for r in labs.require("03").run() if r.id == check_id)


@pytest.fixture
def register(cloud):
    """Registers the orders task definition with the container's fields overridden; the orders table exists."""
    ecs, dynamodb = boto3.client("ecs"), boto3.client("dynamodb")
    ecs.create_cluster(clusterName="bookshop")
    dynamodb.create_table(
        TableName="orders",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    registered = []

    def register(network_mode="awsvpc", compatibilities=("FARGATE",), **container):
        arn = ecs.register_task_definition(
            family="orders",
            requiresCompatibilities=list(compatibilities),
            networkMode=network_mode,
            cpu="256",
            memory="512",
            executionRoleArn=EXECUTION_ROLE,
            taskRoleArn=EXECUTION_ROLE,
            containerDefinitions=[{**GOOD_CONTAINER, **container}],
        )["taskDefinition"]["taskDefinitionArn"]
        registered.append(arn)

    yield register
    for arn in registered:
        ecs.deregister_task_definition(taskDefinition=arn)
    ecs.delete_cluster(cluster="bookshop")
    dynamodb.delete_table(TableName="orders")


def test_a_task_definition_as_the_lab_asks_passes(register):
    register()
    assert result("task-definition").status == "passed"


def test_a_container_without_its_port_is_explained(register):
    register(portMappings=[])
    found = result("task-definition")
    assert (found.status, found.message) == ("failed", "expected a port mapping for container port 8080, found none")


def test_a_task_definition_for_ec2_only_is_explained(register):
    register(network_mode="bridge", compatibilities=["EC2"])
    found = result("task-definition")
    assert (found.status, found.message) == ("failed", "expected requiresCompatibilities ['FARGATE'], found ['EC2']")


def test_an_orders_table_that_does_not_exist_is_named_with_where_its_errors_go(register):
    register(environment=[{"name": "ORDERS_TABLE", "value": "order"}, {"name": "BOOKSHOP_URL", "value": ""}])
    found = result("task-definition")
    assert (found.status, found.message) == (
        "failed",
        "expected ORDERS_TABLE to name the orders table 'orders', found 'order', which is no DynamoDB table: every "
        "request that reads or writes an order would answer 500, its error in the tasks' log group /ecs/orders",
    )


def test_an_image_tag_without_its_repository_is_one_line_saying_what_a_tag_is(cloud):
    with pytest.raises(LabkitError) as refused:
        images.build("services/orders", tag="1")
    assert str(refused.value) == (
        "tag='1' is a version without its repository: a tag is repository:tag, the repository, a colon, then the "
        "version, e.g. 'orders:1'."
    )


class Stub:
    """A target answering JSON; as the orders service it adds X-Served-By and 404s unknown orders."""

    def __init__(self, is_orders: bool):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                status = 404 if is_orders and self.path.startswith("/orders/") else 200
                body = json.dumps([] if self.path == "/books" else {"path": self.path}).encode()
                self.send_response(status)
                if is_orders:
                    self.send_header("X-Served-By", "stub-task")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.target = on_premises(self.server.server_address[1], port=8080)


@pytest.fixture
def alb_group(cloud):
    """The load balancer's security group, as step 3 asks: TCP 80 from anywhere."""
    ec2 = boto3.client("ec2")
    group = open_to_the_internet("bookshop-alb", ec2.describe_vpcs()["Vpcs"][0]["VpcId"], 80, 80)
    yield group
    ec2.delete_security_group(GroupId=group)


@pytest.fixture
def tasks_group(alb_group):
    """The tasks' security group, as step 3 asks: TCP 8080 from the load balancer's group only."""
    ec2 = boto3.client("ec2")
    group = ec2.create_security_group(
        GroupName="bookshop-tasks", Description="tasks", VpcId=ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[from_the_balancer(alb_group)])
    yield group
    ec2.delete_security_group(GroupId=group)


def from_the_balancer(alb_group):
    return {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": alb_group}]}


@pytest.fixture
def front_door(alb_group, tasks_group):
    """The load balancer of step 3 with the monolith and orders groups; yields a function that sets
    rule 10's path patterns (None: no rule)."""
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    balancer = elbv2.create_load_balancer(Name="bookshop", Subnets=subnets, SecurityGroups=[alb_group])[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    groups, stubs = {}, []
    for name, is_orders in (("monolith", False), ("orders", True)):
        groups[name] = elbv2.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckPath="/health",
        )["TargetGroups"][0]["TargetGroupArn"]
        stubs.append(Stub(is_orders))
        elbv2.register_targets(TargetGroupArn=groups[name], Targets=[stubs[-1].target])
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": groups["monolith"]}],
    )["Listeners"][0]["ListenerArn"]
    elbv2.get_waiter("target_in_service").wait(
        TargetGroupArn=groups["monolith"], WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )

    def route(paths):
        elbv2.create_rule(
            ListenerArn=listener,
            Priority=10,
            Actions=[{"Type": "forward", "TargetGroupArn": groups["orders"]}],
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": paths}}],
        )
        elbv2.get_waiter("target_in_service").wait(
            TargetGroupArn=groups["orders"], WaiterConfig={"Delay": 1, "MaxAttempts": 20}
        )

    yield route
    elbv2.delete_load_balancer(LoadBalancerArn=balancer)
    for group in groups.values():
        elbv2.delete_target_group(TargetGroupArn=group)
    for stub in stubs:
        stub.server.shutdown()


def test_without_the_rule_orders_still_reach_the_monolith(front_door):
    assert result("load-balancer").status == "passed"
    found = result("strangler")
    assert found.status == "not done yet"
    assert found.message.startswith("GET /orders/... through the load balancer still reaches the monolith")


def test_a_load_balancer_closed_to_customers_is_explained(front_door, alb_group):
    boto3.client("ec2").revoke_security_group_ingress(
        GroupId=alb_group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    found = result("load-balancer")
    assert (found.status, found.message) == (
        "failed",
        f"expected the load balancer's security group to admit TCP port 80 from anywhere (0.0.0.0/0), found "
        f"no such inbound rule in {alb_group}: customers could not connect",
    )


def test_the_rule_as_the_lab_asks_passes(front_door):
    front_door(["/orders", "/orders/*", "/users/*/orders"])
    assert result("strangler").status == "passed"


def test_a_rule_without_the_users_orders_path_is_explained(front_door):
    front_door(["/orders", "/orders/*"])
    found = result("strangler")
    assert (found.status, found.message) == (
        "failed",
        "expected GET /users/1/orders to reach the orders service too (path /users/*/orders), "
        "found the monolith answering",
    )


def test_a_rule_catching_everything_is_explained(front_door):
    front_door(["/*"])
    found = result("strangler")
    assert (found.status, found.message) == (
        "failed",
        "expected GET /books/1 to stay with the monolith, found 200 from the orders service",
    )


def test_a_tasks_group_open_to_the_internet_works_but_is_not_what_step_3_asks(front_door, tasks_group, alb_group):
    boto3.client("ec2").authorize_security_group_ingress(
        GroupId=tasks_group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    found = result("load-balancer")
    assert (found.status, found.message) == (
        "failed",
        f"expected the tasks' group bookshop-tasks to admit 8080 only from the load balancer's group {alb_group}, "
        "found 0.0.0.0/0: whoever reaches a task's address would skip the load balancer",
    )


def test_a_tasks_group_that_does_not_admit_the_load_balancer_is_explained(front_door, tasks_group, alb_group):
    boto3.client("ec2").revoke_security_group_ingress(GroupId=tasks_group, IpPermissions=[from_the_balancer(alb_group)])
    found = result("load-balancer")
    assert (found.status, found.message) == (
        "failed",
        f"expected the tasks' group bookshop-tasks to admit TCP port 8080 from the load balancer's group {alb_group}, "
        "found no such inbound rule: the load balancer's health checks would get no answer (Request timed out)",
    )


def test_a_health_check_on_a_path_the_service_does_not_answer_names_modify_target_group(front_door):
    elbv2 = boto3.client("elbv2")
    monolith = elbv2.describe_target_groups(Names=["monolith"])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group(TargetGroupArn=monolith, HealthCheckPath="/healthz")
    found = result("load-balancer")
    assert (found.status, found.message) == (
        "failed",
        "expected the target group monolith to check /health, the path the services answer with 200, found "
        "'/healthz': change it with elbv2.modify_target_group(TargetGroupArn=..., HealthCheckPath=\"/health\")",
    )


def test_the_wait_for_healthy_targets_stops_at_the_first_404_with_aws_reason(front_door):
    """The orders stub answers 404 under /orders/: a health check there fails as a wrong path does."""
    front_door(["/orders", "/orders/*", "/users/*/orders"])
    elbv2 = boto3.client("elbv2")
    orders = elbv2.describe_target_groups(Names=["orders"])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group(
        TargetGroupArn=orders, HealthCheckPath="/orders/health", HealthCheckIntervalSeconds=5, UnhealthyThresholdCount=2
    )
    started = time.monotonic()
    with pytest.raises(LabkitError) as stopped:
        healthwait.wait_for_healthy_targets(orders, minimum=2, timeout_s=60)
    assert time.monotonic() - started < 30, "it waited for its timeout instead of stopping at the reason"
    assert str(stopped.value) == (
        "a target of orders is unhealthy: Health checks failed with these codes: [404] "
        "(Target.ResponseCodeMismatch); does the service answer '/orders/health', the group's HealthCheckPath, "
        "with 200? Change a setting of a group that exists with elbv2.modify_target_group(TargetGroupArn=..., "
        "HealthCheckPath=...)"
    )


ECHO = Path(__file__).parent / "data" / "services" / "echo"


def test_the_wait_stops_with_request_timed_out_when_the_tasks_group_does_not_admit_the_load_balancer(alb_group):
    """A real ECS task (the echo service) in a group with no inbound rule: the health checks are dropped. ECS
    stops and deregisters the task as soon as it is unhealthy: the wait finds the reason in the service's events."""
    ec2, ecs, elbv2 = boto3.client("ec2"), boto3.client("ecs"), boto3.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    walled = ec2.create_security_group(GroupName="walled-tasks", Description="no rule", VpcId=vpc)["GroupId"]
    balancer, group = echo_service_behind_a_balancer(
        "walled", "echo", alb_group, walled, port=81, HealthCheckIntervalSeconds=5, UnhealthyThresholdCount=2
    )
    try:
        with pytest.raises(LabkitError) as stopped:
            healthwait.wait_for_healthy_targets(group, minimum=1, timeout_s=60, service=("walled", "echo"))
        assert str(stopped.value) == (
            "a target of echo is unhealthy: Request timed out (Target.Timeout); nothing answered: does the "
            "targets' security group admit the load balancer's on this port, and does the service listen on it?"
        )
    finally:
        remove_service(
            ecs,
            "walled",
            "echo",
            then=lambda: (
                elbv2.delete_load_balancer(LoadBalancerArn=balancer),
                elbv2.delete_target_group(TargetGroupArn=group),
            ),
        )
        ec2.delete_security_group(GroupId=walled)


def echo_task_definition(family: str) -> str:
    """The echo service's image in a Fargate task definition of one container, named as the family; its ARN."""
    image = images.build(ECHO, "echo:1")
    return boto3.client("ecs").register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=EXECUTION_ROLE,
        containerDefinitions=[
            {"name": family, "image": image.uri, "essential": True, "portMappings": [{"containerPort": 8080}]}
        ],
    )["taskDefinition"]["taskDefinitionArn"]


def echo_service_behind_a_balancer(
    cluster: str, service: str, balancer_group: str, tasks_group: str, port: int = 80, desired: int = 1, **health
) -> tuple[str, str]:
    """An ECS service of the echo task in a new cluster, behind a new load balancer named as the cluster (its
    listener on `port`) and a target group named as the service; (the balancer's ARN, the group's ARN)."""
    ec2, ecs, elbv2 = boto3.client("ec2"), boto3.client("ecs"), boto3.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    ecs.create_cluster(clusterName=cluster)
    echo_task_definition(service)
    balancer = elbv2.create_load_balancer(Name=cluster, Subnets=subnets, SecurityGroups=[balancer_group])[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(
        Name=service, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/health", **health
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition=service,
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [tasks_group]}},
        loadBalancers=[{"targetGroupArn": group, "containerName": service, "containerPort": 8080}],
    )
    return balancer, group


def remove_service(ecs, cluster: str, service: str, then=lambda: None) -> None:
    """Delete the service, wait for its tasks to stop (then `then`), for it to be gone, and delete the cluster."""
    ecs.delete_service(cluster=cluster, service=service, force=True)
    wait_for(lambda: not ecs.list_tasks(cluster=cluster)["taskArns"], 30, "the tasks to stop", interval=0.5)
    then()
    wait_for(
        lambda: all(
            s["status"] == "INACTIVE" for s in ecs.describe_services(cluster=cluster, services=[service])["services"]
        ),
        30,
        f"the service {service} to be deleted",
        interval=0.5,
    )
    ecs.delete_cluster(cluster=cluster)


def test_step_6_passes_only_once_a_task_stopped_with_the_labs_reason_has_been_replaced():
    """A task stopped for another reason (an earlier re-run of step 4, a scale-in) is not step 6 done. In a
    cloud of its own: ECS lists a cluster's stopped tasks for a while, and the lab's run may have left some."""
    with private_cloud("labkit-lab03-step6-"):
        ec2, ecs = boto3.client("ec2"), boto3.client("ecs")
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        ecs.create_cluster(clusterName="bookshop")
        definition = echo_task_definition("echo-orders")
        ecs.create_service(
            cluster="bookshop",
            serviceName="orders",
            taskDefinition="echo-orders",
            desiredCount=2,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
        )

        def running():
            found = ecs.list_tasks(cluster="bookshop", serviceName="orders", desiredStatus="RUNNING")["taskArns"]
            tasks = ecs.describe_tasks(cluster="bookshop", tasks=found)["tasks"] if found else []
            return [t["taskArn"] for t in tasks if t["lastStatus"] == "RUNNING"]

        try:
            first, second = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(running()), 20, "two running tasks")
            ecs.stop_task(cluster="bookshop", task=first, reason="an earlier run of step 4")
            wait_for(lambda: first not in running(), 10, "the task to stop")
            found = result("healed")
            assert (found.status, found.message) == (
                "not done yet",
                "no task of the orders service was stopped with the reason 'lab 03: a task dies' yet (stopped by ECS "
                "itself: an earlier run of step 4): stop one with ecs.stop_task(cluster=cluster, task=..., "
                'reason="lab 03: a task dies")',
            )
            ecs.stop_task(cluster="bookshop", task=second, reason="lab 03: a task dies")
            wait_for(lambda: result("healed").status == "passed", 20, "a replacement of the task stopped in step 6")
        finally:
            remove_service(
                ecs, "bookshop", "orders", then=lambda: ecs.deregister_task_definition(taskDefinition=definition)
            )


def test_step_7_names_what_is_missing_until_the_service_has_scaled_out():
    """One service, the learner's scaling set up one piece at a time, wrong first: the check names what it found
    at each stage. In a cloud of its own: target tracking needs a running ECS service behind a target group."""
    with private_cloud("labkit-lab03-step7-"):
        ec2, ecs, elbv2 = boto3.client("ec2"), boto3.client("ecs"), boto3.client("elbv2")
        autoscaling = boto3.client("application-autoscaling")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        balancer_group = open_to_the_internet("bookshop-alb", vpc, 80, 80)
        tasks = ec2.create_security_group(GroupName="bookshop-tasks", Description="tasks", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=tasks, IpPermissions=[from_the_balancer(balancer_group)])
        balancer, group = echo_service_behind_a_balancer("bookshop", "orders", balancer_group, tasks, desired=2)
        healthwait.wait_for_healthy_targets(group, minimum=2, timeout_s=60)
        resource = "service/bookshop/orders"
        found = result("autoscaling")
        assert (found.status, found.message) == (
            "not done yet",
            "there is no scalable target 'service/bookshop/orders' yet: register it with register_scalable_target "
            "in step 7",
        )

        def scalable(low: int, high: int) -> None:
            autoscaling.register_scalable_target(
                ServiceNamespace="ecs",
                ResourceId=resource,
                ScalableDimension="ecs:service:DesiredCount",
                MinCapacity=low,
                MaxCapacity=high,
            )

        def policy(name: str, kind: str, **configuration) -> None:
            autoscaling.put_scaling_policy(
                PolicyName=name,
                ServiceNamespace="ecs",
                ResourceId=resource,
                ScalableDimension="ecs:service:DesiredCount",
                PolicyType=kind,
                **configuration,
            )

        def on_requests(target: float) -> dict:
            label = f"{balancer.split(':loadbalancer/')[1]}/{group.split(':')[-1]}"
            return {
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": target,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ALBRequestCountPerTarget",
                        "ResourceLabel": label,
                    },
                }
            }

        try:
            scalable(2, 2)
            found = result("autoscaling")
            assert (found.status, found.message) == (
                "failed",
                "expected a minimum of at least 2 tasks and a higher maximum, found 2 to 2",
            )
            scalable(2, 4)
            policy(
                "orders-steps",
                "StepScaling",
                StepScalingPolicyConfiguration={
                    "AdjustmentType": "ChangeInCapacity",
                    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
                },
            )
            found = result("autoscaling")
            assert (found.status, found.message) == (
                "failed",
                "expected a target tracking policy on ALBRequestCountPerTarget, found 'orders-steps' (StepScaling)",
            )
            policy("orders-requests", "TargetTrackingScaling", **on_requests(100000.0))
            found = result("autoscaling")
            assert (found.status, found.message) == (
                "not done yet",
                "no scale-out yet: the load balancer has counted no request to the orders tasks since the policy was "
                "put; run the cell that puts load on the service (your TargetValue: 100000)",
            )
            orders = urls.url_for(balancer) + "/orders/1"
            with load.HttpLoad(orders):
                wait_for(lambda: result("autoscaling").status == "failed", 20, "the check to see the load")
            found = result("autoscaling")
            assert re.fullmatch(
                r"expected a scale-out under the lab's load, found none: its busiest minute had about \d+ requests "
                r"per task, under your TargetValue of 100000, so the high alarm never fires; choose a target the "
                r"load exceeds and run the load again",
                found.message,
            ), found.message
            policy("orders-requests", "TargetTrackingScaling", **on_requests(5.0))
            with load.HttpLoad(orders):
                wait_for(lambda: result("autoscaling").status == "passed", 30, "a scale-out")
        finally:
            autoscaling.deregister_scalable_target(
                ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount"
            )
            remove_service(
                ecs,
                "bookshop",
                "orders",
                then=lambda: (
                    elbv2.delete_load_balancer(LoadBalancerArn=balancer),
                    elbv2.delete_target_group(TargetGroupArn=group),
                ),
            )

"""Lab 03's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook passes every check (test_labs.py); here, one mistake at a time. The load
balancer's targets are small HTTP servers in this process: one stands for the monolith, one for
the orders service (it sets X-Served-By, as services/orders does)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from support import on_premises, open_to_the_internet

from labkit import labs

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
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="bookshop")
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
def front_door(alb_group):
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

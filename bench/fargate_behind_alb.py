"""A Fargate service behind an Application Load Balancer, as a bench deploys it on the local cloud and as on
AWS: in the default VPC's first two subnets, a group for the load balancer that admits the internet on 80 and
a group for the tasks that admits the load balancer on the tasks' port."""

from dataclasses import dataclass

import requests

CLUSTER = "bench"
TASK_PORT = 8080


@dataclass(frozen=True)
class LoadBalancedNetwork:
    vpc: str
    subnets: list[str]
    tasks_group: str
    balancer_arn: str


def load_balanced_network(ec2, elb, name: str = "bench") -> LoadBalancedNetwork:
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    web = ec2.create_security_group(GroupName=f"{name}-web", Description="the ALB", VpcId=vpc)["GroupId"]
    tasks = ec2.create_security_group(GroupName=f"{name}-tasks", Description="the tasks", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": TASK_PORT, "ToPort": TASK_PORT, "UserIdGroupPairs": [{"GroupId": web}]}
        ],
    )
    balancer = elb.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[web])["LoadBalancers"][0]
    return LoadBalancedNetwork(vpc, subnets, tasks, balancer["LoadBalancerArn"])


def listener_url(endpoint: str, balancer_arn: str) -> str:
    """The URL the local cloud serves the load balancer's first listener at (its /_labkit/loadbalancers)."""
    found = requests.get(endpoint + "/_labkit/loadbalancers", timeout=5).json()["LoadBalancers"]
    return next(b for b in found if b["LoadBalancerArn"] == balancer_arn)["Listeners"][0]["Url"]


def register_task_definition(ecs, family: str, container: str, image_uri: str, environment: dict | None = None):
    """A Fargate task of one container listening on the tasks' port."""
    ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": container,
                "image": image_uri,
                "essential": True,
                "portMappings": [{"containerPort": TASK_PORT}],
                "environment": [{"name": key, "value": value} for key, value in (environment or {}).items()],
            }
        ],
    )


def create_service(ecs, network: LoadBalancedNetwork, name: str, count: int, load_balancer: dict, **options) -> None:
    """A Fargate service of the task definition of its name, in the cluster, its tasks in the network's subnets
    and tasks' group, behind the load balancer's target group (`load_balancer`: the containerName and the
    targetGroupArn, and whatever more)."""
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=name,
        taskDefinition=name,
        desiredCount=count,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": network.subnets, "securityGroups": [network.tasks_group]}
        },
        loadBalancers=[{"containerPort": TASK_PORT, **load_balancer}],
        **options,
    )

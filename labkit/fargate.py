"""A front door for a lab's ECS services, as lab 03 taught it to build by hand: the default VPC's subnets, a
load balancer open on port 80, tasks that admit only the load balancer's security group, target groups
checked on /health, and services rolled out until their targets are healthy. Plain boto3 on both targets;
each call finds what an earlier run made before it creates anything."""

from dataclasses import dataclass

import boto3

from labkit import healthwait, urls, waits
from labkit.errors import LabkitError

CONTAINER_PORT = 8080
CONTAINER = "payments"  # the container the load balancer sends requests to, in every task definition
HEALTH_CHECK = {"HealthCheckPath": "/health", "HealthCheckIntervalSeconds": 10, "HealthyThresholdCount": 2}


@dataclass(frozen=True)
class FrontDoor:
    cluster: str
    subnets: list[str]
    alb_group: str
    tasks_group: str
    vpc_id: str
    listener_arn: str
    url: str


def front_door(env, name: str) -> FrontDoor:
    """The cluster, load balancer, listener and security groups env.name(name), made once. The listener
    answers 404 until a rule or the default action forwards to a service (set_default, route)."""
    ec2, elbv2, ecs = boto3.client("ec2"), boto3.client("elbv2"), boto3.client("ecs")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    by_zone = {}
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    subnets = [by_zone[zone] for zone in sorted(by_zone)][:2]
    alb_group = _security_group(env, vpc_id, env.name(f"{name}-alb"), f"The {name} load balancer")
    tasks_group = _security_group(env, vpc_id, env.name(f"{name}-tasks"), f"The {name} ECS tasks")
    _allow(alb_group, {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    _allow(
        tasks_group,
        {
            "IpProtocol": "tcp",
            "FromPort": CONTAINER_PORT,
            "ToPort": CONTAINER_PORT,
            "UserIdGroupPairs": [{"GroupId": alb_group}],
        },
    )
    balancer_arn = elbv2.create_load_balancer(  # the same name and settings again return the one that exists
        Name=env.name(name),
        Subnets=subnets,
        SecurityGroups=[alb_group],
        Scheme="internet-facing",
        Type="application",
        Tags=env.tag_list(),
    )["LoadBalancers"][0]["LoadBalancerArn"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer_arn)["Listeners"]
    not_found = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}
    listener_arn = (
        listeners[0]["ListenerArn"]
        if listeners
        else elbv2.create_listener(
            LoadBalancerArn=balancer_arn, Protocol="HTTP", Port=80, DefaultActions=[not_found], Tags=env.tag_list()
        )["Listeners"][0]["ListenerArn"]
    )
    if not [c for c in ecs.describe_clusters(clusters=[env.name(name)])["clusters"] if c["status"] == "ACTIVE"]:
        ecs.create_cluster(clusterName=env.name(name), tags=env.tag_list("key", "value"))
    return FrontDoor(env.name(name), subnets, alb_group, tasks_group, vpc_id, listener_arn, urls.url_for(balancer_arn))


def target_group(env, door: FrontDoor, name: str) -> str:
    """The HTTP target group env.name(name) of IP targets on port 8080, checked on /health; a stopping task
    drains for 5 seconds (the default, 300, would slow every redeployment)."""
    elbv2 = boto3.client("elbv2")
    try:
        arn = elbv2.describe_target_groups(Names=[env.name(name)])["TargetGroups"][0]["TargetGroupArn"]
    except elbv2.exceptions.TargetGroupNotFoundException:
        arn = elbv2.create_target_group(
            Name=env.name(name),
            Protocol="HTTP",
            Port=CONTAINER_PORT,
            VpcId=door.vpc_id,
            TargetType="ip",
            Tags=env.tag_list(),
            **HEALTH_CHECK,
        )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}]
    )
    return arn


def forward(door: FrontDoor, group_arn: str, header: tuple[str, str] | None = None, priority: int = 10) -> None:
    """Send the listener's requests to the group: all of them (the default action), or those with the header."""
    elbv2 = boto3.client("elbv2")
    action = [{"Type": "forward", "TargetGroupArn": group_arn}]
    if header is None:
        elbv2.modify_listener(ListenerArn=door.listener_arn, DefaultActions=action)
        return
    condition = [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": header[0], "Values": [header[1]]}}]
    rules = [r for r in elbv2.describe_rules(ListenerArn=door.listener_arn)["Rules"] if r["Priority"] == str(priority)]
    if rules:
        elbv2.modify_rule(RuleArn=rules[0]["RuleArn"], Conditions=condition, Actions=action)
    else:
        elbv2.create_rule(ListenerArn=door.listener_arn, Priority=priority, Conditions=condition, Actions=action)


def run_service(env, door: FrontDoor, name: str, task_definition_arn: str, group_arn: str, count: int = 1) -> dict:
    """Create the ECS service `name` of `count` tasks behind the group (their container CONTAINER on 8080), or
    roll the new task definition out to it; returns it once its tasks run that revision and are healthy."""
    ecs = boto3.client("ecs")
    existing = [
        s for s in ecs.describe_services(cluster=door.cluster, services=[name])["services"] if s["status"] == "ACTIVE"
    ]
    if existing:
        ecs.update_service(cluster=door.cluster, service=name, taskDefinition=task_definition_arn, desiredCount=count)
    else:
        ecs.create_service(
            cluster=door.cluster,
            serviceName=name,
            taskDefinition=task_definition_arn,
            desiredCount=count,
            launchType="FARGATE",
            tags=env.tag_list("key", "value"),
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": door.subnets,
                    "securityGroups": [door.tasks_group],
                    "assignPublicIp": "ENABLED",
                }
            },
            loadBalancers=[{"targetGroupArn": group_arn, "containerName": CONTAINER, "containerPort": CONTAINER_PORT}],
        )
    return wait_until_rolled_out(door, name, group_arn, count)


def redeploy(door: FrontDoor, name: str, group_arn: str) -> dict:
    """New tasks for the service, with the same task definition: what a task reads at start is read again."""
    ecs = boto3.client("ecs")
    service = ecs.update_service(cluster=door.cluster, service=name, forceNewDeployment=True)["service"]
    return wait_until_rolled_out(door, name, group_arn, service["desiredCount"])


def wait_until_rolled_out(door: FrontDoor, name: str, group_arn: str, count: int) -> dict:
    ecs = boto3.client("ecs")

    def stable():
        service = ecs.describe_services(cluster=door.cluster, services=[name])["services"][0]
        rolled_out = (
            len(service["deployments"]) == 1
            and service["runningCount"] == service["desiredCount"]
            and service["deployments"][0].get("rolloutState", "COMPLETED") == "COMPLETED"
        )
        latest = (service.get("events") or [{"message": "no event yet"}])[0]["message"]
        state = (
            f"{service['runningCount']} of {service['desiredCount']} running, {len(service['deployments'])} "
            f"deployment(s); latest event: {latest}"
        )
        if rolled_out:
            return service, state
        failed = _failed_to_start(ecs, door.cluster, name, service)
        if len(failed) >= GIVE_UP_AFTER_FAILED_STARTS:
            raise LabkitError(
                f"the {name} service's tasks do not start: {len(failed)} stopped before running, the latest with "
                f"{failed[0]['stoppedReason']}"
            )
        return None, state + (f"; a task stopped before running: {failed[0]['stoppedReason']}" if failed else "")

    service = waits.wait_for(f"the {name} service to be stable", stable, timeout_s=waits.minutes(10, at_least_s=60))
    healthwait.wait_for_healthy_targets(group_arn, minimum=count, service=(door.cluster, name))
    return service


# A task that fails to start may be bad luck (IAM takes seconds to apply a new role everywhere); this many in one
# deployment is a mistake in the task definition or its roles, which waiting will not mend.
GIVE_UP_AFTER_FAILED_STARTS = 3


def _failed_to_start(ecs, cluster: str, name: str, service: dict) -> list[dict]:
    """The service's tasks of its newest deployment that stopped before they ran (ECS's stopCode
    TaskFailedToStart: a secret it could not read, an image it could not pull...), the latest first."""
    newest = next((d for d in service["deployments"] if d.get("status") == "PRIMARY"), None)
    if newest is None:
        return []
    since = newest.get("createdAt")
    arns = ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus="STOPPED")["taskArns"]
    stopped = ecs.describe_tasks(cluster=cluster, tasks=arns[:100])["tasks"] if arns else []
    failed = [
        task
        for task in stopped
        if task.get("stopCode") == "TaskFailedToStart"
        and task.get("taskDefinitionArn") == newest.get("taskDefinition")
        and (since is None or task.get("createdAt") is None or task["createdAt"] >= since)
        and task.get("stoppedReason")
    ]
    return sorted(failed, key=lambda task: str(task.get("stoppedAt") or task.get("createdAt") or ""), reverse=True)


def _security_group(env, vpc_id: str, name: str, description: str) -> str:
    ec2 = boto3.client("ec2")
    found = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    if found:
        return found[0]["GroupId"]
    return ec2.create_security_group(
        GroupName=name,
        Description=description,
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": env.tag_list()}],
    )["GroupId"]


def _allow(group_id: str, permission: dict) -> None:
    ec2 = boto3.client("ec2")
    try:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])
    except ec2.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "InvalidPermission.Duplicate":
            raise

"""Lab 03 · orders on ECS Fargate behind an Application Load Balancer, and the strangler fig."""

import re
import time

from botocore.exceptions import ClientError, ParamValidationError

from labkit.checks import Lab

lab = Lab("03", "Orders on ECS Fargate behind an ALB")

REPOSITORY, CLUSTER, FAMILY, SERVICE = "orders", "bookshop", "orders", "orders"
BALANCER, MONOLITH_GROUP, ORDERS_GROUP = "bookshop", "monolith", "orders"
CONTAINER, CONTAINER_PORT = "orders", 8080
TABLE, TASKS_GROUP, HEALTH_PATH = "orders", "bookshop-tasks", "/health"
STOP_REASON = "lab 03: a task dies"
ORDER_PATHS = ("/orders", "/orders/*", "/users/*/orders")
MIN_TASKS = 2
BALANCER_FIX = "create it in step 3"


@lab.check(
    "image",
    "The orders image is in its ECR repository",
    step=1,
    hints=[
        'images.build("services/orders", tag=env.name("orders") + ":1")',
    ],
)
def image_is_in_ecr(ctx):
    repository = ctx.env.name(REPOSITORY)
    with ctx.not_done_if_missing(f"ECR repository {repository!r}", "build the image in step 1"):
        details = ctx.client("ecr").describe_images(repositoryName=repository)["imageDetails"]
    tags = sorted(tag for detail in details for tag in detail.get("imageTags", []))
    ctx.expect("1" in tags, f"expected the tag '1' in the repository {repository}, found {tags or 'no tag'}")


@lab.check(
    "task-definition",
    "The orders task definition runs the image on Fargate",
    step=2,
    hints=[
        'ecs.register_task_definition(family=env.name("orders"), requiresCompatibilities=["FARGATE"], '
        'networkMode="awsvpc", cpu="256", memory="512", executionRoleArn=..., taskRoleArn=..., '
        'containerDefinitions=[{...}], tags=env.tag_list("key", "value"))',
        'The container: name "orders", image image.uri, portMappings [{"containerPort": 8080}], environment '
        'ORDERS_TABLE and BOOKSHOP_URL, logConfiguration {"logDriver": "awslogs", "options": {...}}.',
    ],
)
def task_definition_is_fargate_ready(ctx):
    ecs = ctx.client("ecs")
    clusters = ecs.describe_clusters(clusters=[ctx.env.name(CLUSTER)])["clusters"]
    if not clusters or clusters[0]["status"] != "ACTIVE":
        ctx.missing(f"active cluster {ctx.env.name(CLUSTER)!r}", "create it in step 2")
    definition = _task_definition(ctx)
    ctx.expect(
        "FARGATE" in definition.get("requiresCompatibilities", []),
        f"expected requiresCompatibilities ['FARGATE'], found {definition.get('requiresCompatibilities')}",
    )
    ctx.expect(
        definition.get("networkMode") == "awsvpc",
        f"expected networkMode 'awsvpc' (Fargate's only mode), found {definition.get('networkMode')!r}",
    )
    ctx.expect(
        definition.get("taskRoleArn"), "expected a taskRoleArn: the role the service's code runs as, to reach its table"
    )
    containers = {c["name"]: c for c in definition["containerDefinitions"]}
    container = containers.get(CONTAINER)
    ctx.expect(container is not None, f"expected a container named {CONTAINER!r}, found {sorted(containers)}")
    repository = ctx.env.name(REPOSITORY)
    ctx.expect(
        f"/{repository}:" in container["image"] or f"/{repository}@" in container["image"],
        f"expected the image from the ECR repository {repository}, found {container['image']}",
    )
    ports = [m.get("containerPort") for m in container.get("portMappings", [])]
    ctx.expect(
        CONTAINER_PORT in ports, f"expected a port mapping for container port {CONTAINER_PORT}, found {ports or 'none'}"
    )
    names = {item["name"] for item in container.get("environment", [])}
    ctx.expect(
        {"ORDERS_TABLE", "BOOKSHOP_URL"} <= names,
        f"expected the environment variables ORDERS_TABLE and BOOKSHOP_URL, found {sorted(names)}",
    )
    driver = container.get("logConfiguration", {}).get("logDriver")
    ctx.expect(driver == "awslogs", f"expected the awslogs log driver, found {driver!r}")
    _expect_the_orders_table(ctx, container)


def _expect_the_orders_table(ctx, container: dict) -> None:
    """ORDERS_TABLE must name the table made for the lab: any other name fails only at the first request,
    as a 500 whose cause is in the task's log group."""
    named = next(item.get("value") for item in container["environment"] if item["name"] == "ORDERS_TABLE")
    table = ctx.env.name(TABLE)
    dynamodb = ctx.client("dynamodb")
    try:
        dynamodb.describe_table(TableName=named)
        found = f"{named!r}"
    except (ClientError, ParamValidationError):  # not found, or a name DynamoDB refuses outright, such as ""
        found = f"{named!r}, which is no DynamoDB table"
    log_group = container.get("logConfiguration", {}).get("options", {}).get("awslogs-group", "its log group")
    ctx.expect(
        named == table,
        f"expected ORDERS_TABLE to name the orders table {table!r}, found {found}: every request that reads or "
        f"writes an order would answer 500, its error in the tasks' log group {log_group}",
    )


def _task_definition(ctx) -> dict:
    ecs = ctx.client("ecs")
    try:
        return ecs.describe_task_definition(taskDefinition=ctx.env.name(FAMILY))["taskDefinition"]
    except ecs.exceptions.ClientException:  # ECS's answer for an unknown family: it has no "not found" error
        ctx.missing(f"task definition {ctx.env.name(FAMILY)!r}", "register it in step 2")


@lab.check(
    "load-balancer",
    "The load balancer's listener sends the Bookshop's traffic to the monolith",
    step=3,
    hints=[
        'allow(alb_group, {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}), '
        'and the same for tasks_group on 8080 with "UserIdGroupPairs": [{"GroupId": alb_group}]',
        'create_load_balancer(Name=env.name("bookshop"), SecurityGroups=[alb_group], ...), '
        'create_target_group(Name=env.name("monolith"), TargetType="ip", HealthCheckPath="/health", ...)',
        'create_listener(LoadBalancerArn=..., Protocol="HTTP", Port=80, '
        'DefaultActions=[{"Type": "forward", "TargetGroupArn": monolith_group}])',
        "A target group that exists keeps its settings: create_target_group with other settings is refused "
        "(DuplicateTargetGroupName); change them with elbv2.modify_target_group(TargetGroupArn=..., "
        'HealthCheckPath="/health"), as target_group() does.',
    ],
)
def load_balancer_fronts_the_monolith(ctx):
    balancer = _balancer(ctx)
    _expect_open_to_the_internet(ctx, balancer, 80)
    _expect_tasks_reached_only_through(ctx, balancer, CONTAINER_PORT)
    listeners = ctx.client("elbv2").describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    if not listeners:
        ctx.not_done(f"the load balancer {balancer['LoadBalancerName']} has no listener yet")
    monolith = _target_group(ctx, MONOLITH_GROUP)
    default = [a.get("TargetGroupArn") for a in listeners[0]["DefaultActions"] if a["Type"] == "forward"]
    ctx.expect(
        default == [monolith["TargetGroupArn"]],
        f"expected the listener's default action to forward to the target group "
        f"{monolith['TargetGroupName']}, found {listeners[0]['DefaultActions']}",
    )
    _expect_health_check_path(ctx, monolith)
    health = ctx.client("elbv2").describe_target_health(TargetGroupArn=monolith["TargetGroupArn"])
    states = [h["TargetHealth"] for h in health["TargetHealthDescriptions"]]
    ctx.expect(
        any(h["State"] == "healthy" for h in states),
        f"expected the monolith to be a healthy target of {monolith['TargetGroupName']}, found "
        + (", ".join(_described(h) for h in states) or "no target"),
    )
    books = ctx.get(_url(ctx) + "/books")
    ctx.expect(
        books.status_code == 200 and isinstance(books.json(), list),
        f"expected GET /books through the load balancer to answer 200 with the books, found "
        f"{books.status_code}: {books.text[:120]}",
    )


@lab.check(
    "service",
    "Two or more orders tasks run, healthy behind the load balancer and in Cloud Map",
    step=4,
    hints=[
        'create_service(cluster=..., serviceName="orders", desiredCount=2, launchType="FARGATE", '
        'networkConfiguration={...}, loadBalancers=[{"targetGroupArn": orders_group, "containerName": '
        '"orders", "containerPort": 8080}], serviceRegistries=[{"registryArn": registry_arn}])',
        'describe_services(...)["services"][0]["events"] says why tasks do not start; the tasks\' output is in '
        "the log group /ecs/orders.",
        "The orders target group checks HealthCheckPath /health; a group that exists is changed with "
        "elbv2.modify_target_group, not created again.",
    ],
)
def service_runs_behind_the_load_balancer(ctx):
    service = _service(ctx)
    ctx.expect(
        service["desiredCount"] >= MIN_TASKS,
        f"expected a desired count of at least {MIN_TASKS}, found {service['desiredCount']}",
    )
    ctx.expect(
        service["runningCount"] == service["desiredCount"],
        f"expected {service['desiredCount']} running tasks, found {service['runningCount']}: "
        f"{(service.get('events') or [{}])[0].get('message', 'wait a few seconds and check again')}",
    )
    orders = _target_group(ctx, ORDERS_GROUP)
    attached = [lb.get("targetGroupArn") for lb in service.get("loadBalancers", [])]
    ctx.expect(
        orders["TargetGroupArn"] in attached,
        f"expected the service to register its tasks in {orders['TargetGroupName']}, found "
        f"{attached or 'no load balancer'}",
    )
    _expect_health_check_path(ctx, orders)
    states = _target_states(ctx, orders)
    ctx.expect(
        states.count("healthy") >= service["runningCount"],
        f"expected {service['runningCount']} healthy targets in {orders['TargetGroupName']}, found {states or 'none'}",
    )
    ctx.expect(
        service.get("serviceRegistries"), "expected the service to register its tasks in Cloud Map (serviceRegistries)"
    )
    unknown = ctx.get(_url(ctx) + "/orders/no-such-order", headers={"X-Bookshop-Preview": "orders"})
    if "X-Served-By" in unknown.headers and unknown.status_code >= 500:
        ctx.fail(
            f"expected the orders service to answer 404 for an unknown order, found {unknown.status_code}; "
            + _last_error(ctx, _task_definition(ctx))
        )


@lab.check(
    "strangler",
    "The load balancer sends orders to the new service and the rest to the monolith",
    step=5,
    hints=[
        'elbv2.create_rule(ListenerArn=listener_arn, Priority=10, Conditions=[{"Field": "path-pattern", '
        '"PathPatternConfig": {"Values": ["/orders", "/orders/*", "/users/*/orders"]}}], '
        'Actions=[{"Type": "forward", "TargetGroupArn": orders_group}])',
    ],
)
def orders_go_to_the_new_service(ctx):
    url = _url(ctx)
    missing = ctx.get(url + "/orders/no-such-order")
    if "X-Served-By" not in missing.headers:
        ctx.not_done(
            "GET /orders/... through the load balancer still reaches the monolith: add the rule "
            "that forwards the orders paths to the orders target group"
        )
    ctx.expect(
        missing.status_code == 404,
        f"expected 404 from the orders service for an unknown order, found {missing.status_code}",
    )
    listed = ctx.get(url + "/users/1/orders")
    ctx.expect(
        "X-Served-By" in listed.headers,
        "expected GET /users/1/orders to reach the orders service too (path /users/*/orders), "
        "found the monolith answering",
    )
    books = ctx.get(url + "/books/1")
    ctx.expect(
        books.status_code == 200 and "X-Served-By" not in books.headers,
        f"expected GET /books/1 to stay with the monolith, found {books.status_code} "
        f"{'from the orders service' if 'X-Served-By' in books.headers else ''}".strip(),
    )


@lab.check(
    "healed",
    "A stopped task was replaced and the service is back to its tasks",
    step=6,
    hints=[
        'ecs.stop_task(cluster=cluster, task=running_before[0], reason="lab 03: a task dies")',
    ],
)
def a_stopped_task_was_replaced(ctx):
    service = _service(ctx)
    stopped = _tasks(ctx, "STOPPED")
    ours = [t for t in stopped if t.get("stoppedReason") == STOP_REASON]
    if not ours:
        others = sorted({t.get("stoppedReason", "no reason") for t in stopped})
        ctx.not_done(
            f"no task of the orders service was stopped with the reason {STOP_REASON!r} yet"
            + (f" (stopped by ECS itself: {'; '.join(others)})" if others else "")
            + f': stop one with ecs.stop_task(cluster=cluster, task=..., reason="{STOP_REASON}")'
        )
    ctx.expect(
        service["runningCount"] >= MIN_TASKS,
        f"expected the service back to at least {MIN_TASKS} running tasks, found {service['runningCount']}",
    )
    stopped_at = max(t.get("stoppingAt") or t.get("stoppedAt") or t["createdAt"] for t in ours)
    newer = [t for t in _tasks(ctx, "RUNNING") if t["createdAt"] >= stopped_at]
    ctx.expect(
        newer,
        f"expected a task started after the one you stopped (at {stopped_at:%H:%M:%S}), found none: "
        "ECS starts a replacement within seconds; wait and check again",
    )


@lab.check(
    "autoscaling",
    "Target tracking on requests per task scaled the service out",
    step=7,
    hints=[
        "min_tasks of at least 2 and a max_tasks above it; a target_requests_per_task the load (hundreds of "
        "requests per task per minute) exceeds and the trickle (4 a minute) does not, such as 20.",
        "target_requests_per_task = 20.0; min_tasks, max_tasks = 2, 4; scale_out_cooldown_s, scale_in_cooldown_s "
        "= 60, 60",
    ],
)
def service_scales_with_requests(ctx):
    autoscaling = ctx.client("application-autoscaling")
    resource = f"service/{ctx.env.name(CLUSTER)}/{SERVICE}"
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])
    if not targets["ScalableTargets"]:
        ctx.missing(f"scalable target {resource!r}", "register it with register_scalable_target in step 7")
    target = targets["ScalableTargets"][0]
    ctx.expect(
        target["MinCapacity"] >= MIN_TASKS and target["MaxCapacity"] > target["MinCapacity"],
        f"expected a minimum of at least {MIN_TASKS} tasks and a higher maximum, found "
        f"{target['MinCapacity']} to {target['MaxCapacity']}",
    )
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
    metrics = [_tracked_metric(p) for p in policies]
    ctx.expect(
        "ALBRequestCountPerTarget" in metrics,
        "expected a target tracking policy on ALBRequestCountPerTarget, found "
        + (", ".join(_described_policy(p) for p in policies) or "no policy"),
    )
    activities = autoscaling.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=resource)
    counts = [
        int(a["Description"].rstrip(".").rsplit(" ", 1)[-1])
        for a in activities["ScalingActivities"]
        if a["StatusCode"] == "Successful" and a["Description"].startswith("Setting desired count")
    ]
    if not any(count > target["MinCapacity"] for count in counts):
        tracking = next(
            p["TargetTrackingScalingPolicyConfiguration"]
            for p in policies
            if _tracked_metric(p) == "ALBRequestCountPerTarget"
        )
        wanted = tracking["TargetValue"]
        busiest = _busiest_minute(ctx)
        if busiest is None:
            ctx.not_done(
                f"no scale-out yet: the load balancer has counted no request to the orders tasks since the policy "
                f"was put; run the cell that puts load on the service (your TargetValue: {wanted:g})"
            )
        if busiest <= wanted:
            ctx.fail(
                f"expected a scale-out under the lab's load, found none: its busiest minute had about "
                f"{busiest:.0f} requests per task, under your TargetValue of {wanted:g}, so the high alarm never "
                "fires; choose a target the load exceeds and run the load again"
            )
        ctx.not_done(
            f"no scale-out yet: the busiest minute had about {busiest:.0f} requests per task, over your TargetValue "
            f"of {wanted:g}; target tracking scales out after 3 such minutes in a row: keep the load on"
        )


def _tracked_metric(policy: dict) -> str | None:
    configuration = policy.get("TargetTrackingScalingPolicyConfiguration", {})
    return configuration.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")


def _described_policy(policy: dict) -> str:
    """A policy in a few words: its name, its type, and what a target tracking policy tracks."""
    metric = _tracked_metric(policy) or ("a custom metric" if policy["PolicyType"] == "TargetTrackingScaling" else "")
    return f"{policy['PolicyName']!r} ({policy['PolicyType']}{' on ' + metric if metric else ''})"


def _balancer(ctx) -> dict:
    with ctx.not_done_if_missing(f"load balancer {ctx.env.name(BALANCER)!r}", BALANCER_FIX):
        return ctx.client("elbv2").describe_load_balancers(Names=[ctx.env.name(BALANCER)])["LoadBalancers"][0]


def _expect_open_to_the_internet(ctx, balancer: dict, port: int) -> None:
    groups = balancer.get("SecurityGroups") or []
    found = ctx.client("ec2").describe_security_groups(GroupIds=groups)["SecurityGroups"] if groups else []
    opened = any(
        (rule["IpProtocol"] == "-1" or (rule["IpProtocol"] == "tcp" and rule["FromPort"] <= port <= rule["ToPort"]))
        and any(r.get("CidrIp") == "0.0.0.0/0" for r in rule.get("IpRanges", []))
        for group in found
        for rule in group.get("IpPermissions", [])
    )
    ctx.expect(
        opened,
        f"expected the load balancer's security group to admit TCP port {port} from anywhere (0.0.0.0/0), found "
        f"no such inbound rule in {', '.join(groups) or 'no security group'}: customers could not connect",
    )


def _described(health: dict) -> str:
    """A target's state with AWS's reason, as the console shows it: "unhealthy (Request timed out)"."""
    return health["State"] + (f" ({health['Description']})" if health.get("Description") else "")


def _url(ctx) -> str:
    return ctx.load_balancer_url(ctx.env.name(BALANCER), fix=BALANCER_FIX)


def _target_group(ctx, name: str) -> dict:
    with ctx.not_done_if_missing(f"target group {ctx.env.name(name)!r}"):
        return ctx.client("elbv2").describe_target_groups(Names=[ctx.env.name(name)])["TargetGroups"][0]


def _target_states(ctx, group: dict) -> list[str]:
    health = ctx.client("elbv2").describe_target_health(TargetGroupArn=group["TargetGroupArn"])
    return sorted(t["TargetHealth"]["State"] for t in health["TargetHealthDescriptions"])


def _service(ctx) -> dict:
    with ctx.not_done_if_missing(f"cluster {ctx.env.name(CLUSTER)!r}", "create it in step 2"):
        found = ctx.client("ecs").describe_services(cluster=ctx.env.name(CLUSTER), services=[SERVICE])
    active = [s for s in found.get("services", []) if s["status"] == "ACTIVE"]
    if not active:
        ctx.missing(f"orders service in the cluster {ctx.env.name(CLUSTER)!r}", "create it in step 4")
    return active[0]


def _expect_tasks_reached_only_through(ctx, balancer: dict, port: int) -> None:
    """The tasks' group admits the port from the load balancer's group, and from no address range."""
    name = ctx.env.name(TASKS_GROUP)
    found = ctx.client("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [balancer["VpcId"]]}, {"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    if not found:
        ctx.missing(f"security group {name!r}", "run step 3's cell: it makes the group, then your rules fill it")
    rules = [
        rule
        for rule in found[0].get("IpPermissions", [])
        if rule["IpProtocol"] == "-1" or (rule["IpProtocol"] == "tcp" and rule["FromPort"] <= port <= rule["ToPort"])
    ]
    ranges = [r["CidrIp"] for rule in rules for r in rule.get("IpRanges", [])] + [
        r["CidrIpv6"] for rule in rules for r in rule.get("Ipv6Ranges", [])
    ]
    balancer_groups = balancer.get("SecurityGroups") or []
    ctx.expect(
        not ranges,
        f"expected the tasks' group {name} to admit {port} only from the load balancer's group "
        f"{', '.join(balancer_groups)}, found {', '.join(ranges)}: whoever reaches a task's address would skip "
        "the load balancer",
    )
    admitted = [pair["GroupId"] for rule in rules for pair in rule.get("UserIdGroupPairs", [])]
    ctx.expect(
        any(group in admitted for group in balancer_groups),
        f"expected the tasks' group {name} to admit TCP port {port} from the load balancer's group "
        f"{', '.join(balancer_groups)}, found {', '.join(admitted) or 'no such inbound rule'}: the load balancer's "
        "health checks would get no answer (Request timed out)",
    )


def _expect_health_check_path(ctx, group: dict) -> None:
    path = group.get("HealthCheckPath")
    ctx.expect(
        path == HEALTH_PATH,
        f"expected the target group {group['TargetGroupName']} to check {HEALTH_PATH}, the path the services "
        f"answer with 200, found {path!r}: change it with elbv2.modify_target_group(TargetGroupArn=..., "
        f'HealthCheckPath="{HEALTH_PATH}")',
    )


def _tasks(ctx, status: str) -> list[dict]:
    ecs, cluster = ctx.client("ecs"), ctx.env.name(CLUSTER)
    arns = ecs.list_tasks(cluster=cluster, serviceName=SERVICE, desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


# The last line of a Python traceback, as the tasks write it to their log group.
_ERROR_LINE = re.compile(r"^[\w.]*(Error|Exception)\b.*")


def _last_error(ctx, definition: dict) -> str:
    """Where a 500 came from: the latest error line in the tasks' log group, in the last five minutes."""
    container = next(c for c in definition["containerDefinitions"] if c["name"] == CONTAINER)
    log_group = container.get("logConfiguration", {}).get("options", {}).get("awslogs-group")
    if not log_group:
        return "the tasks send their output to no log group (logConfiguration)"
    since = int((time.time() - 300) * 1000)
    logs, lines, token = ctx.client("logs"), [], None
    for _ in range(20):
        more = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName=log_group, startTime=since, **more)
        lines += [e["message"].strip() for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    if not errors:
        return f"the tasks' log group {log_group} shows no error in the last five minutes"
    return f"the tasks' log group {log_group} says: {errors[-1][:300]}"


def _busiest_minute(ctx) -> float | None:
    """About the most requests per task in a minute, from the load balancer's RequestCountPerTarget."""
    group = _target_group(ctx, ORDERS_GROUP)
    now = time.time()
    found = ctx.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName="RequestCountPerTarget",
        Dimensions=[{"Name": "TargetGroup", "Value": group["TargetGroupArn"].split(":")[-1]}],
        StartTime=now - 3 * 3600,
        EndTime=now + 60,
        Period=60,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    per_minute = [point["Sum"] / point["SampleCount"] for point in found if point.get("SampleCount")]
    return max(per_minute) if per_minute else None

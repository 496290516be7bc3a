"""Lab 03 · orders on ECS Fargate behind an Application Load Balancer, and the strangler fig."""

from labkit.checks import Lab

lab = Lab("03", "Orders on ECS Fargate behind an ALB")

REPOSITORY, CLUSTER, FAMILY, SERVICE = "orders", "bookshop", "orders", "orders"
BALANCER, MONOLITH_GROUP, ORDERS_GROUP = "bookshop", "monolith", "orders"
CONTAINER, CONTAINER_PORT = "orders", 8080
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
    ],
)
def load_balancer_fronts_the_monolith(ctx):
    balancer = _balancer(ctx)
    _expect_open_to_the_internet(ctx, balancer, 80)
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
    states = _target_states(ctx, orders)
    ctx.expect(
        states.count("healthy") >= service["runningCount"],
        f"expected {service['runningCount']} healthy targets in {orders['TargetGroupName']}, found {states or 'none'}",
    )
    ctx.expect(
        service.get("serviceRegistries"), "expected the service to register its tasks in Cloud Map (serviceRegistries)"
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
    ecs = ctx.client("ecs")
    service = _service(ctx)
    stopped = ecs.list_tasks(cluster=ctx.env.name(CLUSTER), serviceName=SERVICE, desiredStatus="STOPPED")["taskArns"]
    if not stopped:
        ctx.not_done("no task of the orders service has stopped yet: stop one with ecs.stop_task")
    ctx.expect(
        service["runningCount"] >= MIN_TASKS,
        f"expected the service back to at least {MIN_TASKS} running tasks, found {service['runningCount']}",
    )


@lab.check(
    "autoscaling",
    "Target tracking on requests per task scaled the service out",
    step=7,
    hints=[
        'register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/{cluster}/orders", '
        'ScalableDimension="ecs:service:DesiredCount", MinCapacity=2, MaxCapacity=4)',
        'put_scaling_policy(..., PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration='
        '{"TargetValue": ..., "PredefinedMetricSpecification": {"PredefinedMetricType": '
        '"ALBRequestCountPerTarget", "ResourceLabel": resource_label}})',
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
    metrics = [
        p.get("TargetTrackingScalingPolicyConfiguration", {})
        .get("PredefinedMetricSpecification", {})
        .get("PredefinedMetricType")
        for p in policies
    ]
    ctx.expect(
        "ALBRequestCountPerTarget" in metrics,
        f"expected a target tracking policy on ALBRequestCountPerTarget, found {metrics or 'no policy'}",
    )
    activities = autoscaling.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=resource)
    counts = [
        int(a["Description"].rstrip(".").rsplit(" ", 1)[-1])
        for a in activities["ScalingActivities"]
        if a["StatusCode"] == "Successful" and a["Description"].startswith("Setting desired count")
    ]
    if not any(count > target["MinCapacity"] for count in counts):
        ctx.not_done("no scale-out yet: put load on the service until it scales out")


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

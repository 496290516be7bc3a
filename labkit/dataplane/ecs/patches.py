"""Where the ECS data plane meets moto's ECS: MODEL_SEAMS and RESPONSE_SEAMS, at the end.

Models: a task's lastStatus is what its process does (moto advanced it on each describe); a
container without memory (normal on Fargate) no longer breaks run_task.
Responses: create_service, update_service and delete_service hand the service to the scheduler;
run_task and stop_task start and stop processes; list_tasks filters by serviceName and lists
desiredStatus RUNNING by default, and list_services leaves deleted services out, as AWS does;
delete_cluster refuses while services or tasks are active. What a learner naturally sends for
Fargate is accepted: without securityGroups the VPC's default security group is used (as on AWS),
and an awsvpc service without networkConfiguration gets AWS's error instead of a 500, as do a
Fargate task definition in another network mode and a service whose target group no load balancer
uses yet, and a canary, linear or blue/green strategy for a load balancer without
advancedConfiguration. A family named without a revision is its latest ACTIVE revision.
"""

import functools

from labkit.dataplane.core import state
from labkit.dataplane.core.seams import Seam
from labkit.dataplane.ecs import registry, scheduler, traffic_shifts
from labkit.dataplane.ecs.tasks import TaskRuntime


def _wrapping(original, wrapper):
    @functools.wraps(original)
    def method(self):
        with registry.LOCK:
            return wrapper(self, lambda: original(self))

    return method


def _locked(original):
    @functools.wraps(original)
    def method(self):
        with registry.LOCK:
            return original(self)

    return method


def _without_inactive(original):
    """A deleted service stays describable but is no longer listed, as on AWS."""

    @functools.wraps(original)
    def method(self):
        with registry.LOCK:
            result = original(self)
            inactive = {s.arn for s in self.ecs_backend.services.values() if s.status == "INACTIVE"}
        result.result["serviceArns"] = [a for a in result.result["serviceArns"] if a not in inactive]
        return result

    return method


def _register_task_definition(response, call):
    from moto.ecs.exceptions import EcsClientException

    params = response.params
    fargate = "FARGATE" in (params.get("requiresCompatibilities") or [])
    if fargate and params.get("networkMode", "bridge") != "awsvpc":
        raise EcsClientException("Fargate only supports network mode ‘awsvpc’.")
    uses_awslogs = any(
        (c.get("logConfiguration") or {}).get("logDriver") == "awslogs"
        for c in params.get("containerDefinitions") or []
    )
    if any(c.get("secrets") for c in params.get("containerDefinitions") or []) and not params.get("executionRoleArn"):
        raise EcsClientException(
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."
        )
    if fargate and uses_awslogs and not params.get("executionRoleArn"):
        raise EcsClientException(
            "Fargate requires task definition to have execution role ARN to support log driver awslogs."
        )
    return call()


def _create_service(response, call):
    from moto.ecs.exceptions import InvalidParameterException

    params, backend = response.params, response.ecs_backend
    cluster = backend._get_cluster(params.get("cluster", "default"))
    existing = backend.services.get(f"{cluster.name}:{params.get('serviceName')}")
    if existing is not None and existing.status == "DRAINING":
        raise InvalidParameterException("Unable to Start a service that is still Draining.")
    definition = params.get("taskDefinition")
    if (
        definition
        and backend.describe_task_definition(definition).network_mode == "awsvpc"
        and not params.get("networkConfiguration")
    ):
        raise InvalidParameterException(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        )
    for attached in params.get("loadBalancers") or []:
        _refuse_a_group_without_load_balancer(attached.get("targetGroupArn"), backend)
    _refuse_an_invalid_canary(params.get("deploymentConfiguration"))
    _refuse_a_shift_without_advanced_configuration(
        params.get("deploymentConfiguration") or {}, params.get("loadBalancers") or []
    )
    _default_security_groups(backend, params.get("networkConfiguration"))
    result = call()
    service = result.result["service"]
    service.deployment_configuration = {
        **scheduler.DEFAULT_DEPLOYMENT_CONFIGURATION,
        **(params.get("deploymentConfiguration") or {}),
    }
    service.health_check_grace_period_seconds = params.get("healthCheckGracePeriodSeconds", 0)
    service.service_connect_configuration = params.get("serviceConnectConfiguration")
    service.enable_execute_command = bool(params.get("enableExecuteCommand"))
    scheduler.adopt(service, backend)
    return result


def _refuse_an_invalid_canary(configuration: dict | None) -> None:
    """CanaryConfiguration's limits, as ECS's API reference states them."""
    from moto.ecs.exceptions import InvalidParameterException

    canary = (configuration or {}).get("canaryConfiguration") or {}
    percent, bake = canary.get("canaryPercent"), canary.get("canaryBakeTimeInMinutes")
    if percent is not None and not (0.1 <= percent <= 100.0 and abs(percent * 10 - round(percent * 10)) < 1e-6):
        raise InvalidParameterException(
            f"canaryPercent {percent} is invalid: valid values are multiples of 0.1 from 0.1 to 100.0."
        )
    if bake is not None and not 0 <= bake <= 1440:
        raise InvalidParameterException(
            f"canaryBakeTimeInMinutes {bake} is invalid: valid values are 0 to 1440 minutes."
        )


# The fields ECS's own traffic shift needs of each load balancer: the group green starts in, the rule whose
# weights move, and the role ECS assumes to move them (AmazonECSInfrastructureRolePolicyForLoadBalancers).
_SHIFT_NEEDS = ("alternateTargetGroupArn", "productionListenerRule", "roleArn")


def _refuse_a_shift_without_advanced_configuration(configuration: dict, load_balancers: list[dict]) -> None:
    """A blue/green, canary or linear strategy needs each load balancer's advancedConfiguration, as the ECS
    Developer Guide's "Required resources for Amazon ECS blue/green deployments" states; a service without a
    load balancer (alone, or with Service Connect) may use the strategy. The refusal's wording is ours: AWS's
    own text is not published."""
    from moto.ecs.exceptions import InvalidParameterException

    strategy = configuration.get("strategy")
    if strategy not in traffic_shifts.STRATEGIES:
        return
    for load_balancer in load_balancers:
        advanced = load_balancer.get("advancedConfiguration")
        where = f"the load balancer with targetGroupArn {load_balancer.get('targetGroupArn')}"
        if not advanced:
            raise InvalidParameterException(
                f"The {strategy} deployment strategy requires advancedConfiguration (alternateTargetGroupArn, "
                f"productionListenerRule and roleArn) for {where}."
            )
        missing = [field for field in _SHIFT_NEEDS if not advanced.get(field)]
        if missing:
            raise InvalidParameterException(
                f"The {strategy} deployment strategy requires {' and '.join(missing)} in the advancedConfiguration "
                f"of {where}."
            )


def _refuse_a_group_without_load_balancer(group_arn: str | None, backend) -> None:
    from moto.ecs.exceptions import InvalidParameterException
    from moto.elbv2.models import elbv2_backends

    from labkit.dataplane import elb

    if not group_arn:
        return
    group = elbv2_backends[backend.account_id][backend.region_name].target_groups.get(group_arn)
    if group is not None and not elb.in_use(group):
        raise InvalidParameterException(
            f"The target group with targetGroupArn {group_arn} does not have an associated load balancer."
        )


def _update_service(response, call):
    params, backend = response.params, response.ecs_backend
    _refuse_an_invalid_canary(params.get("deploymentConfiguration"))
    before = backend._get_service(params.get("cluster", "default"), params.get("service", ""))
    # What the service will have: a configuration or load balancers not given are kept.
    _refuse_a_shift_without_advanced_configuration(
        {**scheduler.DEFAULT_DEPLOYMENT_CONFIGURATION, **params["deploymentConfiguration"]}
        if params.get("deploymentConfiguration")
        else getattr(before, "deployment_configuration", None) or {},
        params["loadBalancers"] if params.get("loadBalancers") is not None else before.load_balancers,
    )
    _default_security_groups(backend, params.get("networkConfiguration"))
    runtime = scheduler.runtime_of(before)
    result = call()
    service = result.result["service"]
    if params.get("deploymentConfiguration"):
        service.deployment_configuration = {
            **scheduler.DEFAULT_DEPLOYMENT_CONFIGURATION,
            **params["deploymentConfiguration"],
        }
    if params.get("loadBalancers") is not None:
        service.load_balancers = params["loadBalancers"]
    if runtime is None:
        return result
    primary = runtime.deployments[0].task_definition
    wanted = backend.describe_task_definition(params["taskDefinition"]).arn if params.get("taskDefinition") else primary
    service.task_definition = primary
    # As on AWS, a new network or Service Connect configuration is rolled out by a new deployment.
    changed = params.get("networkConfiguration") or params.get("serviceConnectConfiguration")
    if wanted != primary or params.get("forceNewDeployment") or changed:
        runtime.deploy(wanted)
    runtime.reconcile()
    return result


def _delete_service(response, call):
    result = call()
    service = result.result["service"]
    service.status, service.desired_count = "DRAINING", 0
    runtime = scheduler.runtime_of(service)
    if runtime is not None:
        runtime.wake()
    return result


def _run_task(response, call):
    params, backend = response.params, response.ecs_backend
    _default_security_groups(backend, params.get("networkConfiguration"))
    cluster = backend._get_cluster(params.get("cluster", "default"))
    requested = params.get("launchType")
    # Every launch type runs as local processes: with no container instances to place EC2 tasks
    # on, moto is asked for Fargate placement and the task keeps the launch type asked for.
    if (
        requested != "FARGATE"
        and not params.get("capacityProviderStrategy")
        and not cluster.default_capacity_provider_strategy
        and not backend.container_instances.get(cluster.name)
    ):
        params["launchType"] = "FARGATE"
    result = call()
    for task in result.result["tasks"]:
        if params.get("launchType") != requested:
            task.launch_type = requested or "EC2"
        TaskRuntime(task, backend.describe_task_definition(task.task_definition_arn)).start()
    return result


def _delete_cluster(response, call):
    from moto.ecs.exceptions import ECSException

    backend = response.ecs_backend
    cluster = backend._get_cluster(response.params.get("cluster", "default"))
    if any(s.cluster_name == cluster.name and s.status in ("ACTIVE", "DRAINING") for s in backend.services.values()):
        raise ECSException(
            "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active."
        )
    if any(t.last_status != "STOPPED" for t in backend.tasks.get(cluster.name, {}).values()):
        raise ECSException("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
    return call()


def _stop_task(response):
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException

    with registry.LOCK:
        backend = response.ecs_backend
        cluster = backend._get_cluster(response._get_param("cluster", "default"))
        task_id = response._get_param("task", "").split("/")[-1]
        task = next((t for arn, t in backend.tasks.get(cluster.name, {}).items() if arn.endswith(f"/{task_id}")), None)
        if task is None:
            raise InvalidParameterException("The referenced task was not found.")
        runtime = state.get(task, "runtime")
        if runtime is not None:
            runtime.request_stop(response._get_param("reason") or "Task stopped by user", "UserInitiated")
        return ActionResult({"task": task})


def _list_tasks(response):
    from moto.core.responses import ActionResult

    get = response._get_param
    with registry.LOCK:
        found = response.ecs_backend.list_tasks(
            get("cluster", "default"),
            get("containerInstance"),
            get("family"),
            get("startedBy"),
            None,
            get("desiredStatus") or "RUNNING",
        )
        service_name = (get("serviceName") or "").split("/")[-1]
        if service_name:
            found = [t for t in found if t.group == f"service:{service_name}"]
        if get("launchType"):
            found = [t for t in found if t.launch_type == get("launchType")]
        return ActionResult({"taskArns": [t.task_arn for t in found]})


def _list_service_deployments(response):
    from moto.core.responses import ActionResult

    get = response._get_param
    with registry.LOCK:
        service = response.ecs_backend._get_service(get("cluster", "default"), get("service", ""))
        runtime = scheduler.runtime_of(service)
        found = [
            d
            for d in (runtime.service_deployments if runtime else [])
            if not get("status") or d.status in get("status")
        ]
        return ActionResult({"serviceDeployments": [d.brief() for d in found[: int(get("maxResults") or 20)]]})


def _describe_service_deployments(response):
    from moto.core.responses import ActionResult

    wanted = response._get_param("serviceDeploymentArns") or []
    with registry.LOCK:
        known = {}
        for service in response.ecs_backend.services.values():
            runtime = scheduler.runtime_of(service)
            for record in runtime.service_deployments if runtime else []:
                known[record.arn] = (runtime, record)
        found = [known[arn][1].describe(known[arn][0].task_counts) for arn in wanted if arn in known]
        missing = [{"arn": arn, "reason": "MISSING"} for arn in wanted if arn not in known]
        return ActionResult({"serviceDeployments": found, "failures": missing})


def _default_security_groups(backend, network_configuration: dict | None) -> None:
    """awsvpc without securityGroups: the VPC's default group, as on AWS."""
    from moto.ecs.exceptions import InvalidParameterException

    awsvpc = (network_configuration or {}).get("awsvpcConfiguration")
    if awsvpc is None:
        return
    if not awsvpc.get("subnets"):
        raise InvalidParameterException("subnets can not be empty.")
    if awsvpc.get("securityGroups"):
        return
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[backend.account_id][backend.region_name]
    try:
        vpc_id = ec2.get_subnet(awsvpc["subnets"][0]).vpc_id
    except Exception:  # an unknown subnet: moto's own validation words that error
        awsvpc["securityGroups"] = []
        return
    group = ec2.get_default_security_group(vpc_id)
    awsvpc["securityGroups"] = [group.id] if group else []


def _resource_requirements(task_definition) -> dict:
    """What EC2 placement needs; a container's memory may be left out (Fargate sizes the task)."""
    requirements = {"CPU": 0, "MEMORY": 0, "PORTS": [], "PORTS_UDP": []}
    for container in task_definition.container_definitions:
        requirements["CPU"] += int(container.get("cpu") or 0)
        requirements["MEMORY"] += int(container.get("memory") or container.get("memoryReservation") or 0)
        requirements["PORTS"] += [m["hostPort"] for m in container.get("portMappings") or [] if m.get("hostPort")]
    return requirements


def _latest_active_revision(describe):
    """A family named without a revision is its latest ACTIVE revision, as on AWS; moto took the latest, even a
    deregistered one, so a deregistered revision was still what DescribeTaskDefinition, RunTask and
    CreateService found by the family's name."""

    @functools.wraps(describe)
    def describing(self, task_definition_str):
        family = task_definition_str.split("/")[-1]
        if ":" not in family:
            active = [revision for revision, d in self.task_definitions.get(family, {}).items() if d.status == "ACTIVE"]
            if active:
                task_definition_str = f"{family}:{max(active)}"
        return describe(self, task_definition_str)

    return describing


_MODELS = "moto.ecs.models"
_RESPONSE = "moto.ecs.responses.EC2ContainerServiceResponse"
MODEL_SEAMS = (
    # A task's lastStatus is what its process does; moto advanced it on each describe.
    Seam(
        f"{_MODELS}.Task.last_status",
        replace=lambda _: property(lambda task: task._status, lambda task, value: setattr(task, "_status", value)),
    ),
    Seam(
        f"{_MODELS}.EC2ContainerServiceBackend._calculate_task_resource_requirements",
        ("task_definition",),
        replace=lambda _: staticmethod(_resource_requirements),
    ),
    # moto's own calls the response wrappers rely on.
    Seam(f"{_MODELS}.EC2ContainerServiceBackend._get_cluster", ("self", "name")),
    Seam(f"{_MODELS}.EC2ContainerServiceBackend._get_service", ("self", "cluster_str", "service_str")),
    Seam(
        f"{_MODELS}.EC2ContainerServiceBackend.describe_task_definition",
        ("self", "task_definition_str"),
        contains="self.task_definitions[family][revision]",
        replace=_latest_active_revision,
    ),
    Seam(
        f"{_MODELS}.EC2ContainerServiceBackend.list_tasks",
        ("self", "cluster_str", "container_instance", "family", "started_by", "service_name", "desiredStatus"),
    ),
)
RESPONSE_SEAMS = (
    *(
        Seam(f"{_RESPONSE}.{name}", ("self",), replace=lambda original, wrapper=wrapper: _wrapping(original, wrapper))
        for name, wrapper in (
            ("register_task_definition", _register_task_definition),
            ("create_service", _create_service),
            ("update_service", _update_service),
            ("delete_service", _delete_service),
            ("run_task", _run_task),
            ("delete_cluster", _delete_cluster),
        )
    ),
    Seam(f"{_RESPONSE}.stop_task", ("self",), replace=lambda _: _stop_task),
    # moto 5.2.5 has neither: service deployments as ECS reports them (service_deployments.py).
    Seam(f"{_RESPONSE}.list_service_deployments", replace=lambda _: _list_service_deployments),
    Seam(f"{_RESPONSE}.describe_service_deployments", replace=lambda _: _describe_service_deployments),
    Seam(f"{_RESPONSE}.list_tasks", ("self",), replace=lambda _: _list_tasks),
    Seam(f"{_RESPONSE}.list_services", ("self",), replace=_without_inactive),
    *(
        Seam(f"{_RESPONSE}.{name}", ("self",), replace=_locked)
        for name in ("describe_tasks", "describe_services", "describe_clusters")
    ),
    Seam(f"{_RESPONSE}._get_param", ("self", "param_name", "if_none")),
)

"""Cloud Map registration of ECS tasks, as ECS does for services with serviceRegistries or ECS
Service Connect: a task becomes an instance (its id is the task id) with AWS_INSTANCE_IPV4 its
ENI's private address and AWS_INSTANCE_PORT its container port once it is running, as on AWS (the
address is reached through the data plane only), and is deregistered when it stops, so
discover_instances finds the tasks that run. Service Connect's client aliases
(http://orders:8080) are served by labkit.dataplane.ecs.service_connect."""

import uuid


def register_task(task_runtime, service) -> list[tuple]:
    """Register the task everywhere its service says; returns what deregister_task undoes."""
    task = task_runtime.task
    wanted = [
        (
            registry["registryArn"].rsplit("/", 1)[-1],
            _port(task_runtime, registry.get("containerName"), registry.get("containerPort")),
        )
        for registry in service.service_registries or []
    ]
    wanted += _service_connect(task_runtime, service)
    registered = []
    for service_id, port in wanted:
        backend = _backend(task._account_id, task.region_name)
        attributes = {
            "AWS_INSTANCE_IPV4": task_runtime.address,
            "AVAILABILITY_ZONE": task.availability_zone,
            "REGION": task.region_name,
            "ECS_CLUSTER_NAME": task.cluster_name,
            "ECS_SERVICE_NAME": service.name,
            "ECS_TASK_DEFINITION_FAMILY": task_runtime.task_definition.family,
            "AWS_INIT_HEALTH_STATUS": "HEALTHY",
        }
        if port is not None:
            attributes["AWS_INSTANCE_PORT"] = str(port)
        try:
            backend.register_instance(service_id, task.id, str(uuid.uuid4()), attributes)
        except Exception as error:  # the Cloud Map service was deleted: AWS reports it as an event
            task_runtime.service.add_event(
                f"(service {service.name}) failed to register (task {task.id}) in Cloud Map "
                f"service {service_id}: {getattr(error, 'message', error)}"
            )
            continue
        registered.append((backend, service_id, task.id))
    return registered


def deregister_task(registered: list[tuple]) -> None:
    for backend, service_id, instance_id in registered:
        try:
            backend.deregister_instance(service_id, instance_id)
        except Exception:  # already gone with its Cloud Map service
            pass


def _service_connect(task_runtime, service) -> list[tuple[str, int | None]]:
    """ECS Service Connect's services: a Cloud Map service per discovery name in the namespace."""
    configuration = getattr(service, "service_connect_configuration", None) or {}
    if not configuration.get("enabled"):
        return []
    task = task_runtime.task
    backend = _backend(task._account_id, task.region_name)
    wanted_namespace = configuration.get("namespace", "")
    namespace = next((n for n in backend.list_namespaces() if wanted_namespace in (n.name, n.arn, n.id)), None)
    if namespace is None:
        return []
    found = []
    for entry in configuration.get("services") or []:
        name = entry.get("discoveryName") or entry.get("portName")
        existing = next((s for s in backend.list_services() if s.name == name and s.namespace_id == namespace.id), None)
        if existing is None:
            existing = backend.create_service(
                name=name,
                namespace_id=namespace.id,
                creator_request_id=str(uuid.uuid4()),
                description="Created by ECS Service Connect",
                dns_config=None,
                health_check_config=None,
                health_check_custom_config=None,
                tags=[],
                service_type="HTTP",
            )
        found.append((existing.id, _named_port(task_runtime, entry.get("portName"))))
    return found


def _port(task_runtime, container_name: str | None, container_port: int | None) -> int | None:
    for spec in task_runtime.specs:
        mapping = spec.mapping(container_port) if container_name in (None, spec.name) else None
        if mapping is not None:
            return task_runtime.port_on_eni(mapping)
    return None


def _named_port(task_runtime, port_name: str | None) -> int | None:
    for definition, spec in zip(task_runtime.task_definition.container_definitions, task_runtime.specs, strict=True):
        for mapping in definition.get("portMappings") or []:
            if mapping.get("name") == port_name:
                return task_runtime.port_on_eni(spec.mapping(int(mapping["containerPort"])))
    return None


def _backend(account_id: str, region: str):
    from moto.servicediscovery.models import servicediscovery_backends

    return servicediscovery_backends[account_id][region]

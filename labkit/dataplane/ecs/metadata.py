"""The task metadata endpoint (version 4) a container reaches at $ECS_CONTAINER_METADATA_URI_V4:
GET it for the container's own metadata, GET .../task for the task's. Served by the local cloud
under /_labkit/ecs/v4/<task id>/<container name>; the fields are a subset of AWS's."""

from labkit.dataplane.ecs import registry

ROUTE_PREFIX = "/_labkit/ecs/v4/"


def lookup(path: str) -> dict | None:
    """The JSON for a metadata path, or None when no running task has that id."""
    task_id, _, rest = path[len(ROUTE_PREFIX) :].partition("/")
    container_name, _, what = rest.partition("/")
    runtime = next((r for r in registry.running() if r.id == task_id), None)
    if runtime is None:
        return None
    with registry.LOCK:
        if what == "task":
            return _task(runtime)
        status = next((c for c in runtime.task.containers if c.name == container_name), None)
        return _container(runtime, status) if status is not None else None


def _task(runtime) -> dict:
    task, definition = runtime.task, runtime.task_definition
    found = {
        "Cluster": task.cluster_arn,
        "TaskARN": task.task_arn,
        "Family": definition.family,
        "Revision": str(definition.revision),
        "DesiredStatus": task.desired_status,
        "KnownStatus": task.last_status,
        "AvailabilityZone": task.availability_zone,
        "LaunchType": task.launch_type or "FARGATE",
        "Containers": [_container(runtime, status) for status in task.containers],
    }
    if runtime.service is not None:
        found["ServiceName"] = runtime.service.name
    found["Limits"] = {"CPU": runtime.cpu_units() / 1024, "Memory": runtime.memory_mib()}
    return found


def _container(runtime, status) -> dict:
    task, definition = runtime.task, runtime.task_definition
    return {
        "DockerId": status.runtime_id,
        "Name": status.name,
        "DockerName": f"ecs-{definition.family}-{definition.revision}-{status.name}",
        "Image": status.image,
        "ImageID": status.image_digest,
        "Labels": {
            "com.amazonaws.ecs.cluster": task.cluster_arn,
            "com.amazonaws.ecs.container-name": status.name,
            "com.amazonaws.ecs.task-arn": task.task_arn,
            "com.amazonaws.ecs.task-definition-family": definition.family,
            "com.amazonaws.ecs.task-definition-version": str(definition.revision),
        },
        "DesiredStatus": task.desired_status,
        "KnownStatus": status.last_status,
        "Type": "NORMAL",
        "Networks": [{"NetworkMode": definition.network_mode or "awsvpc", "IPv4Addresses": [runtime.address]}],
        "Ports": [
            {
                "ContainerPort": b["containerPort"],
                "HostPort": b["hostPort"],
                "Protocol": b["protocol"],
                "HostIp": b["bindIP"],
            }
            for b in status.network_bindings
        ],
    }

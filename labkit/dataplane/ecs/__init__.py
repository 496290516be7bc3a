"""The ECS data plane: services and tasks of the local cloud run as local processes.

The scheduler (scheduler.py) keeps each service's desired count of tasks running and rolls
deployments; each task (tasks.py) runs its containers as processes (containers.py) with their
secrets resolved (secrets.py), their output in CloudWatch Logs (awslogs.py) and their health
checked (healthcheck.py), registered in the service's target groups (labkit.dataplane.elb) and Cloud
Map services (labkit.dataplane.servicediscovery), and reaching ECS Service Connect's client aliases
through a proxy (service_connect.py). patches.py says where this meets moto.
"""

import atexit
import json

from labkit.dataplane.core import network, seams
from labkit.dataplane.ecs import metadata, processes, registry, scheduler, service_connect


def install() -> None:
    here = "labkit.dataplane.ecs.patches"
    seams.declare("ecs: task status is the process's", "moto.ecs.models", f"{here}:MODEL_SEAMS")
    seams.declare("ecs: services and tasks run", "moto.ecs.responses", f"{here}:RESPONSE_SEAMS")
    # On `labkit down` the tasks get SIGTERM with the whole process group: the scheduler must not
    # replace them while the local cloud exits.
    atexit.register(reset)


def middleware(app):
    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(metadata.ROUTE_PREFIX):
            return app(environ, start_response)
        found = metadata.lookup(path)
        body = json.dumps(found if found is not None else {"message": "no such running task"}).encode()
        start_response(
            "200 OK" if found is not None else "404 Not Found",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return wsgi


def running_tasks(service) -> list | None:
    """The running tasks of a service the data plane runs (None for one it does not): each has
    usage() (CPU seconds, resident bytes), cpu_units() and memory_mib()."""
    runtime = scheduler.runtime_of(service)
    return None if runtime is None else [task for task in runtime.tasks if task.running]


def network_sources() -> dict[int, tuple[str, network.Source]]:
    """Where the processes of running tasks stand in their VPC, by pid: (VPC id, network.Source with the
    address and security groups of the task's ENI), for every process of its containers (what they started
    too). A task without an ENI (not awsvpc) is in no VPC: its processes are not listed."""
    found = {}
    for runtime in registry.running():
        if runtime.vpc_id is None:
            continue
        source = network.Source(runtime.address, runtime.security_groups)
        for process in list(runtime.processes.values()):
            if process.poll() is None:
                found |= dict.fromkeys(processes.tree(process.pid), (runtime.vpc_id, source))
    return found


def set_desired_count(service, count: int) -> None:
    """As UpdateService does: the scheduler starts or stops tasks to match."""
    with registry.LOCK:
        service.desired_count = count
    runtime = scheduler.runtime_of(service)
    if runtime is not None:
        runtime.wake()


def reset() -> None:
    """Services are forgotten first, so that nothing replaces the tasks being stopped."""
    scheduler.forget_all()
    for runtime in registry.running():
        runtime.kill_now()
    service_connect.stop_all()

"""One ECS task as local processes, through the lifecycle AWS documents (Amazon ECS Developer Guide,
"Amazon ECS task lifecycle"): PROVISIONING, PENDING, ACTIVATING, RUNNING, then DEACTIVATING,
STOPPING, DEPROVISIONING, STOPPED.

Each container runs as a child of the local cloud (in its process group, so `labkit down` stops
it too). A task thread walks the lifecycle and reports every step on moto's Task object, which
describe_tasks serializes: lastStatus, desiredStatus, stoppedReason, stopCode, timestamps, and the
containers with their exit codes and local port bindings.

Its ENI has a private address from its subnet (labkit.dataplane.core.network), where the load
balancer and Cloud Map find it on its container ports, behind the ENI's security groups; the
processes themselves listen on 127.0.0.1 ports of their own.
"""

import signal
import subprocess
import threading
import time
import traceback
import uuid

from moto.core.utils import utcnow

from labkit import config
from labkit.dataplane import elb, iam, servicediscovery
from labkit.dataplane.core import clock, network, state
from labkit.dataplane.ecs import containers, processes, registry, service_connect
from labkit.dataplane.ecs.failures import TaskFailed
from labkit.dataplane.ecs.healthcheck import ContainerHealth

ESSENTIAL_EXITED = "Essential container in task exited"
# A container gets SIGKILL stopTimeout seconds (default 30) after SIGTERM; sped up, that would
# leave a graceful shutdown too little time, so locally it gets at least this long.
MIN_STOP_TIMEOUT_S = 1.0
LOCALHOST = "127.0.0.1"


class ContainerStatus:
    """A container as describe_tasks reports it (attribute names follow the Container shape)."""

    def __init__(self, task, definition: dict):
        self.container_arn = (
            f"arn:aws:ecs:{task.region_name}:{task._account_id}:container/{task.cluster_name}/{task.id}/{uuid.uuid4()}"
        )
        self.task_arn = task.task_arn
        self.name = definition.get("name")
        self.image = definition.get("image")
        self.image_digest = None
        self.runtime_id = None
        self.last_status = "PENDING"
        self.exit_code = None
        self.reason = None
        self.network_bindings: list[dict] = []
        self.network_interfaces = [
            {"attachmentId": a["id"], "privateIpv4Address": _detail(a, "privateIPv4Address")} for a in task.attachments
        ]
        self.health_status = "UNKNOWN"
        self.cpu = str(definition.get("cpu", 0))
        self.memory = str(definition["memory"]) if definition.get("memory") else None


class TaskRuntime:
    def __init__(self, task, task_definition, service=None, deployment=None):
        self.task = task  # moto's Task
        self.task_definition = task_definition
        self.service = service  # the scheduler's ServiceRuntime, or None for run_task
        self.deployment = deployment  # the service deployment that started it
        self.created = time.monotonic()
        self.ever_served = False  # it ran healthy at some point
        self.failed_checks = False  # stopped by its service for failing health checks
        self.accounted = False  # the scheduler has seen it stop
        self.specs: list[containers.ContainerSpec] = []
        self.processes: dict[str, subprocess.Popen] = {}
        self.health: dict[str, ContainerHealth] = {}
        self.targets: list[tuple[str, elb.Target, int]] = []  # (group ARN, target, container port)
        self.cloud_map_instances: list = []
        self.address = LOCALHOST  # its ENI's private address (awsvpc), set by _init_model
        self.security_groups: frozenset[str] = frozenset()
        self.vpc_id: str | None = None  # its ENI's VPC (awsvpc); None: in no VPC
        self.started_at_monotonic: float | None = None
        self.stop_requested = False
        self.finished = threading.Event()
        self._wake = threading.Event()
        self._stopped_containers = threading.Event()
        self._init_model()
        state.put(task, "runtime", self)

    # --- what the scheduler and the API see -------------------------------------------------

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def live(self) -> bool:
        """Counted by its service: it should run (desiredStatus RUNNING)."""
        return self.task.desired_status == "RUNNING"

    @property
    def running(self) -> bool:
        return self.live and self.task.last_status == "RUNNING"

    @property
    def health_status(self) -> str:
        return self.task.health_status

    def unhealthy_target(self):
        """(group ARN, container port, description) of a target its load balancer finds unhealthy."""
        for group_arn, target, container_port in self.targets:
            if elb.is_unhealthy(target):
                return group_arn, container_port, target.description
        return None

    def serves(self) -> bool:
        """Running, its essential containers healthy if checked, its targets healthy: a
        deployment counts it as started."""
        checked = any(spec.essential and spec.name in self.health for spec in self.specs)
        return (
            self.running
            and all(elb.is_healthy(t) for _, t, _ in self.targets)
            and (not checked or self.task.health_status == "HEALTHY")
        )

    def request_stop(self, reason: str, stop_code: str) -> None:
        with registry.LOCK:
            if self.stop_requested:
                return
            self.stop_requested = True
            self.task.desired_status = "STOPPED"
            self.task.stopped_reason = reason
            self.task.stop_code = stop_code
            self.task.stopping_at = utcnow()
        self._wake.set()

    def start(self) -> None:
        registry.track(self)
        threading.Thread(target=self._run, daemon=True, name=f"task {self.id}").start()

    def cpu_units(self) -> int:
        """The task's CPU in units of 1/1024 vCPU: the task size ("256", "1 vCPU"), else the sum
        of its containers' cpu, else one vCPU."""
        size = str(self.task_definition.cpu or "").strip().lower()
        if size:
            return int(float(size.removesuffix("vcpu")) * (1024 if "vcpu" in size else 1))
        return sum(int(c.get("cpu") or 0) for c in self.task_definition.container_definitions) or 1024

    def memory_mib(self) -> int | None:
        size = str(self.task_definition.memory or "").strip().lower()
        if size:
            return int(float(size.removesuffix("gb")) * (1024 if "gb" in size else 1))
        return sum(int(c.get("memory") or 0) for c in self.task_definition.container_definitions) or None

    def usage(self) -> tuple[float, int]:
        """(CPU seconds used so far, resident bytes now) over all its containers' processes."""
        pids = [pid for p in list(self.processes.values()) if p.poll() is None for pid in processes.tree(p.pid)]
        return processes.cpu_seconds(pids), processes.resident_bytes(pids)

    def kill_now(self) -> None:
        """The local cloud is being reset or is exiting: no draining, no grace."""
        self.request_stop("The local cloud was reset", "UserInitiated")
        for process in list(self.processes.values()):
            if process.poll() is None:
                processes.signal_tree(process.pid, signal.SIGKILL)

    # --- the lifecycle --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._provision()
            self._start_containers()
            self._activate()
            self._set_status("RUNNING", started_at=utcnow())
            self.started_at_monotonic = time.monotonic()
            self._wait_for_a_reason_to_stop()
        except TaskFailed as failure:
            self.request_stop(str(failure), "TaskFailedToStart")
            for status in self.task.containers:
                status.reason = status.reason or str(failure)
        except _Stopping:
            pass
        except Exception as error:  # a data plane bug must not leave the task looking alive
            traceback.print_exc()
            self.request_stop(f"InternalError: the local cloud failed to run the task: {error!r}", "TaskFailedToStart")
        finally:
            self._deactivate()
            self._stop_containers()
            self._set_status("DEPROVISIONING")
            self._release_the_eni()
            with registry.LOCK:
                self.task.stopped_at = self.task.execution_stopped_at = utcnow()
                self.task.last_status = "STOPPED"
                self.task.connectivity = "DISCONNECTED"
                for status in self.task.containers:
                    status.last_status = "STOPPED"
            registry.untrack(self)
            self.finished.set()
            self._notify()

    def _provision(self) -> None:
        overrides = {o.get("name"): o for o in (self.task.overrides or {}).get("containerOverrides") or []}
        metadata_uri = f"{config.endpoint()}/_labkit/ecs/v4/{self.id}"
        network_env = (
            service_connect.client_environment(self.service.service, self.task) if self.service is not None else {}
        )
        role_arn = (self.task.overrides or {}).get("taskRoleArn") or getattr(
            self.task_definition, "task_role_arn", None
        )
        # The task role's temporary credentials, as the ECS agent hands them over; without a task
        # role a task has no AWS credentials at all.
        credentials = iam.credentials(role_arn, self.id) if role_arn else {}
        for definition in self.task_definition.container_definitions:
            self._check_stop()
            spec = containers.prepare(
                definition,
                overrides.get(definition.get("name"), {}),
                self.task,
                metadata_uri + f"/{definition['name']}",
                {**network_env, **credentials},
                getattr(self.task_definition, "execution_role_arn", None),
            )
            if spec.logs is not None:
                spec.logs.open()
            self.specs.append(spec)
        self._set_status("PENDING", pull_started_at=utcnow())

    def _start_containers(self) -> None:
        self._check_stop()
        self.task.pull_stopped_at = utcnow()
        for spec, status in zip(self.specs, self.task.containers, strict=True):
            output = subprocess.PIPE if spec.logs is not None else subprocess.DEVNULL
            try:
                process = subprocess.Popen(
                    spec.argv,
                    cwd=spec.cwd,
                    env=spec.env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            except OSError as error:
                raise TaskFailed(
                    f"CannotStartContainerError: Error response from daemon: failed "
                    f"to create task for container: {spec.argv[0]}: {error.strerror}"
                )
            self.processes[spec.name] = process
            with registry.LOCK:
                status.last_status = "RUNNING"
                status.runtime_id = f"{self.id}-{process.pid}"
                status.image_digest = spec.image_digest
                status.network_bindings = [
                    {
                        "bindIP": LOCALHOST,
                        "containerPort": m.container_port,
                        "hostPort": m.host_port,
                        "protocol": m.protocol,
                    }
                    for m in spec.ports
                ]
            for mapping in spec.ports:
                network.attach(self.address, self.port_on_eni(mapping), mapping.host_port, self.security_groups)
            if spec.logs is not None:
                threading.Thread(
                    target=spec.logs.ship, args=(process.stdout,), daemon=True, name=f"awslogs {self.id} {spec.name}"
                ).start()
            threading.Thread(
                target=self._reap, args=(status, process), daemon=True, name=f"reap {self.id} {spec.name}"
            ).start()
            if spec.health_check:
                health = ContainerHealth(spec, self._health_changed)
                self.health[spec.name] = health
                threading.Thread(
                    target=health.watch,
                    args=(self._stopped_containers,),
                    daemon=True,
                    name=f"health {self.id} {spec.name}",
                ).start()

    def _activate(self) -> None:
        self._check_stop()
        self._set_status("ACTIVATING", connectivity="CONNECTED", connectivity_at=utcnow())
        if self.service is None:
            return
        for load_balancer in self.service.load_balancers(self.deployment):
            self._register_target(load_balancer)
        self.cloud_map_instances = servicediscovery.register_task(self, self.service.service)

    def _register_target(self, load_balancer: dict) -> None:
        from moto.elbv2.models import elbv2_backends

        group_arn = load_balancer.get("targetGroupArn", "")
        spec = next((s for s in self.specs if s.name == load_balancer.get("containerName")), None)
        mapping = spec.mapping(load_balancer.get("containerPort")) if spec else None
        port = self.port_on_eni(mapping) if mapping else None
        backend = elbv2_backends[self.task._account_id][self.task.region_name]
        group = backend.target_groups.get(group_arn)
        if group is None or port is None:
            self.service.add_event(
                f"(service {self.service.name}) failed to register targets in (target-group "
                f"{group_arn}) with (error the target group or the container port "
                f"{load_balancer.get('containerPort')} of {load_balancer.get('containerName')} "
                f"was not found)"
            )
            return
        target = elb.register_target(group, self.address, port)
        self.targets.append((group_arn, target, port))
        self.service.add_event(f"(service {self.service.name}) registered 1 targets in (target-group {group_arn})")

    def _wait_for_a_reason_to_stop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self.stop_requested:
                return
            for spec in self.specs:
                process = self.processes.get(spec.name)
                if spec.essential and process is not None and process.poll() is not None:
                    self.request_stop(ESSENTIAL_EXITED, "EssentialContainerExited")
                    return

    def _deactivate(self) -> None:
        if not self.targets and not self.cloud_map_instances:
            return
        self._set_status("DEACTIVATING")
        servicediscovery.deregister_task(self.cloud_map_instances)
        if self.service is not None and self.targets:
            self.service.add_event(f"(service {self.service.name}) has begun draining connections on 1 tasks.")
        for group_arn, target, _ in self.targets:
            elb.deregister_target(target)
            if self.service is not None:
                self.service.add_event(
                    f"(service {self.service.name}) deregistered 1 targets in (target-group {group_arn})"
                )
        for _, target, _ in self.targets:
            target.drained.wait()

    def _stop_containers(self) -> None:
        self._set_status("STOPPING")
        alive = {name: p for name, p in self.processes.items() if p.poll() is None}
        for process in alive.values():
            processes.signal_tree(process.pid, signal.SIGTERM)
        for spec in self.specs:
            process = alive.get(spec.name)
            if process is None:
                continue
            try:
                process.wait(clock.local_seconds(spec.stop_timeout_s, MIN_STOP_TIMEOUT_S))
            except subprocess.TimeoutExpired:
                processes.signal_tree(process.pid, signal.SIGKILL)
                process.wait()
        self._stopped_containers.set()

    def _reap(self, status: ContainerStatus, process: subprocess.Popen) -> None:
        code = process.wait()
        with registry.LOCK:
            status.exit_code = 128 - code if code < 0 else code  # killed by signal N: 128+N
            status.last_status = "STOPPED"
        self._wake.set()

    # --- helpers --------------------------------------------------------------------------------

    def _init_model(self) -> None:
        task, definition = self.task, self.task_definition
        with registry.LOCK:
            task.last_status = "PROVISIONING"
            task.created_at = utcnow()
            task.health_status = "UNKNOWN"
            task.cpu = str(definition.cpu) if definition.cpu else None
            task.memory = str(definition.memory) if definition.memory else None
            task.platform_family = "Linux"
            task.availability_zone = f"{task.region_name}a"
            task.version = 1
            task.connectivity = None
            task.stop_code = task.stopped_reason = None
            self._give_the_eni_an_address()
            task.containers = [ContainerStatus(task, d) for d in definition.container_definitions]

    def port_on_eni(self, mapping) -> int:
        """Where others reach the container: its container port on the task's own address (awsvpc);
        without an ENI, the local port on 127.0.0.1."""
        return mapping.container_port if self.task.attachments else mapping.host_port

    def _give_the_eni_an_address(self) -> None:
        """moto gives a task's ENI a random 10.x address; AWS gives one from its subnet."""
        for attachment in self.task.attachments:
            subnet_id, eni_id = _detail(attachment, "subnetId"), _detail(attachment, "networkInterfaceId")
            backend = _ec2(self.task)
            subnet, eni = backend.get_subnet(subnet_id), backend.get_network_interface(eni_id)
            self.address = network.allocate_address(subnet.cidr_block)
            eni.private_ip_address = self.address
            eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": self.address}]
            groups = [g.id for g in eni.group_set] or [backend.get_default_security_group(subnet.vpc_id).id]
            self.security_groups = frozenset(groups)
            self.vpc_id = subnet.vpc_id
            for detail in attachment["details"]:
                if detail["name"] == "privateIPv4Address":
                    detail["value"] = self.address
                elif detail["name"] == "privateDnsName":
                    detail["value"] = f"ip-{self.address.replace('.', '-')}.{self.task.region_name}.compute.internal"

    def _release_the_eni(self) -> None:
        """AWS deletes a task's ENI once it has stopped: its address and security groups are free."""
        network.release_address(self.address)
        backend = _ec2(self.task)
        for attachment in self.task.attachments:
            try:
                backend.delete_network_interface(_detail(attachment, "networkInterfaceId"))
            except Exception:  # gone already: a reset of the local cloud
                pass

    def _set_status(self, status: str, **fields) -> None:
        with registry.LOCK:
            self.task.last_status = status
            self.task.version += 1
            for name, value in fields.items():
                setattr(self.task, name, value)
        self._notify()

    def _health_changed(self) -> None:
        essential = [self.health[s.name].status for s in self.specs if s.essential and s.name in self.health]
        for status in self.task.containers:
            if status.name in self.health:
                status.health_status = self.health[status.name].status
        overall = (
            "UNHEALTHY"
            if "UNHEALTHY" in essential
            else "HEALTHY"
            if essential and all(s == "HEALTHY" for s in essential)
            else "UNKNOWN"
        )
        with registry.LOCK:
            self.task.health_status = overall
        self._notify()

    def _check_stop(self) -> None:
        if self.stop_requested:
            raise _Stopping()

    def _notify(self) -> None:
        if self.service is not None:
            self.service.wake()


def _detail(attachment: dict, name: str) -> str | None:
    return next((d["value"] for d in attachment["details"] if d["name"] == name), None)


def _ec2(task):
    from moto.ec2.models import ec2_backends

    return ec2_backends[task._account_id][task.region_name]


class _Stopping(Exception):
    """A stop was requested before the task was running."""

"""The ECS service scheduler on the local cloud: each service keeps desiredCount tasks of its
primary deployment running, replaces tasks that exit or fail their health checks, and rolls to a
new deployment within minimumHealthyPercent and maximumPercent, as the rolling update deployment
controller does (Amazon ECS Developer Guide, "Deploy Amazon ECS services by replacing tasks").

A pass over every service runs every PASS_EVERY_S, and at once when a task changes state or a
service is created or updated. What it decides shows in describe_services: runningCount,
pendingCount, deployments with their rolloutState, and events worded as AWS words them.
"""

import math
import threading
import time
import traceback
import uuid

from moto.core.utils import utcnow

from labkit.dataplane.core import clock, state
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.ecs import registry, service_deployments, traffic_shifts
from labkit.dataplane.ecs.tasks import TaskRuntime

PASS_EVERY_S = 0.2
MAX_EVENTS = 100  # describe_services shows the latest 100 events, as on AWS
STOPPED_TASKS_KEPT = 100  # per cluster; AWS shows stopped tasks for about an hour
# After a task fails to start, the next launch waits, doubling up to the cap (AWS throttles a
# service whose tasks keep failing, with longer waits).
FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.5, 10.0
DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
}

_services: list["ServiceRuntime"] = []
_wake = threading.Event()
_started = threading.Event()


class Deployment:
    def __init__(self, deployment_id: str, task_definition: str, service):
        self.id = deployment_id
        self.task_definition = task_definition
        self.status = "PRIMARY"
        self.created_at = self.updated_at = utcnow()
        self.rollout_state = "IN_PROGRESS"
        self.rollout_state_reason = f"ECS deployment {deployment_id} in progress."
        self.failed_tasks = 0
        self.launch_type = service.launch_type
        self.platform_version = service.platform_version
        self.network_configuration = service.network_configuration or None
        # AWS shows a service's Service Connect configuration on each of its deployments, not on the service.
        self.service_connect_configuration = getattr(service, "service_connect_configuration", None)
        self.revision_arn = service_deployments.revision_arn(service, service.cluster_name)
        # The target group each of the service's load balancers registers this deployment's tasks in
        # (by the group the service names): the alternate one for a blue/green deployment's green.
        self.target_groups: dict[str, str] = {}
        self.production_weight = 100
        self.shift: traffic_shifts.TrafficShift | None = None
        self.record: service_deployments.ServiceDeployment | None = None
        self.failure_threshold = 0
        self.steady_since: float | None = None  # when a rolling deployment with alarms began its bake time

    def as_moto(self, desired: int, running: int, pending: int) -> dict:
        service_connect = (
            {"serviceConnectConfiguration": self.service_connect_configuration}
            if self.service_connect_configuration
            else {}
        )
        return {
            **service_connect,
            "id": self.id,
            "status": self.status,
            "taskDefinition": self.task_definition,
            "desiredCount": desired,
            "runningCount": running,
            "pendingCount": pending,
            "failedTasks": self.failed_tasks,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "launchType": self.launch_type,
            "platformVersion": self.platform_version,
            "platformFamily": "Linux",
            "networkConfiguration": self.network_configuration,
            "rolloutState": self.rollout_state,
            "rolloutStateReason": self.rollout_state_reason,
        }


class ServiceRuntime:
    def __init__(self, service, backend):
        self.service = service  # moto's Service
        self.backend = backend
        first = service.deployments[0]["id"] if service.deployments else new_deployment_id()
        self.deployments = [Deployment(first, service.task_definition, service)]
        self.service_deployments: list[service_deployments.ServiceDeployment] = []
        self.last_completed: Deployment | None = None
        self._record(self.deployments[0], [])
        self.tasks: list[TaskRuntime] = []
        self.failures_in_a_row = 0
        self.next_launch_at = 0.0
        self.steady = False
        service.events = []

    @property
    def name(self) -> str:
        return self.service.name

    def load_balancers(self, deployment: Deployment | None = None) -> list[dict]:
        """The service's load balancers; for a deployment, with the target groups its tasks use."""
        given = list(self.service.load_balancers or [])
        if deployment is None:
            return given
        return [
            {**lb, "targetGroupArn": deployment.target_groups.get(lb.get("targetGroupArn"), lb.get("targetGroupArn"))}
            for lb in given
        ]

    def wake(self) -> None:
        _wake.set()

    def add_event(self, message: str) -> None:
        event = {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": message}
        with registry.LOCK:
            self.service.events = [event, *self.service.events][:MAX_EVENTS]

    def deploy(
        self, task_definition_arn: str, rolling_back: service_deployments.ServiceDeployment | None = None
    ) -> None:
        """update_service with a new task definition, or forceNewDeployment; or the circuit breaker's
        rollback of a deployment (whose service deployment it completes)."""
        with registry.LOCK:
            blue = self.deployments[0]
            for deployment in self.deployments:
                deployment.status = "ACTIVE"
                if deployment.shift is not None:
                    deployment.shift.stop()
            new = Deployment(new_deployment_id(), task_definition_arn, self.service)
            configuration = self.configuration()
            shifting = rolling_back is None and traffic_shifts.applies(configuration, self.load_balancers())
            if shifting:
                new.target_groups = traffic_shifts.green_target_groups(self.load_balancers(), blue.target_groups)
                new.production_weight = 0
            else:
                new.target_groups = dict(blue.target_groups)
            self.deployments.insert(0, new)
            if rolling_back is None:
                self._record(new, [d for d in self.deployments[1:]])
            else:
                new.record = rolling_back
            if shifting:
                new.shift = traffic_shifts.TrafficShift(self, new, blue, new.record, configuration)
                new.shift.start()
            self.steady = False
            self.failures_in_a_row, self.next_launch_at = 0, 0.0
            self._publish()
        self.wake()

    def restore(self, blue: Deployment, green: Deployment, reason: str) -> None:
        """A traffic-shifting deployment rolled back: blue is the primary deployment again and the
        scheduler stops green's tasks (called with registry.LOCK held)."""
        if blue in self.deployments:
            self.deployments.remove(blue)
        self.deployments.insert(0, blue)
        blue.status, green.status = "PRIMARY", "ACTIVE"
        green.rollout_state, green.rollout_state_reason = "FAILED", reason
        self.service.task_definition = blue.task_definition
        self.steady = False
        self.add_event(f"(service {self.name}) rolling back to deployment {blue.id}.")
        self._publish()
        self.wake()

    def _record(self, deployment: Deployment, sources: list[Deployment]) -> None:
        deployment.record = service_deployments.ServiceDeployment(
            self.service, self.service.cluster_name, deployment, sources, self.configuration()
        )
        self.service_deployments.insert(0, deployment.record)

    def configuration(self) -> dict:
        given = getattr(self.service, "deployment_configuration", None) or {}
        return {**DEFAULT_DEPLOYMENT_CONFIGURATION, **given}

    # --- one pass ---------------------------------------------------------------------------------

    def reconcile(self) -> None:
        self._account_for_stopped_tasks()
        if self.service.status != "ACTIVE":
            self._drain_service()
            return
        self._replace_failing_tasks()
        primary = self.deployments[0]
        self._watch_alarms(primary)
        desired = int(self.service.desired_count or 0)
        configuration = self.configuration()
        # maximumPercent is an upper limit during deployments: it never keeps a service below its
        # desired count.
        max_total = max(desired, math.floor(desired * configuration["maximumPercent"] / 100))
        min_serving = math.ceil(desired * configuration["minimumHealthyPercent"] / 100)
        shift = primary.shift
        if shift is not None:
            # Blue/green runs both revisions in full: green starts once its hooks allow, and blue's
            # tasks stay until CLEAN_UP.
            max_total = 2 * desired if shift.may_scale_up else 0

        live = [t for t in self.tasks if t.live]
        primary_live = [t for t in live if t.deployment is primary]
        room = min(desired - len(primary_live), max_total - len(live))
        if room > 0 and primary.rollout_state != "FAILED" and time.monotonic() >= self.next_launch_at:
            self._launch(primary, room)

        surplus = len(primary_live) - desired
        if surplus > 0:
            for task in sorted(primary_live, key=lambda t: (t.serves(), -t.created))[:surplus]:
                self._stop(task)

        live = [t for t in self.tasks if t.live]
        serving = sum(1 for t in live if t.serves())
        holding = shift is not None and shift.holding_blue
        for task in sorted((t for t in live if t.deployment is not primary and not holding), key=lambda t: t.serves()):
            if not task.serves():
                self._stop(task)
            elif serving - 1 >= min_serving:
                self._stop(task)
                serving -= 1
        self._retire_finished_deployments()
        self._complete_rollout(primary, desired)
        self._publish()

    def _launch(self, deployment: Deployment, count: int) -> None:
        from moto.ecs.models import Task

        service, backend = self.service, self.backend
        task_definition = backend.describe_task_definition(deployment.task_definition)
        cluster = backend._get_cluster(service.cluster_name)
        started = []
        for _ in range(count):
            try:
                task = Task(
                    cluster,
                    task_definition,
                    None,
                    backend._calculate_task_resource_requirements(task_definition),
                    backend=backend,
                    group=f"service:{service.name}",
                    launch_type=service.launch_type or "",
                    overrides={},
                    started_by=deployment.id,
                    tags=self._propagated_tags(task_definition),
                    networking_configuration=service.network_configuration or None,
                    platform_version=deployment.platform_version,
                )
            except Exception as error:  # e.g. a deleted subnet: retried with backoff
                self.add_event(
                    f"(service {service.name}) was unable to place a task. Reason: {getattr(error, 'message', error)}"
                )
                self._back_off()
                break
            backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
            runtime = TaskRuntime(task, task_definition, service=self, deployment=deployment)
            self.tasks.append(runtime)
            runtime.start()
            started.append(runtime)
        if started:
            self.steady = False
            listed = " ".join(f"(task {t.id})" for t in started)
            self.add_event(f"(service {service.name}) has started {len(started)} tasks: {listed}.")

    def _stop(self, task: TaskRuntime, reason: str | None = None) -> None:
        """Stop a task for a scaling activity, or for the reason given (its health checks)."""
        task.failed_checks = reason is not None
        task.request_stop(
            reason or f"Scaling activity initiated by (deployment {self.deployments[0].id})",
            "ServiceSchedulerInitiated",
        )
        self.steady = False
        self.add_event(f"(service {self.name}) has stopped 1 running tasks: (task {task.id}).")

    def _replace_failing_tasks(self) -> None:
        grace = clock.local_seconds(getattr(self.service, "health_check_grace_period_seconds", 0) or 0)
        for task in [t for t in self.tasks if t.running]:
            if task.serves():
                task.ever_served = True
                self.failures_in_a_row = 0
            if time.monotonic() - (task.started_at_monotonic or 0) < grace:
                continue
            unhealthy = task.unhealthy_target()
            if unhealthy is not None:
                group_arn, port, description = unhealthy
                self.add_event(
                    f"(service {self.name}) (port {port}) is unhealthy in (target-group "
                    f"{group_arn}) due to (reason {description})."
                )
                self._stop(task, f"Task failed ELB health checks in (target-group {group_arn})")
            elif task.health_status == "UNHEALTHY":
                self.add_event(f"(service {self.name}) (task {task.id}) failed container health checks.")
                self._stop(task, "Task failed container health checks")

    def _account_for_stopped_tasks(self) -> None:
        """A task that stopped before it ever served, by itself or for failing its health checks,
        counts as failed for its deployment."""
        for task in [t for t in self.tasks if not t.live and not t.accounted]:
            task.accounted = True
            self.steady = False
            stopped_by_itself = task.task.stop_code in ("TaskFailedToStart", "EssentialContainerExited")
            if task.ever_served or not (stopped_by_itself or task.failed_checks):
                continue
            task.deployment.failed_tasks += 1
            self._back_off()
            self._trip_circuit_breaker(task.deployment)
        self.tasks = [t for t in self.tasks if not t.finished.is_set()]

    def _back_off(self) -> None:
        self.failures_in_a_row += 1
        delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (self.failures_in_a_row - 1))
        self.next_launch_at = time.monotonic() + delay
        if self.failures_in_a_row == 3:
            self.add_event(
                f"(service {self.name}) is unable to consistently start tasks "
                f"successfully. For more information, see the Troubleshooting section "
                f"of the Amazon ECS Developer Guide."
            )

    def _trip_circuit_breaker(self, deployment: Deployment) -> None:
        breaker = self.configuration().get("deploymentCircuitBreaker") or {}
        threshold = min(200, max(3, math.ceil(int(self.service.desired_count or 0) / 2)))
        deployment.failure_threshold = threshold
        if (
            not breaker.get("enable")
            or deployment.rollout_state != "IN_PROGRESS"
            or deployment.failed_tasks < threshold
        ):
            return
        self.add_event(f"(service {self.name}) (deployment {deployment.id}) deployment failed: tasks failed to start.")
        self._fail(
            deployment, "ECS deployment circuit breaker", "tasks failed to start.", bool(breaker.get("rollback"))
        )

    def _watch_alarms(self, primary: Deployment) -> None:
        """deploymentConfiguration.alarms during a rolling deployment (a traffic shift watches its own)."""
        alarms = self.configuration().get("alarms") or {}
        record = primary.record
        # Not a rollback's deployment: the alarm that caused it is still in ALARM.
        if primary.shift is not None or primary.rollout_state != "IN_PROGRESS" or record is None:
            return
        if record.status != "IN_PROGRESS" or record.target is not primary:
            return
        firing = traffic_shifts.firing_alarms(self.service.arn, alarms)
        if firing:
            record.triggered_alarms = firing
            self.add_event(f"(service {self.name}) (deployment {primary.id}) deployment failed: alarm detected.")
            self._fail(
                primary, "ECS deployment alarms", f"{', '.join(firing)} in ALARM state.", bool(alarms.get("rollback"))
            )

    def _fail(self, deployment: Deployment, cause: str, what: str, roll_back: bool) -> None:
        """The deployment failed; with roll_back, the last completed deployment is deployed again."""
        deployment.rollout_state = "FAILED"
        deployment.rollout_state_reason = f"{cause}: {what}"
        # The last deployment that completed, even once its tasks are gone (AWS rolls back to it).
        previous = self.last_completed if self.last_completed is not deployment else None
        roll_back = roll_back and previous is not None
        if deployment.shift is not None:
            deployment.shift.fail(deployment.rollout_state_reason, roll_back)
            return
        if not roll_back or deployment is not self.deployments[0]:
            if deployment.record is not None:
                deployment.record.finish("STOPPED", deployment.rollout_state_reason)
            return
        reason = f"{cause}: rolling back to deploymentId {previous.id}."
        self.add_event(f"(service {self.name}) rolling back to deployment {previous.id}.")
        self.service.task_definition = previous.task_definition
        if deployment.record is not None:
            deployment.record.roll_back(reason, previous.revision_arn)
        self.deploy(previous.task_definition, rolling_back=deployment.record)
        self.deployments[0].rollout_state_reason = reason

    def _retire_finished_deployments(self) -> None:
        in_use = {id(t.deployment) for t in self.tasks}
        self.deployments = [self.deployments[0]] + [d for d in self.deployments[1:] if id(d) in in_use]

    def _complete_rollout(self, primary: Deployment, desired: int) -> None:
        live = [t for t in self.tasks if t.live]
        settled = (
            len(self.deployments) == 1
            and len(live) == desired
            and all(t.serves() for t in live)
            and len(self.tasks) == len(live)
        )
        if settled and not self._baked(primary):
            return
        if settled and primary.record is not None and not primary.record.finished:
            rolled_back = primary.record.status == "ROLLBACK_IN_PROGRESS"
            primary.record.finish("ROLLBACK_SUCCESSFUL" if rolled_back else "SUCCESSFUL")
        if settled and primary.rollout_state == "IN_PROGRESS":
            self.last_completed = primary
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = f"ECS deployment {primary.id} completed."
            primary.updated_at = utcnow()
            self.add_event(f"(service {self.name}) (deployment {primary.id}) deployment completed.")
        if settled and not self.steady:
            self.steady = True
            self.add_event(f"(service {self.name}) has reached a steady state.")

    def _baked(self, primary: Deployment) -> bool:
        """A rolling deployment with alarms stays IN_PROGRESS for a bake time once steady, watching them:
        AWS computes it from the alarms; here, the longest alarm's window (Period x EvaluationPeriods)
        and one period more, for the evaluation that ends it."""
        alarms = self.configuration().get("alarms") or {}
        if primary.shift is not None or not alarms.get("enable") or primary.rollout_state != "IN_PROGRESS":
            return True
        if primary.steady_since is None:
            primary.steady_since = time.monotonic()
        from labkit.dataplane import cloudwatch

        arn = Arn.parse(self.service.arn)
        windows = [cloudwatch.alarm_window_seconds(arn.account, arn.region, n) for n in alarms.get("alarmNames") or []]
        return time.monotonic() - primary.steady_since >= clock.local_seconds(max(windows, default=0))

    def _drain_service(self) -> None:
        """delete_service: the service is DRAINING until its tasks have stopped."""
        for deployment in self.deployments:
            if deployment.shift is not None:
                deployment.shift.stop()
        for task in [t for t in self.tasks if t.live]:
            self._stop(task)
        if not self.tasks and self.service.status == "DRAINING":
            self.service.status = "INACTIVE"
        self._publish()

    def _propagated_tags(self, task_definition) -> list[dict]:
        source = getattr(self.service, "propagate_tags", "NONE")
        if source == "SERVICE":
            return list(self.service.tags or [])
        if source == "TASK_DEFINITION":
            return list(task_definition.tags or [])
        return []

    def task_counts(self, deployment: Deployment) -> tuple[int, int, int]:
        """(requested, running, pending) tasks of a deployment, as service deployments report them."""
        live = [t for t in self.tasks if t.live and t.deployment is deployment]
        running = sum(1 for t in live if t.task.last_status == "RUNNING")
        primary = deployment is self.deployments[0]
        requested = int(self.service.desired_count or 0) if primary or deployment.shift else len(live)
        return requested, running, len(live) - running

    def _publish(self) -> None:
        """Write what is true now onto moto's Service, which describe_services serializes."""

        def counts(tasks):
            live = [t for t in tasks if t.live]
            running = sum(1 for t in live if t.task.last_status == "RUNNING")
            return running, len(live) - running

        service = self.service
        service.running_count, service.pending_count = counts(self.tasks)
        moto_deployments = []
        for deployment in self.deployments:
            running, pending = counts([t for t in self.tasks if t.deployment is deployment])
            desired = int(service.desired_count or 0) if deployment is self.deployments[0] else running + pending
            moto_deployments.append(deployment.as_moto(desired, running, pending))
        service.deployments = moto_deployments
        service.task_definition = self.deployments[0].task_definition


def new_deployment_id() -> str:
    return f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"


def adopt(service, backend) -> ServiceRuntime:
    """A new service from create_service: the scheduler runs it from now on."""
    runtime = ServiceRuntime(service, backend)
    state.put(service, "runtime", runtime)
    with registry.LOCK:
        _services.append(runtime)
    start()
    _wake.set()
    return runtime


def runtime_of(service) -> ServiceRuntime | None:
    return state.get(service, "runtime")


def start() -> None:
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_loop, daemon=True, name="ecs scheduler").start()


def forget_all() -> None:
    with registry.LOCK:
        for runtime in _services:
            for deployment in runtime.deployments:
                if deployment.shift is not None:
                    deployment.shift.stop()
        _services.clear()


def _loop() -> None:
    while True:
        _wake.wait(PASS_EVERY_S)
        _wake.clear()
        try:
            with registry.LOCK:
                for runtime in list(_services):
                    runtime.reconcile()
                    if runtime.service.status == "INACTIVE" and not runtime.tasks:
                        _services.remove(runtime)
                for backend in registry.backends():
                    _update_clusters(backend)
        except Exception:  # one bad pass must not end the scheduler
            traceback.print_exc()


def _update_clusters(backend) -> None:
    """Cluster counts from what runs, and stopped tasks beyond STOPPED_TASKS_KEPT forgotten."""
    for cluster in list(backend.clusters.values()):
        tasks = backend.tasks.get(cluster.name, {})
        stopped = [arn for arn, t in tasks.items() if t.last_status == "STOPPED"]
        for arn in stopped[:-STOPPED_TASKS_KEPT]:
            del tasks[arn]
        cluster.running_tasks_count = sum(1 for t in tasks.values() if t.last_status == "RUNNING")
        cluster.pending_tasks_count = sum(
            1 for t in tasks.values() if t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING")
        )
        cluster.active_services_count = sum(
            1 for s in backend.services.values() if s.cluster_name == cluster.name and s.status == "ACTIVE"
        )

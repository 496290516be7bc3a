"""Application Auto Scaling on the local cloud: target tracking of ECS services' desired count.

Every period (one AWS minute, one second locally: labkit.dataplane.core.clock) each
TargetTrackingScaling policy on ecs:service:DesiredCount measures its predefined metric:
- ALBRequestCountPerTarget: requests the target group received in the period, per healthy target,
  counted by the load balancer's data plane;
- ECSServiceAverageCPUUtilization / ...MemoryUtilization: the service's running tasks' processes,
  from /proc, against the task's CPU and memory size.
As the alarms AWS creates for target tracking do, 3 periods above the target scale out and 15
periods below 90% of it scale in; a period without a datapoint (an ALB publishes no
RequestCountPerTarget for a period without requests) leaves the alarm without data, so a service
without traffic is never scaled in, to ceil(desired x metric / target) within the scalable target's
min and max capacity, honouring ScaleOutCooldown and ScaleInCooldown (300 s by default: 5 s
locally) and DisableScaleIn. Each change is a scaling activity (describe_scaling_activities, which
moto lacks), caused by the policy's alarm by name, and the metrics are put in CloudWatch (moto's
backend, in this process), where the policy's two alarms, made as AWS makes them, watch them (the
cloudwatch package evaluates them; the decisions above are still this module's own).
"""

import math
import threading
import time
import traceback
import uuid
from collections import deque

from labkit.dataplane import ecs, elb
from labkit.dataplane.core import clock, seams
from labkit.dataplane.core import state as kept
from labkit.dataplane.core.seams import Seam

PERIOD_S = clock.local_seconds(60)
HIGH_PERIODS, LOW_PERIODS = 3, 15
SCALE_IN_MARGIN = 0.9
DEFAULT_COOLDOWN_S = 300
DIMENSION = "ecs:service:DesiredCount"
MAX_ACTIVITIES = 100
_started = threading.Event()


def install() -> None:
    seams.declare(
        "autoscaling: target tracking scales ECS services",
        "moto.applicationautoscaling.responses",
        "labkit.dataplane.autoscaling:SEAMS",
        then=_start,
    )


def _start() -> None:
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_loop, daemon=True, name="autoscaling").start()


class PolicyState:
    """What a policy remembers between periods."""

    def __init__(self):
        self.values: deque = deque(maxlen=LOW_PERIODS)
        self.last_scale_out = self.last_scale_in = -math.inf
        self.baseline: dict = {}  # the previous period's counters, per what they count


def _loop() -> None:
    while True:
        time.sleep(PERIOD_S)
        try:
            for backend in _backends():
                for policy in list(backend.policies.values()):
                    if (
                        policy.policy_type == "TargetTrackingScaling"
                        and policy.service_namespace == "ecs"
                        and policy.scalable_dimension == DIMENSION
                    ):
                        _evaluate(backend, policy)
        except Exception:  # one bad period must not end the evaluations
            traceback.print_exc()


def _evaluate(backend, policy) -> None:
    scalable = backend.targets.get(DIMENSION, {}).get(policy.resource_id)
    service = _service(backend.ecs_backend, policy.resource_id)
    running = ecs.running_tasks(service) if service is not None else None
    if scalable is None or running is None or service.status != "ACTIVE":
        return
    state = kept.setdefault(policy, "target tracking", PolicyState)
    config = policy.target_tracking_scaling_policy_configuration or {}
    value = _measure(config.get("PredefinedMetricSpecification") or {}, service, running, state, backend)
    state.values.append(value)
    current = int(service.desired_count or 0)
    low, high = int(scalable.min_capacity or 0), int(scalable.max_capacity or 0)
    if not low <= current <= high:
        wanted = min(high, max(low, current))
        cause = f"the scalable target's capacity is from {low} to {high}"
    else:
        wanted = _wanted_capacity(config, state, current, low, high, scalable.suspended_state or {})
        direction = "High" if (wanted or 0) > current else "Low"
        alarm = next(a.name for a in policy.alarms if f"-Alarm{direction}-" in a.name)
        cause = f"monitor alarm {alarm} in state ALARM triggered policy {policy.policy_name}"
    if wanted is None or wanted == current:
        return
    ecs.set_desired_count(service, wanted)
    if wanted > current:
        state.last_scale_out = time.monotonic()
    else:
        state.last_scale_in = time.monotonic()
    state.values.clear()  # the alarm that fired starts counting its periods anew
    _record_activity(backend, policy, wanted, cause)


def _wanted_capacity(
    config: dict, state: PolicyState, current: int, low: int, high: int, suspended: dict
) -> int | None:
    target = float(config.get("TargetValue") or 0)
    values = list(state.values)
    if target <= 0 or len(values) < HIGH_PERIODS or None in values[-HIGH_PERIODS:]:
        return None
    now, latest = time.monotonic(), values[-1]
    out_cooldown = clock.local_seconds(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN_S))
    in_cooldown = clock.local_seconds(config.get("ScaleInCooldown", DEFAULT_COOLDOWN_S))
    proportional = math.ceil(current * latest / target) if current else 1
    if (
        all(v > target for v in values[-HIGH_PERIODS:])
        and current < high
        and not suspended.get("DynamicScalingOutSuspended")
        and now - state.last_scale_out >= out_cooldown
    ):
        return min(high, max(current + 1, proportional))
    if (
        len(values) == LOW_PERIODS
        and None not in values
        and all(v < target * SCALE_IN_MARGIN for v in values)
        and current > low
        and not config.get("DisableScaleIn")
        and not suspended.get("DynamicScalingInSuspended")
        and now - max(state.last_scale_in, state.last_scale_out) >= in_cooldown
    ):
        return max(low, min(current - 1, proportional))
    return None


def _measure(specification: dict, service, running: list, state: PolicyState, backend) -> float | None:
    kind = specification.get("PredefinedMetricType", "")
    now = time.monotonic()
    if kind == "ALBRequestCountPerTarget":
        group = _target_group(backend, specification.get("ResourceLabel", ""))
        if group is None:
            return None
        value = _per_period(state, "requests", elb.requests_received(group), now)
        if not value:  # a period without requests has no datapoint: INSUFFICIENT_DATA, never scale-in
            return None
        per_target = value / max(1, elb.healthy_target_count(group))
        _put_metric(
            backend,
            "AWS/ApplicationELB",
            "RequestCountPerTarget",
            per_target,
            "Count",
            {"TargetGroup": group.arn.split(":")[-1]},
        )
        return per_target
    if kind in ("ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"):
        if not running:
            return None
        memory = kind.endswith("MemoryUtilization")
        samples = [_task_utilization(task, state, now, memory) for task in running]
        samples = [s for s in samples if s is not None]
        if not samples:
            return None
        average = sum(samples) / len(samples)
        _put_metric(
            backend,
            "AWS/ECS",
            "MemoryUtilization" if memory else "CPUUtilization",
            average,
            "Percent",
            {"ClusterName": service.cluster_name, "ServiceName": service.name},
        )
        return average
    return None  # customized metrics are not evaluated locally


def _task_utilization(task, state: PolicyState, now: float, memory: bool) -> float | None:
    cpu_seconds, resident = task.usage()
    if memory:
        size = task.memory_mib()
        return 100.0 * resident / (size * 1024 * 1024) if size else None
    previous = state.baseline.get(("cpu", task.id))
    state.baseline[("cpu", task.id)] = (cpu_seconds, now)
    if previous is None or now <= previous[1]:
        return None
    used_vcpu = (cpu_seconds - previous[0]) / (now - previous[1])
    return 100.0 * used_vcpu / (task.cpu_units() / 1024)


def _per_period(state: PolicyState, key: str, counter: int, now: float) -> float | None:
    """How much a counter grew over the last period, scaled to exactly one period."""
    previous = state.baseline.get(key)
    state.baseline[key] = (counter, now)
    if previous is None or now <= previous[1]:
        return None
    return (counter - previous[0]) * PERIOD_S / (now - previous[1])


def _record_activity(backend, policy, capacity: int, cause: str) -> None:
    now = time.time()
    activity = {
        "ActivityId": str(uuid.uuid4()),
        "ServiceNamespace": "ecs",
        "ResourceId": policy.resource_id,
        "ScalableDimension": DIMENSION,
        "Description": f"Setting desired count to {capacity}.",
        "Cause": cause,
        "StartTime": now,
        "EndTime": now,
        "StatusCode": "Successful",
        "StatusMessage": f"Successfully set desired count to {capacity}. Change successfully fulfilled by ecs.",
    }
    activities = kept.setdefault(backend, "scaling activities", list)
    activities.insert(0, activity)
    del activities[MAX_ACTIVITIES:]


def _describe_scaling_activities(self) -> str:
    import json

    backend = self.applicationautoscaling_backend
    wanted = {
        "ServiceNamespace": self._get_param("ServiceNamespace"),
        "ResourceId": self._get_param("ResourceId"),
        "ScalableDimension": self._get_param("ScalableDimension"),
    }
    found = [
        a
        for a in kept.get(backend, "scaling activities", [])
        if all(value is None or a[key] == value for key, value in wanted.items())
    ]
    start = int(self._get_param("NextToken") or 0)
    size = self._get_int_param("MaxResults") or 50
    page = found[start : start + size]
    next_token = str(start + size) if start + size < len(found) else None
    return json.dumps({"ScalingActivities": page, **({"NextToken": next_token} if next_token else {})})


def _put_metric(backend, namespace: str, name: str, value: float, unit: str, dimensions: dict[str, str]) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[backend.account_id][backend.region_name].put_metric_data(
        namespace,
        [
            {
                "MetricName": name,
                "Value": value,
                "Unit": unit,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            }
        ],
    )


def _service(ecs_backend, resource_id: str):
    _, cluster, name = (resource_id.split("/") + ["", ""])[:3]
    return ecs_backend.services.get(f"{cluster}:{name}")


def _target_group(backend, resource_label: str):
    """ResourceLabel app/<lb>/<id>/targetgroup/<tg>/<id> names a target group by its ARN's end."""
    from moto.elbv2.models import elbv2_backends

    suffix = resource_label[resource_label.find("targetgroup/") :]
    groups = elbv2_backends[backend.account_id][backend.region_name].target_groups
    return next((g for g in list(groups.values()) if g.arn.endswith(suffix)), None)


def _backends():
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    for regions in list(applicationautoscaling_backends.values()):
        yield from list(regions.values())


def _alarms_as_aws_makes_them(self) -> list:
    """The two alarms target tracking makes (Application Auto Scaling User Guide, "Target tracking
    scaling policies"): AlarmHigh, 3 periods above the target, and AlarmLow, 15 below 90% of it, on the
    policy's metric; moto's watch CPUUtilization against 6 whatever the policy says."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.moto_api._internal import mock_random

    cloudwatch = cloudwatch_backends[self.account_id][self.region_name]
    config = self.target_tracking_scaling_policy_configuration or {}
    specification = config.get("PredefinedMetricSpecification") or {}
    kind = specification.get("PredefinedMetricType", "")
    target = float(config.get("TargetValue") or 0)
    if kind == "ALBRequestCountPerTarget":
        label = specification.get("ResourceLabel", "")
        namespace, metric, statistic = "AWS/ApplicationELB", "RequestCountPerTarget", "Sum"
        dimensions = [{"Name": "TargetGroup", "Value": label[label.find("targetgroup/") :]}]
    else:
        _, cluster, service = self.resource_id.split("/")
        namespace, statistic = "AWS/ECS", "Average"
        metric = "MemoryUtilization" if "Memory" in kind else "CPUUtilization"
        dimensions = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service}]
    action = f"{self.policy_arn}:createdBy/{mock_random.uuid4()}"
    return [
        cloudwatch.put_metric_alarm(
            name=f"TargetTracking-{self.resource_id}-Alarm{direction}-{mock_random.uuid4()}",
            namespace=namespace,
            metric_name=metric,
            metric_data_queries=[],
            comparison_operator=operator,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            period=60,
            threshold=threshold,
            statistic=statistic,
            description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}",
            dimensions=dimensions,
            alarm_actions=[action],
        )
        for direction, operator, periods, threshold in (
            ("High", "GreaterThanThreshold", HIGH_PERIODS, target),
            ("Low", "LessThanThreshold", LOW_PERIODS, target * SCALE_IN_MARGIN),
        )
    ]


SEAMS = (
    Seam(
        "moto.applicationautoscaling.models.FakeApplicationAutoscalingPolicy._generate_ecs_alarms",
        ("self",),
        replace=lambda _: _alarms_as_aws_makes_them,
    ),
    # Its alarms are kept as the policy's, which DeleteScalingPolicy deletes.
    Seam(
        "moto.applicationautoscaling.models.FakeApplicationAutoscalingPolicy.create_alarms",
        contains="self.alarms.extend(self._generate_ecs_alarms())",
    ),
    # moto has no DescribeScalingActivities.
    Seam(
        "moto.applicationautoscaling.responses.ApplicationAutoScalingResponse.describe_scaling_activities",
        replace=lambda _: _describe_scaling_activities,
    ),
)

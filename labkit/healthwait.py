"""Waiting for a target group's targets to pass their health checks, out loud: the states as they
change, an early stop with AWS's reason when a target fails its checks, and a clear word on giving up.
boto3 only, so it waits the same way on both targets (AWS's own waiter polls in silence, then raises
a WaiterError that does not say why)."""

import re

from labkit import waits
from labkit.errors import LabkitError

# What a failing health check most often means, by AWS's reason code.
_FIXES = {
    "Target.ResponseCodeMismatch": "does the service answer {path!r}, the group's HealthCheckPath, with 200? Change "
    "a setting of a group that exists with elbv2.modify_target_group(TargetGroupArn=..., HealthCheckPath=...)",
    "Target.Timeout": "nothing answered: does the targets' security group admit the load balancer's on this port, "
    "and does the service listen on it?",
}


def wait_for_healthy_targets(
    group_arn: str, minimum: int = 1, timeout_s: float | None = None, service: tuple[str, str] | None = None
) -> int:
    """Wait until at least `minimum` targets of the group are healthy; returns how many are.

    `service` (cluster, service name) is the ECS service registering its tasks in the group: ECS stops a task
    that fails its health checks and deregisters it, which can be sooner than a poll sees it unhealthy, but
    the service's events keep the reason ("(port 8080) is unhealthy in (target-group ...) due to (reason
    Request timed out)"), so the wait stops with it either way."""
    from labkit.awsapi import Clients

    clients = Clients()
    elb = clients("elbv2")
    name = group_arn.rsplit("/", 2)[-2]
    events = _ServiceEvents(clients("ecs"), *service) if service else None

    def probe():
        found = elb.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
        healthy = sum(1 for t in found if t["TargetHealth"]["State"] == "healthy")
        if healthy >= minimum:
            return healthy, f"{healthy} healthy target(s)"
        failing = next((t["TargetHealth"] for t in found if t["TargetHealth"].get("Reason") in _FIXES), None)
        reason = (failing["Reason"], failing.get("Description")) if failing else None
        if reason is None and events is not None:
            reason = events.unhealthy_in(group_arn)
        if reason is not None:
            path = elb.describe_target_groups(TargetGroupArns=[group_arn])["TargetGroups"][0].get("HealthCheckPath")
            raise LabkitError(
                f"a target of {name} is unhealthy: {reason[1]} ({reason[0]}); {_FIXES[reason[0]].format(path=path)}"
            )
        return None, ", ".join(t["TargetHealth"]["State"] for t in found) or "no target registered"

    what = f"{minimum} healthy target(s) in {name}"
    return waits.wait_for(what, probe, timeout_s or waits.minutes(10, at_least_s=120))


class _ServiceEvents:
    """The ECS service's events that came after the wait began."""

    _UNHEALTHY = re.compile(r"is unhealthy in \(target-group (?P<group>[^)]+)\) due to \(reason (?P<reason>.+)\)\.?$")

    def __init__(self, ecs, cluster: str, service: str):
        self.ecs, self.cluster, self.service = ecs, cluster, service
        self.seen = {e["id"] for e in self._events()}

    def _events(self) -> list[dict]:
        found = self.ecs.describe_services(cluster=self.cluster, services=[self.service])["services"]
        return found[0].get("events", []) if found else []

    def unhealthy_in(self, group_arn: str) -> tuple[str, str] | None:
        """(AWS's reason code, its description) of the latest new event saying a task failed the group's checks."""
        for event in self._events():  # newest first
            match = self._UNHEALTHY.search(event["message"]) if event["id"] not in self.seen else None
            if match and match["group"] == group_arn:
                description = match["reason"]
                if description.startswith("Request timed out"):
                    return "Target.Timeout", description
                if description.startswith("Health checks failed with these codes"):
                    return "Target.ResponseCodeMismatch", description
        return None

"""Service deployments as ECS reports them (ListServiceDeployments, DescribeServiceDeployments): one
for each deployment the scheduler starts, with its status (PENDING ... SUCCESSFUL, ROLLBACK_SUCCESSFUL),
its lifecycleStage, the service revisions it goes from and to, and what its circuit breaker and alarms
saw. moto 5.2.5 has neither operation; patches.py adds them over these records.
"""

import uuid

from moto.core.utils import utcnow

FINISHED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


def _short_id() -> str:
    return uuid.uuid4().hex[:20]


def revision_arn(service, cluster_name: str) -> str:
    """A new service revision's ARN, as AWS names it."""
    return _arn(service, "service-revision", cluster_name)


def _arn(service, kind: str, cluster_name: str) -> str:
    prefix = service.arn.split(":service/")[0]
    return f"{prefix}:{kind}/{cluster_name}/{service.name}/{_short_id()}"


class ServiceDeployment:
    def __init__(self, service, cluster_name: str, target, sources: list, configuration: dict):
        self.arn = _arn(service, "service-deployment", cluster_name)
        self.service_arn = service.arn
        self.cluster_arn = service.arn.split(":service/")[0] + f":cluster/{cluster_name}"
        self.created_at = self.started_at = self.updated_at = utcnow()
        self.finished_at = self.stopped_at = None
        self.status = "IN_PROGRESS"
        self.status_reason: str | None = None
        self.lifecycle_stage: str | None = None
        self.target = target  # the scheduler's Deployment
        self.sources = list(sources)
        self.configuration = configuration
        self.rollback: dict | None = None
        self.triggered_alarms: list[str] = []

    def enter(self, stage: str) -> None:
        self.lifecycle_stage, self.updated_at = stage, utcnow()

    def finish(self, status: str, reason: str | None = None) -> None:
        if self.status in FINISHED:
            return
        self.status, self.updated_at = status, utcnow()
        self.finished_at = self.updated_at
        if reason is not None:
            self.status_reason = reason

    def roll_back(self, reason: str, to_revision_arn: str) -> None:
        self.status, self.status_reason, self.updated_at = "ROLLBACK_IN_PROGRESS", reason, utcnow()
        self.rollback = {"reason": reason, "startedAt": self.updated_at, "serviceRevisionArn": to_revision_arn}

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def brief(self) -> dict:
        found = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "targetServiceRevisionArn": self.target.revision_arn,
            "status": self.status,
        }
        if self.finished_at is not None:
            found["finishedAt"] = self.finished_at
        if self.status_reason:
            found["statusReason"] = self.status_reason
        return found

    def describe(self, counts) -> dict:
        """counts(deployment) -> (requested, running, pending)."""

        def summary(deployment) -> dict:
            requested, running, pending = counts(deployment)
            return {
                "arn": deployment.revision_arn,
                "requestedTaskCount": requested,
                "runningTaskCount": running,
                "pendingTaskCount": pending,
                "requestedProductionTrafficWeight": float(deployment.production_weight),
            }

        breaker = self.configuration.get("deploymentCircuitBreaker") or {}
        alarms = self.configuration.get("alarms") or {}
        found = {
            **self.brief(),
            "updatedAt": self.updated_at,
            "sourceServiceRevisions": [summary(d) for d in self.sources],
            "targetServiceRevision": summary(self.target),
            "deploymentConfiguration": self.configuration,
            "deploymentCircuitBreaker": {
                "status": (
                    "DISABLED"
                    if not breaker.get("enable")
                    else "TRIGGERED"
                    if self.target.rollout_state == "FAILED" and self.target.failed_tasks
                    else "MONITORING_COMPLETE"
                    if self.finished
                    else "MONITORING"
                ),
                "failureCount": self.target.failed_tasks,
                "threshold": self.target.failure_threshold,
            },
            "alarms": {
                "status": (
                    "DISABLED"
                    if not alarms.get("enable")
                    else "TRIGGERED"
                    if self.triggered_alarms
                    else "MONITORING_COMPLETE"
                    if self.finished
                    else "MONITORING"
                ),
                "alarmNames": list(alarms.get("alarmNames") or []),
                "triggeredAlarmNames": list(self.triggered_alarms),
            },
        }
        if self.lifecycle_stage:
            found["lifecycleStage"] = self.lifecycle_stage
        if self.rollback is not None:
            found["rollback"] = self.rollback
        return found

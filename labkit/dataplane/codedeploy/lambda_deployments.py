"""A CodeDeploy deployment of a Lambda function, as CodeDeploy runs it ("Deployments on an AWS Lambda
compute platform", CodeDeploy User Guide): BeforeAllowTraffic's hook, then the alias's traffic moved
from CurrentVersion to TargetVersion by the deployment configuration's schedule, then AfterAllowTraffic's
hook. A hook function is invoked with {DeploymentId, LifecycleEventHookExecutionId} and the deployment
waits for its PutLifecycleEventHookExecutionStatus (an hour on AWS, so a local minute). An alarm of the
deployment group going to ALARM stops the deployment; with automatic rollback, a rollback deployment
puts the alias back on CurrentVersion at once.

Each deployment runs on a thread of its own; times are on the local clock (one AWS minute, one second).
"""

import base64
import random
import string
import threading
import time
import uuid

from moto.core.utils import utcnow

from labkit.dataplane.codedeploy import appspec, configs
from labkit.dataplane.core import clock, functions, state
from labkit.dataplane.core.arns import FunctionRef

POLL_S = 0.05  # how often alarms are read: a rollback lands within this of the alarm
HOOK_TIMEOUT_S = 3600  # AWS seconds a hook has to report its status
SESSION = "CodeDeploy"
# AWS's opening of an INVALID_LAMBDA_CONFIGURATION failure, which a sentence saying what is invalid follows.
INVALID_LAMBDA_MESSAGE = (
    "The deployment failed because the AppSpec file that specifies the AWS Lambda deployment configuration is "
    "missing or has an invalid configuration."
)
ALARM_MESSAGE = (
    "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, "
    "and the affected deployments have been stopped. Activated alarms: "
)
_running: list["LambdaDeployment"] = []


def deployment_id() -> str:
    """CodeDeploy's: d- and nine capitals and digits."""
    return "d-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))


class _Stop(Exception):
    def __init__(self, status: str, code: str, message: str, event: str):
        super().__init__(message)
        self.status, self.code, self.message, self.event = status, code, message, event


class HookStatusRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def runtime_of(deployment) -> "LambdaDeployment | None":
    return state.get(deployment, "lambda deployment")


def details(deployment) -> dict:
    """What GetDeployment adds for a deployment the data plane ran: errorInformation, rollbackInfo."""
    return state.setdefault(deployment, "details", dict)


class LambdaDeployment:
    def __init__(self, backend, deployment):
        self.backend, self.deployment = backend, deployment
        self.group = deployment.deployment_group
        self.hook_statuses: dict[str, str] = {}  # execution id -> Pending, Succeeded, Failed
        self._changed = threading.Condition()
        self._stopped = False
        self.spec: appspec.LambdaAppSpec | None = None
        self.shifted = False
        state.put(deployment, "lambda deployment", self)

    def start(self) -> None:
        _running.append(self)
        threading.Thread(target=self._run, daemon=True, name=f"codedeploy {self.deployment.deployment_id}").start()

    def stop(self) -> None:
        self._stopped = True
        with self._changed:
            self._changed.notify_all()

    # --- the lifecycle --------------------------------------------------------------------------------

    def _run(self) -> None:
        deployment = self.deployment
        deployment.status, deployment.start_time = "InProgress", utcnow()
        deployment.deployment_overview = {**deployment.deployment_overview, "InProgress": 1}
        try:
            try:
                self.spec = appspec.parse(deployment.revision)
            except appspec.Invalid as invalid:
                raise _Stop("Failed", "INVALID_REVISION", str(invalid), "DEPLOYMENT_FAILURE") from None
            self._refuse_an_alias_not_as_the_appspec_says()
            self._check_alarms()
            self._hook("BeforeAllowTraffic")
            for percent, minutes in configs.schedule(self._routing()):
                self._route(percent)
                self._wait(clock.local_seconds(minutes * 60))
            self._hook("AfterAllowTraffic")
            self._finish("Succeeded")
        except _Stop as stop:
            self._finish(stop.status, {"code": stop.code, "message": stop.message})
            if self._rolls_back(stop.event):
                self._roll_back()
        finally:
            if self in _running:
                _running.remove(self)

    def _refuse_an_alias_not_as_the_appspec_says(self) -> None:
        """CodeDeploy fails a deployment whose alias is not on the AppSpec's CurrentVersion (AWS's own message),
        and one whose alias still shifts traffic between two versions (a deployment stopped without rollback,
        or weights set by hand: the CodeDeploy User Guide's "Troubleshoot AWS Lambda deployment issues"; the
        sentence naming the weights is ours), until its weighted routing is removed."""
        from labkit.dataplane import lambda_

        spec = self.spec
        routing = lambda_.alias_routing(self.backend.account_id, self.backend.region_name, spec.function, spec.alias)
        if routing is None:  # no such function or alias: routing it fails with Lambda's error
            return
        version, weights = routing
        if version != spec.current_version:
            raise _Stop(
                "Failed",
                "INVALID_LAMBDA_CONFIGURATION",
                f"{INVALID_LAMBDA_MESSAGE} The Lambda function alias version does not match the current version in "
                "AppSpec file.",
                "DEPLOYMENT_FAILURE",
            )
        if weights:
            shares = ", ".join(f"version {version} {weight:g}" for version, weight in sorted(weights.items()))
            raise _Stop(
                "Failed",
                "INVALID_LAMBDA_CONFIGURATION",
                f"{INVALID_LAMBDA_MESSAGE} The Lambda function alias {spec.alias} shifts traffic to additional "
                f"versions ({shares}): remove its weighted routing before deploying.",
                "DEPLOYMENT_FAILURE",
            )

    def _routing(self) -> dict:
        name = str(self.deployment.deployment_config_name or configs.DEFAULT_LAMBDA)
        try:
            return configs.get(self.backend, name).get("trafficRoutingConfig") or {"type": "AllAtOnce"}
        except configs.Refused as refused:
            raise _Stop("Failed", "INVALID_REVISION", refused.message, "DEPLOYMENT_FAILURE") from None

    def _route(self, percent: float) -> None:
        from labkit.dataplane import lambda_

        spec = self.spec
        self._may("lambda:UpdateAlias", self._alias_arn())
        try:
            if percent >= 100:
                lambda_.route_alias(
                    self.backend.account_id,
                    self.backend.region_name,
                    spec.function,
                    spec.alias,
                    spec.target_version,
                    {},
                )
            else:
                lambda_.route_alias(
                    self.backend.account_id,
                    self.backend.region_name,
                    spec.function,
                    spec.alias,
                    spec.current_version,
                    {spec.target_version: round(percent / 100, 4)} if percent > 0 else {},
                )
        except Exception as error:  # no such function or alias
            message = getattr(error, "message", str(error))
            raise _Stop("Failed", "INVALID_LAMBDA_CONFIGURATION", message, "DEPLOYMENT_FAILURE") from None
        self.shifted = True

    def _finish(self, status: str, error: dict | None = None) -> None:
        deployment = self.deployment
        deployment.status, deployment.complete_time = status, utcnow()
        outcome = "Succeeded" if status == "Succeeded" else "Failed" if status == "Failed" else "Skipped"
        deployment.deployment_overview = {**deployment.deployment_overview, "InProgress": 0, outcome: 1}
        if error is not None:
            details(deployment)["errorInformation"] = error

    # --- hooks -------------------------------------------------------------------------------------------

    def _hook(self, event: str) -> None:
        function = self.spec.hooks.get(event)
        if function is None:
            return
        ref = FunctionRef.parse(function)
        arn = (
            function
            if function.startswith("arn:")
            else f"arn:aws:lambda:{self.backend.region_name}:{self.backend.account_id}:function:{ref.qualified_name}"
        )
        self._may("lambda:InvokeFunction", arn)
        execution = base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()
        with self._changed:
            self.hook_statuses[execution] = "Pending"
        payload = {"DeploymentId": self.deployment.deployment_id, "LifecycleEventHookExecutionId": execution}
        try:
            functions.invoke(arn, payload)
        except functions.FunctionUnavailable as error:
            raise _Stop("Failed", "HOOK_EXECUTION_FAILURE", error.message, "DEPLOYMENT_FAILURE") from None
        deadline = time.monotonic() + clock.local_seconds(HOOK_TIMEOUT_S)
        while True:
            with self._changed:
                status = self.hook_statuses[execution]
            if status == "Succeeded":
                return
            if status == "Failed":
                raise _Stop(
                    "Failed",
                    "HOOK_EXECUTION_FAILURE",
                    f"The deployment failed because the {event} lifecycle event hook {function} reported Failed.",
                    "DEPLOYMENT_FAILURE",
                )
            if time.monotonic() >= deadline:
                raise _Stop(
                    "Failed",
                    "TIMEOUT",
                    f"The {event} lifecycle event hook {function} did not report a status in time.",
                    "DEPLOYMENT_FAILURE",
                )
            self._check_alarms()
            with self._changed:
                self._changed.wait(POLL_S)

    def put_hook_status(self, execution: str, status: str) -> None:
        with self._changed:
            current = self.hook_statuses.get(execution)
            if current is None:
                raise HookStatusRefused(
                    "InvalidLifecycleEventHookExecutionIdException",
                    f"The lifecycle event hook execution ID {execution} is not valid.",
                )
            if current != "Pending":
                raise HookStatusRefused(
                    "LifecycleEventAlreadyCompletedException",
                    f"The lifecycle event hook execution {execution} has already been completed.",
                )
            if status not in ("Succeeded", "Failed"):
                raise HookStatusRefused(
                    "InvalidLifecycleEventHookExecutionStatusException",
                    f"The status {status} is not valid: it must be Succeeded or Failed.",
                )
            self.hook_statuses[execution] = status
            self._changed.notify_all()

    # --- permissions, alarms, rollback -------------------------------------------------------------------

    def _may(self, action: str, resource: str) -> None:
        from labkit.dataplane import iam

        if iam.denial(self.group.service_role_arn or "", SESSION, action, resource) is not None:
            raise _Stop(
                "Failed",
                "IAM_ROLE_PERMISSIONS",
                f"The IAM role {self.group.service_role_arn} does not give you permission to perform operations in "
                "the following AWS service: AWSLambda. Contact your AWS administrator if you need help. If you are "
                "an AWS administrator, you can grant permissions to your users or groups by creating IAM policies.",
                "DEPLOYMENT_FAILURE",
            )

    def _alias_arn(self) -> str:
        return (
            f"arn:aws:lambda:{self.backend.region_name}:{self.backend.account_id}:function:"
            f"{self.spec.function}:{self.spec.alias}"
        )

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self._check_alarms()
            if time.monotonic() >= deadline:
                return
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))

    def _check_alarms(self) -> None:
        from labkit.dataplane import cloudwatch

        if self._stopped:
            raise _Stop("Stopped", "MANUAL_STOP", "The deployment was stopped.", "DEPLOYMENT_STOP_ON_REQUEST")
        configuration = self.deployment.override_alarm_configuration or self.group.alarm_configuration or {}
        if not configuration.get("enabled"):
            return
        names = [a.get("name") for a in configuration.get("alarms") or []]
        account, region = self.backend.account_id, self.backend.region_name
        firing = [n for n in names if cloudwatch.alarm_state(account, region, n) == "ALARM"]
        if firing:
            raise _Stop(
                "Stopped",
                "ALARM_ACTIVE",
                ALARM_MESSAGE + " ".join(f"<{n}>" for n in firing),
                "DEPLOYMENT_STOP_ON_ALARM",
            )

    def _rolls_back(self, event: str) -> bool:
        configuration = self.deployment.auto_rollback_configuration or self.group.auto_rollback_configuration or {}
        return bool(configuration.get("enabled")) and event in (configuration.get("events") or [])

    def _roll_back(self) -> None:
        """The alias back on CurrentVersion at once, as a rollback deployment CodeDeploy creates."""
        from labkit.dataplane import lambda_

        spec, failed = self.spec, self.deployment
        if spec is not None and self.shifted:
            account, region = self.backend.account_id, self.backend.region_name
            lambda_.route_alias(account, region, spec.function, spec.alias, spec.current_version, {})
        rollback_id = self.backend.create_deployment(
            failed.application_name,
            failed.deployment_group_name,
            failed.revision,
            deployment_config_name=str(failed.deployment_config_name),
        )
        rollback = self.backend.deployments.pop(rollback_id)
        rollback.deployment_id = deployment_id()
        self.backend.deployments[rollback.deployment_id] = rollback
        rollback.creator = "codeDeployRollback"
        rollback.status, rollback.start_time = "Succeeded", utcnow()
        rollback.complete_time = rollback.start_time
        rollback.deployment_overview = {**rollback.deployment_overview, "Succeeded": 1}
        details(rollback)["rollbackInfo"] = {
            "rollbackTriggeringDeploymentId": failed.deployment_id,
            "rollbackMessage": (
                f"Deployment {rollback.deployment_id} is triggered to roll back deployment {failed.deployment_id}."
            ),
        }
        details(failed)["rollbackInfo"] = {
            "rollbackDeploymentId": rollback.deployment_id,
            "rollbackMessage": (
                f"Deployment {failed.deployment_id} terminated. Automatic rollback is triggered with a "
                f"DeploymentId {rollback.deployment_id}."
            ),
        }


def stop_all() -> None:
    for running in list(_running):
        running.stop()

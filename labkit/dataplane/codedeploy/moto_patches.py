"""Where CodeDeploy's data plane meets moto 5.2.5's CodeDeploy, which records applications, groups and
deployments but runs nothing, and has no deployment configurations, no hook statuses and no deletes.

- CreateDeployment of a Lambda application runs the deployment (lambda_deployments.py), with an id
  as CodeDeploy makes them (d-XXXXXXXXX), and refuses a second one while the group's is in progress;
- CreateDeploymentGroup of a Lambda application defaults to CodeDeployDefault.LambdaAllAtOnce and
  refuses a configuration that does not exist; GetDeploymentGroup shows its alarmConfiguration;
- GetDeployment and BatchGetDeployments show errorInformation and rollbackInfo;
- added: Create/Get/Delete/ListDeploymentConfigs, PutLifecycleEventHookExecutionStatus, StopDeployment,
  UpdateDeploymentGroup, DeleteDeploymentGroup and DeleteApplication.
Imported only once moto.codedeploy.responses is.
"""

import functools

from moto.codedeploy.exceptions import DeploymentDoesNotExistException, DeploymentGroupAlreadyExistsException
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult

from labkit.dataplane.codedeploy import configs, lambda_deployments
from labkit.dataplane.core.seams import Seam

_RESPONSE = "moto.codedeploy.responses.CodeDeployResponse"
IN_PROGRESS = ("Created", "Queued", "InProgress", "Baking", "Ready")


def _refusing(method):
    @functools.wraps(method)
    def answering(self):
        try:
            return method(self)
        except configs.Refused as refused:
            raise JsonRESTError(refused.code, refused.message) from None
        except lambda_deployments.HookStatusRefused as refused:
            raise JsonRESTError(refused.code, refused.message) from None

    return answering


def _create_deployment(original):
    @functools.wraps(original)
    @_refusing
    def create(self):
        backend = self.codedeploy_backend
        application = backend.get_application(self._get_param("applicationName"))
        group_name = self._get_param("deploymentGroupName")
        for running in backend.deployments.values():
            same_group = running.application_name == application.application_name
            if same_group and running.deployment_group_name == group_name and running.status in IN_PROGRESS:
                raise JsonRESTError(
                    "DeploymentLimitExceededException",
                    f"The Deployment Group '{group_name}' already has an active Deployment '{running.deployment_id}'",
                )
        if self._get_param("deploymentConfigName"):
            configs.get(backend, self._get_param("deploymentConfigName"))
        result = original(self)
        deployment = backend.deployments.pop(result.result["deploymentId"])
        deployment.deployment_id = lambda_deployments.deployment_id()
        backend.deployments[deployment.deployment_id] = deployment
        result.result["deploymentId"] = deployment.deployment_id
        if application.compute_platform == "Lambda":
            lambda_deployments.LambdaDeployment(backend, deployment).start()
        return result

    return create


def _create_deployment_group(original):
    @functools.wraps(original)
    @_refusing
    def create(self):
        backend = self.codedeploy_backend
        application = backend.get_application(self._get_param("applicationName"))
        if self._get_param("deploymentConfigName"):
            configs.get(backend, self._get_param("deploymentConfigName"))
        result = original(self)
        if application.compute_platform == "Lambda" and not self._get_param("deploymentConfigName"):
            group = backend.deployment_groups[application.application_name][self._get_param("deploymentGroupName")]
            group.deployment_config_name = configs.DEFAULT_LAMBDA
        return result

    return create


def _get_deployment_group(original):
    @functools.wraps(original)
    def get(self):
        result = original(self)
        info = result.result["deploymentGroupInfo"]
        group = self.codedeploy_backend.get_deployment_group(
            self._get_param("applicationName"), self._get_param("deploymentGroupName")
        )
        info["alarmConfiguration"] = group.alarm_configuration or {}
        return result

    return get


def _with_details(original, key: str):
    @functools.wraps(original)
    def get(self):
        result = original(self)
        found = result.result[key]
        for info in found if isinstance(found, list) else [found]:
            deployment = self.codedeploy_backend.deployments.get(info["deploymentId"])
            if deployment is not None:
                info["creator"] = deployment.creator
                info.update(lambda_deployments.details(deployment))
        return result

    return get


@_refusing
def _create_deployment_config(self):
    config_id = configs.create(
        self.codedeploy_backend,
        self._get_param("deploymentConfigName"),
        self._get_param("computePlatform") or "Server",
        self._get_param("trafficRoutingConfig"),
        self._get_param("minimumHealthyHosts"),
    )
    return ActionResult({"deploymentConfigId": config_id})


@_refusing
def _get_deployment_config(self):
    return ActionResult(
        {"deploymentConfigInfo": configs.get(self.codedeploy_backend, self._get_param("deploymentConfigName"))}
    )


@_refusing
def _delete_deployment_config(self):
    configs.delete(self.codedeploy_backend, self._get_param("deploymentConfigName"))
    return EmptyResult()


def _list_deployment_configs(self):
    return ActionResult({"deploymentConfigsList": configs.names(self.codedeploy_backend)})


@_refusing
def _put_lifecycle_event_hook_execution_status(self):
    deployment_id = self._get_param("deploymentId")
    deployment = self.codedeploy_backend.deployments.get(deployment_id)
    if deployment is None:
        raise DeploymentDoesNotExistException(
            f"The deployment {deployment_id} does not exist with the user or AWS account."
        )
    execution = self._get_param("lifecycleEventHookExecutionId")
    runtime = lambda_deployments.runtime_of(deployment)
    if runtime is None:
        raise lambda_deployments.HookStatusRefused(
            "InvalidLifecycleEventHookExecutionIdException",
            f"The lifecycle event hook execution ID {execution} is not valid.",
        )
    runtime.put_hook_status(execution, self._get_param("status"))
    return ActionResult({"lifecycleEventHookExecutionId": execution})


def _stop_deployment(self):
    deployment_id = self._get_param("deploymentId")
    deployment = self.codedeploy_backend.get_deployment(deployment_id)
    runtime = lambda_deployments.runtime_of(deployment)
    if deployment.status not in IN_PROGRESS or runtime is None:
        raise JsonRESTError(
            "DeploymentAlreadyCompletedException", f"The deployment {deployment_id} has already completed."
        )
    runtime.stop()
    return ActionResult({"status": "Pending", "statusMessage": "Stopping the deployment."})


def _delete_deployment_group(self):
    backend = self.codedeploy_backend
    application, name = self._get_param("applicationName"), self._get_param("deploymentGroupName")
    backend.get_deployment_group(application, name)  # AWS's error for a missing application or group
    del backend.deployment_groups[application][name]
    return ActionResult({"hooksNotCleanedUp": []})


# What UpdateDeploymentGroup may change, by request parameter: the group's attribute.
_UPDATABLE = {
    "serviceRoleArn": "service_role_arn",
    "deploymentConfigName": "deployment_config_name",
    "alarmConfiguration": "alarm_configuration",
    "autoRollbackConfiguration": "auto_rollback_configuration",
    "deploymentStyle": "deployment_style",
    "triggerConfigurations": "trigger_configurations",
    "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info",
    "ecsServices": "ecs_services",
}


@_refusing
def _update_deployment_group(self):
    backend = self.codedeploy_backend
    application, current = self._get_param("applicationName"), self._get_param("currentDeploymentGroupName")
    group = backend.get_deployment_group(application, current)  # AWS's error for a missing application or group
    if self._get_param("deploymentConfigName"):
        configs.get(backend, self._get_param("deploymentConfigName"))
    new_name = self._get_param("newDeploymentGroupName")
    if new_name and new_name != current and new_name in backend.deployment_groups[application]:
        raise DeploymentGroupAlreadyExistsException(f"Deployment group {new_name} already exists.")
    for parameter, attribute in _UPDATABLE.items():
        if self._get_param(parameter) is not None:
            setattr(group, attribute, self._get_param(parameter))
    if new_name and new_name != current:
        del backend.deployment_groups[application][current]
        group.deployment_group_name = new_name
        backend.deployment_groups[application][new_name] = group
    return ActionResult({"hooksNotCleanedUp": []})


def _delete_application(self):
    backend = self.codedeploy_backend
    name = self._get_param("applicationName")
    backend.get_application(name)  # AWS's error for a missing application
    del backend.applications[name]
    backend.deployment_groups.pop(name, None)
    return EmptyResult()


SEAMS = (
    Seam(f"{_RESPONSE}.create_deployment", ("self",), replace=_create_deployment),
    Seam(f"{_RESPONSE}.create_deployment_group", ("self",), replace=_create_deployment_group),
    Seam(f"{_RESPONSE}.get_deployment_group", ("self",), replace=_get_deployment_group),
    Seam(f"{_RESPONSE}.get_deployment", ("self",), replace=lambda original: _with_details(original, "deploymentInfo")),
    Seam(
        f"{_RESPONSE}.batch_get_deployments",
        ("self",),
        replace=lambda original: _with_details(original, "deploymentsInfo"),
    ),
    Seam(f"{_RESPONSE}.create_deployment_config", replace=lambda _: _create_deployment_config),
    Seam(f"{_RESPONSE}.get_deployment_config", replace=lambda _: _get_deployment_config),
    Seam(f"{_RESPONSE}.delete_deployment_config", replace=lambda _: _delete_deployment_config),
    Seam(f"{_RESPONSE}.list_deployment_configs", replace=lambda _: _list_deployment_configs),
    Seam(
        f"{_RESPONSE}.put_lifecycle_event_hook_execution_status",
        replace=lambda _: _put_lifecycle_event_hook_execution_status,
    ),
    Seam(f"{_RESPONSE}.stop_deployment", replace=lambda _: _stop_deployment),
    Seam(f"{_RESPONSE}.delete_deployment_group", replace=lambda _: _delete_deployment_group),
    Seam(f"{_RESPONSE}.delete_application", replace=lambda _: _delete_application),
    Seam(f"{_RESPONSE}.update_deployment_group", replace=lambda _: _update_deployment_group),
    # moto's own, which the wrappers rely on.
    Seam(
        "moto.codedeploy.models.CodeDeployBackend.get_deployment_group",
        ("self", "application_name", "deployment_group_name"),
    ),
    Seam("moto.codedeploy.models.CodeDeployBackend.get_application", ("self", "application_name")),
)

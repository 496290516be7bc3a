"""UpdateProject, which moto 5.2.5 lacks: the fields given replace the project's, checked as CreateProject
checks them. Imported only once moto.codebuild.responses is."""

from moto.codebuild import responses
from moto.codebuild.exceptions import ResourceNotFoundException
from moto.core.responses import ActionResult
from moto.core.utils import unix_time
from moto.utilities.utils import get_partition

# The project's fields UpdateProject may replace, by request parameter.
_FIELDS = {
    "description": "description",
    "source": "source",
    "artifacts": "artifacts",
    "environment": "environment",
    "serviceRole": "serviceRole",
    "timeoutInMinutes": "timeoutInMinutes",
    "queuedTimeoutInMinutes": "queuedTimeoutInMinutes",
    "sourceVersion": "sourceVersion",
    "logsConfig": "logsConfig",
    "vpcConfig": "vpcConfig",
    "cache": "cache",
}


def update_project(self) -> ActionResult:
    name = self._get_param("name")
    project = self.codebuild_backend.codebuild_projects.get(name)
    if project is None:
        raise ResourceNotFoundException(
            f"Project cannot be found: arn:{get_partition(self.region)}:codebuild:{self.region}:"
            f"{self.current_account}:project/{name}"
        )
    # Looked up on the module: the data plane's own checks replace some of moto's there.
    if self._get_param("source") is not None:
        responses._validate_required_params_source(self._get_param("source"))
    if self._get_param("artifacts") is not None:
        responses._validate_required_params_artifacts(self._get_param("artifacts"))
    if self._get_param("environment") is not None:
        responses._validate_required_params_environment(self._get_param("environment"))
    if self._get_param("serviceRole") is not None:
        responses._validate_required_params_service_role(
            self.current_account, self.region, self._get_param("serviceRole")
        )
        project.service_role = self._get_param("serviceRole")
    metadata = project.project_metadata
    for parameter, field in _FIELDS.items():
        if self._get_param(parameter) is not None:
            metadata[field] = self._get_param(parameter)
    if self._get_param("tags") is not None:
        project.tags = metadata["tags"] = self._get_param("tags")
    metadata["lastModifiedDate"] = unix_time()
    return ActionResult({"project": metadata})

"""StartBuild's overrides, which moto 5.2.5 ignores: this build's source type, location and buildspec, and
environment variables over the project's. Imported only once moto.codebuild.responses is."""

from moto.codebuild import responses
from moto.codebuild.exceptions import ResourceNotFoundException
from moto.core.responses import ActionResult
from moto.utilities.utils import get_partition

from labkit.dataplane.codebuild import builds

# StartBuild's parameter: the source field it overrides.
_SOURCE_OVERRIDES = {
    "sourceTypeOverride": "type",
    "sourceLocationOverride": "location",
    "buildspecOverride": "buildspec",
}


def start_build(self) -> ActionResult:
    name = self._get_param("projectName")
    responses._validate_required_params_project_name(name)
    project = self.codebuild_backend.codebuild_projects.get(name)
    if project is None:
        raise ResourceNotFoundException(
            f"Project cannot be found: arn:{get_partition(self.region)}:codebuild:{self.region}:"
            f"{self.current_account}:project/{name}"
        )
    source = dict(project.project_metadata["source"])
    for parameter, field in _SOURCE_OVERRIDES.items():
        if self._get_param(parameter) is not None:
            source[field] = self._get_param(parameter)
    if self._get_param("sourceTypeOverride") is not None or self._get_param("sourceLocationOverride") is not None:
        responses._validate_required_params_source(source)
    build_id = builds.start(
        self.current_account,
        self.region,
        name,
        self._get_param("sourceVersion"),
        None,
        None,
        "learner",
        self._get_param("environmentVariablesOverride") or (),
        source=source,
    )
    return ActionResult({"build": builds.records(self.current_account, self.region, [build_id])[0]})

"""Where the codebuild package changes moto 5.2.5. Imported only once moto.codebuild.models is."""

from labkit.dataplane.codebuild import builds, overrides, projects
from labkit.dataplane.core.seams import Seam


def _running_builds(moto_start_build):
    builds._MOTO_START.append(moto_start_build)

    def start_build(self, project_name, source_version=None, artifact_override=None):
        build_id = builds.start(self.account_id, self.region_name, project_name, source_version, None, None, "learner")
        return builds.records(self.account_id, self.region_name, [build_id])[0]

    return start_build


def _builds_as_they_are(_moto_batch_get_builds):
    def batch_get_builds(self, ids):
        return builds.records(self.account_id, self.region_name, ids)

    return batch_get_builds


def _stopping_the_build(_moto_stop_build):
    def stop_build(self, build_id):
        return builds.stop(self.account_id, self.region_name, build_id)

    return stop_build


def _no_location_where_aws_needs_none(moto_validate):
    """A CODEPIPELINE or NO_SOURCE source, and CODEPIPELINE artifacts, have no location on AWS; moto
    requires one."""

    def validate(declared):
        if declared.get("type") in ("CODEPIPELINE", "NO_SOURCE") and "location" not in declared:
            return moto_validate({**declared, "location": "given by the pipeline"})
        return moto_validate(declared)

    return validate


SEAMS = (
    Seam(
        "moto.codebuild.responses._validate_required_params_source",
        ("source",),
        replace=_no_location_where_aws_needs_none,
    ),
    Seam(
        "moto.codebuild.responses._validate_required_params_artifacts",
        ("artifacts",),
        replace=_no_location_where_aws_needs_none,
    ),
    Seam(
        "moto.codebuild.models.CodeBuildBackend.start_build",
        ("self", "project_name", "source_version", "artifact_override"),
        contains="build_metadata_history[project_name].append(",
        replace=_running_builds,
    ),
    Seam("moto.codebuild.models.CodeBuildBackend.batch_get_builds", ("self", "ids"), replace=_builds_as_they_are),
    Seam("moto.codebuild.models.CodeBuildBackend.stop_build", ("self", "build_id"), replace=_stopping_the_build),
    Seam("moto.codebuild.responses.CodeBuildResponse.update_project", replace=lambda _: projects.update_project),
    Seam("moto.codebuild.responses.CodeBuildResponse.start_build", ("self",), replace=lambda _: overrides.start_build),
)

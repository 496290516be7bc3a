"""CodeBuild on the local cloud: StartBuild runs the buildspec, as local processes, without Docker.

moto 5.2.5 records a build and reports it SUCCEEDED with canned phases whatever the buildspec does.
Here a build runs in the background (runner.py): its source (an S3 object, or a pipeline's input
artifact) unzipped into a working copy, the buildspec's phases run in a shell of the host with the
service role's temporary credentials, the output in CloudWatch Logs (/aws/codebuild/PROJECT), the
artifact zipped to S3 or handed to the pipeline. BatchGetBuilds reports buildStatus, currentPhase and
phases as they are. What differs from AWS: no image (the host's tools and the course's Python), no
VPC, environment variables only of type PLAINTEXT, no reports, caches or batch builds.
"""

import threading

from labkit.dataplane.core import seams

_running: dict[str, object] = {}  # build id -> runner.Build
_lock = threading.Lock()


def install() -> None:
    seams.declare(
        "codebuild: builds run their buildspec",
        "moto.codebuild.models",
        "labkit.dataplane.codebuild.moto_patches:SEAMS",
    )


def start_build(
    account_id: str,
    region: str,
    project_name: str,
    fetch_source,
    deliver_artifact,
    initiator: str,
    environment_variables: list[dict] = (),
) -> str:
    """Starts a build of the project on a pipeline's behalf: its source is fetch_source()'s zip, its
    artifact goes to deliver_artifact(zip); environment_variables override the project's. Returns the
    build's id; KeyError when there is no such project."""
    from labkit.dataplane.codebuild import builds

    return builds.start(
        account_id, region, project_name, None, fetch_source, deliver_artifact, initiator, environment_variables
    )


def build_record(account_id: str, region: str, build_id: str) -> dict | None:
    """A copy of the build as BatchGetBuilds reports it, or None."""
    from labkit.dataplane.codebuild import builds

    found = builds.records(account_id, region, [build_id])
    return found[0] if found else None


def reset() -> None:
    with _lock:
        running = list(_running.values())
        _running.clear()
    for build in running:
        build.stop()

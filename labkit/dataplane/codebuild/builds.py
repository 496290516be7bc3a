"""Builds started and read: moto keeps each build's record, the data plane runs it (runner.py) and
answers BatchGetBuilds from the record as it is. Imported only once moto.codebuild is."""

import copy
import threading

from moto.codebuild.models import codebuild_backends

from labkit import config
from labkit.dataplane import codebuild, iam
from labkit.dataplane.codebuild import runner, sources


def start(
    account_id,
    region,
    project_name,
    source_version,
    fetch_source,
    deliver_artifact,
    initiator,
    overrides=(),
    source: dict | None = None,
) -> str:
    """source: this build's, where StartBuild overrides the project's."""
    backend = codebuild_backends[account_id][region]
    project = backend.codebuild_projects[project_name].project_metadata
    if source is not None:
        project = {**project, "source": source}
    record = _MOTO_START[0](backend, project_name, source_version, None)
    build_uuid = record["id"].split(":", 1)[1]
    history = backend.build_history[project_name]
    record.update(
        buildNumber=len(history),
        initiator=initiator,
        source=copy.deepcopy(project["source"]),
        environment=copy.deepcopy(project["environment"]),
        serviceRole=project["serviceRole"],
        timeoutInMinutes=project.get("timeoutInMinutes") or runner.DEFAULT_TIMEOUT_MINUTES,
        phases=record["phases"][:1],  # SUBMITTED; the runner adds the others as they come
        currentPhase="QUEUED",
        artifacts={"location": ""},
    )
    credentials = iam.credentials(project["serviceRole"], f"AWSCodeBuild-{build_uuid}")
    endpoint = config.endpoint()
    build = runner.Build(
        record=record,
        project=project,
        account_id=account_id,
        region=region,
        fetch_source=fetch_source or (lambda: sources.fetch(project["source"], credentials, endpoint)),
        deliver_artifact=deliver_artifact
        or sources.deliverer(project["artifacts"], project_name, build_uuid, credentials, endpoint),
        credentials=credentials,
        endpoint=endpoint,
        variable_overrides=list(overrides),
    )
    with codebuild._lock:
        codebuild._running[record["id"]] = build
    threading.Thread(target=_run, args=(build,), name=f"codebuild {record['id']}", daemon=True).start()
    return record["id"]


def _run(build: runner.Build) -> None:
    try:
        runner.run(build)
    except Exception as error:  # a fault of the local cloud: the build ends FAULT, not IN_PROGRESS forever
        print(f"CodeBuild build {build.record['id']}: {error!r}", flush=True)
        with build.lock:
            build.record.update(buildStatus="FAULT", currentPhase="COMPLETED", buildComplete=True)
    finally:
        with codebuild._lock:
            codebuild._running.pop(build.record["id"], None)


def records(account_id: str, region: str, ids: list[str]) -> list[dict]:
    backend = codebuild_backends[account_id][region]
    found = []
    for history in backend.build_metadata_history.values():
        for record in history:
            if record["id"] in ids:
                with codebuild._lock:
                    build = codebuild._running.get(record["id"])
                if build is None:
                    found.append(copy.deepcopy(record))
                else:
                    with build.lock:
                        found.append(copy.deepcopy(record))
    return found


def stop(account_id: str, region: str, build_id: str) -> dict | None:
    with codebuild._lock:
        build = codebuild._running.get(build_id)
    if build is not None:
        build.stop()
    found = records(account_id, region, [build_id])
    return found[0] if found else None


# moto's own start_build (it makes the record); set when the seams are applied.
_MOTO_START: list = []

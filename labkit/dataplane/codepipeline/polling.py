"""Change detection for S3 sources with PollForSourceChanges (true unless set to "false"): CodePipeline
polls the object and starts an execution (trigger PollForSourceChanges) when a new version appears.
Here every pipeline is polled once a local second (AWS: about once a minute, on the local clock). The
version an execution read counts as seen, so a version started by hand does not start another.
EventBridge-based change detection (AWS's recommendation, with PollForSourceChanges false) is not
simulated: start the pipeline with StartPipelineExecution then. Imported only once moto.codepipeline is."""

import threading
import time

from moto.codepipeline.models import codepipeline_backends
from moto.s3.models import s3_backends

from labkit.dataplane.core import clock, state

POLL_EVERY_AWS_S = 60.0
_started = threading.Lock()
_poller: list[threading.Thread] = []


def polled_sources(pipeline: dict) -> list[dict]:
    return [
        action
        for action in pipeline["stages"][0]["actions"]
        if action["actionTypeId"]["provider"] == "S3"
        and str((action.get("configuration") or {}).get("PollForSourceChanges", "true")).lower() != "false"
    ]


def current_version(account_id: str, source: dict) -> str | None:
    config = source.get("configuration") or {}
    try:
        found = s3_backends[account_id]["aws"].get_object(config.get("S3Bucket"), config.get("S3ObjectKey"))
    except Exception:  # no bucket or no object yet: nothing to start from
        return None
    return getattr(found, "version_id", None) if found is not None else None


def seen(pipeline_object) -> dict[str, str]:
    """Per source action, the object version last seen by a poll or read by an execution."""
    return state.setdefault(pipeline_object, "source versions seen", dict)


def remember_current(pipeline_object, account_id: str) -> None:
    for source in polled_sources(pipeline_object.pipeline):
        version = current_version(account_id, source)
        if version:
            seen(pipeline_object)[source["name"]] = version


def ensure_polling() -> None:
    with _started:
        if not _poller:
            _poller.append(threading.Thread(target=_poll_forever, name="codepipeline polling", daemon=True))
            _poller[0].start()


def _poll_forever() -> None:
    while True:
        time.sleep(clock.local_seconds(POLL_EVERY_AWS_S))
        for account_id, regions in list(codepipeline_backends.items()):
            for backend in list(regions.values()):
                for name, pipeline_object in list(backend.pipelines.items()):
                    try:
                        _poll(backend, account_id, name, pipeline_object)
                    except Exception as error:  # one pipeline's trouble must not stop the others' polling
                        print(f"CodePipeline polling of {name}: {error!r}", flush=True)


def _poll(backend, account_id: str, name: str, pipeline_object) -> None:
    changed = None
    for source in polled_sources(pipeline_object.pipeline):
        version = current_version(account_id, source)
        if version and seen(pipeline_object).get(source["name"]) != version:
            seen(pipeline_object)[source["name"]] = version
            changed = changed or source["name"]
    if changed:
        trigger = {"triggerType": "PollForSourceChanges", "triggerDetail": changed}
        backend.start_pipeline_execution(name, None, trigger)

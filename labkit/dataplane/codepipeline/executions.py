"""An execution, run: stage after stage, in each the actions grouped by runOrder (a group's actions run
together, the next group once they all succeeded). A failed action fails its stage and the execution;
later stages do not run. One execution of a pipeline runs at a time and the next waits (as in QUEUED
mode, whatever the pipeline's executionMode: a SUPERSEDED pipeline's newer execution does not replace
an older one waiting locally).
What happened is kept per execution for GetPipelineState, ListActionExecutions and the execution's
history (answers.py), on moto's pipeline object (core.state), so it goes with the pipeline."""

import copy
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby

from labkit.dataplane.codepipeline import actions, polling
from labkit.dataplane.codepipeline.actions import ActionContext, ActionFailed
from labkit.dataplane.codepipeline.artifacts import ArtifactStore
from labkit.dataplane.core import state


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ActionExecution:
    stage_name: str
    action_name: str
    declaration: dict
    role_arn: str
    action_execution_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "InProgress"
    start_time: datetime = field(default_factory=now)
    last_update_time: datetime = field(default_factory=now)
    summary: str | None = None
    external_id: str | None = None
    error: dict | None = None
    token: str | None = None
    revision: dict | None = None
    inputs: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    output_variables: dict = field(default_factory=dict)


@dataclass
class Run:
    execution: object  # moto's PipelineExecution: its status is what GetPipelineExecution answers
    pipeline: dict  # the declaration this execution runs (a copy: UpdatePipeline does not change it)
    trigger: dict
    region: str
    owner: object  # moto's pipeline object: where the source versions seen are kept
    actions: list[ActionExecution] = field(default_factory=list)
    stage_status: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def runs(pipeline_object) -> dict[str, Run]:
    """The pipeline's executions run by the data plane, by id, oldest first."""
    return state.setdefault(pipeline_object, "runs", dict)


def start(pipeline_object, execution, account_id: str, region: str, trigger: dict) -> None:
    pipeline = copy.deepcopy(pipeline_object.pipeline)
    run = Run(execution=execution, pipeline=pipeline, trigger=trigger, region=region, owner=pipeline_object)
    runs(pipeline_object)[execution.pipeline_execution_id] = state.put(execution, "run", run)
    execution.status = "InProgress"
    one_at_a_time = state.setdefault(pipeline_object, "one at a time", threading.Lock)
    threading.Thread(
        target=_run,
        args=(run, one_at_a_time, account_id, region),
        name=f"codepipeline {execution.pipeline_name}",
        daemon=True,
    ).start()


def _run(run: Run, one_at_a_time: threading.Lock, account_id: str, region: str) -> None:
    with one_at_a_time:
        try:
            _run_stages(run, account_id, region)
        except Exception as error:  # a fault of the local cloud: the execution ends Failed, not InProgress forever
            print(f"CodePipeline execution {run.execution.pipeline_execution_id}: {error!r}", flush=True)
            run.execution.status = "Failed"
            run.execution.status_summary = f"{type(error).__name__}: {error}"
            run.execution.last_update_time = now()


def _run_stages(run: Run, account_id: str, region: str) -> None:
    pipeline = run.pipeline
    role_arn = pipeline["roleArn"]
    execution_id = run.execution.pipeline_execution_id
    s3 = actions.role_client("s3", role_arn, pipeline["name"], execution_id, region)
    store = ArtifactStore(pipeline.get("artifactStore", {}).get("location", ""), pipeline["name"], s3)
    status = "Succeeded"
    for stage in pipeline["stages"]:
        run.stage_status[stage["name"]] = "InProgress"
        if not _stage_succeeded(run, stage, store, account_id, region):
            run.stage_status[stage["name"]] = "Failed"
            status = "Failed"
            break
        run.stage_status[stage["name"]] = "Succeeded"
    run.execution.status = status
    run.execution.last_update_time = now()


def _stage_succeeded(run: Run, stage: dict, store: ArtifactStore, account_id: str, region: str) -> bool:
    ordered = sorted(stage["actions"], key=lambda a: a.get("runOrder", 1))
    for _, group in groupby(ordered, key=lambda a: a.get("runOrder", 1)):
        group = list(group)
        with ThreadPoolExecutor(max_workers=len(group)) as pool:
            results = list(pool.map(lambda a: _action_succeeded(run, stage, a, store, account_id, region), group))
        if not all(results):
            return False
    return True


def _action_succeeded(run: Run, stage: dict, declaration: dict, store, account_id: str, region: str) -> bool:
    record = ActionExecution(
        stage_name=stage["name"],
        action_name=declaration["name"],
        declaration=declaration,
        role_arn=declaration.get("roleArn") or run.pipeline["roleArn"],
    )
    record.inputs = [
        {"name": a["name"], "s3location": store.locations.get(a["name"])} for a in declaration.get("inputArtifacts", [])
    ]
    with run.lock:
        run.actions.append(record)
    context = ActionContext(
        pipeline_name=run.pipeline["name"],
        execution_id=run.execution.pipeline_execution_id,
        stage_name=stage["name"],
        declaration=declaration,
        account_id=account_id,
        region=region,
        role_arn=record.role_arn,
        store=store,
        record=record,
    )
    try:
        outcome = actions.runner(declaration["actionTypeId"])(context)
    except ActionFailed as failed:
        record.error = {"code": failed.code, "message": failed.message}
        record.status = "Failed"
    except Exception as error:  # a fault of the local cloud: shown as the action's failure, not lost
        record.error = {"code": "JobFailed", "message": f"{type(error).__name__}: {error}"}
        record.status = "Failed"
    else:
        record.summary = outcome.summary or record.summary
        record.external_id = outcome.external_id or record.external_id
        record.output_variables = outcome.output_variables
        record.status = "Succeeded"
        if record.revision:  # read by this execution: no poll starts another for it
            polling.seen(run.owner)[record.action_name] = record.revision["revisionId"]
    record.outputs = [
        {"name": name, "s3location": store.locations[name]}
        for name in (a["name"] for a in declaration.get("outputArtifacts", []))
        if name in store.locations
    ]
    record.last_update_time = now()
    return record.status == "Succeeded"

"""GetPipelineState, ListActionExecutions and PutApprovalResult (moto has none of them), and the
execution's artifact revisions and trigger in GetPipelineExecution and ListPipelineExecutions, in AWS's
shapes (CodePipeline API Reference). Imported only once moto.codepipeline is."""

import json

from moto.codepipeline.exceptions import PipelineExecutionNotFoundException, PipelineNotFoundException
from moto.core.exceptions import JsonRESTError

from labkit.dataplane.codepipeline import approval, executions
from labkit.dataplane.codepipeline.executions import ActionExecution, now
from labkit.dataplane.core import state


class StageNotFoundException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("StageNotFoundException", message)


class ActionNotFoundException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("ActionNotFoundException", message)


class InvalidApprovalTokenException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("InvalidApprovalTokenException", message)


def _pipeline(response, name: str):
    backend = response.codepipeline_backend
    found = backend.pipelines.get(name)
    if found is None:
        raise PipelineNotFoundException(f"Account '{backend.account_id}' does not have a pipeline with name '{name}'")
    return found


def _latest_action_state(action: ActionExecution) -> dict:
    latest = {
        "actionExecutionId": action.action_execution_id,
        "status": action.status,
        "lastStatusChange": action.last_update_time.timestamp(),
    }
    for key, value in (
        ("summary", action.summary),
        ("externalExecutionId", action.external_id),
        ("token", action.token),
        ("errorDetails", action.error),
    ):
        if value:
            latest[key] = value
    return latest


def get_pipeline_state(response) -> str:
    pipeline = _pipeline(response, response._get_param("name"))
    runs = list(executions.runs(pipeline).values())
    stage_states = []
    for stage in pipeline.pipeline["stages"]:
        entered = [run for run in runs if stage["name"] in run.stage_status]
        stage_state = {"stageName": stage["name"], "inboundTransitionState": {"enabled": True}, "actionStates": []}
        latest_run = entered[-1] if entered else None
        if latest_run is not None:
            stage_state["latestExecution"] = {
                "pipelineExecutionId": latest_run.execution.pipeline_execution_id,
                "status": latest_run.stage_status[stage["name"]],
            }
        for action in stage["actions"]:
            action_state = {"actionName": action["name"]}
            done = [a for a in (latest_run.actions if latest_run else []) if a.stage_name == stage["name"]]
            found = [a for a in done if a.action_name == action["name"]]
            if found:
                action_state["latestExecution"] = _latest_action_state(found[-1])
                if found[-1].revision:
                    action_state["currentRevision"] = {"revisionId": found[-1].revision["revisionId"]}
            stage_state["actionStates"].append(action_state)
        stage_states.append(stage_state)
    metadata = pipeline.metadata
    return json.dumps(
        {
            "pipelineName": pipeline.pipeline["name"],
            "pipelineVersion": pipeline.pipeline["version"],
            "stageStates": stage_states,
            "created": metadata["created"],
            "updated": metadata["updated"],
        }
    )


def _action_execution_detail(run, action: ActionExecution) -> dict:
    declaration = action.declaration
    detail = {
        "pipelineExecutionId": run.execution.pipeline_execution_id,
        "actionExecutionId": action.action_execution_id,
        "pipelineVersion": run.pipeline["version"],
        "stageName": action.stage_name,
        "actionName": action.action_name,
        "startTime": action.start_time.timestamp(),
        "lastUpdateTime": action.last_update_time.timestamp(),
        "status": action.status,
        "input": {
            "actionTypeId": declaration["actionTypeId"],
            "configuration": declaration.get("configuration", {}),
            "resolvedConfiguration": declaration.get("configuration", {}),
            "roleArn": action.role_arn,
            "region": declaration.get("region") or run.region,
            "inputArtifacts": [a for a in action.inputs if a["s3location"]],
        },
        "output": {"outputArtifacts": action.outputs, "outputVariables": action.output_variables},
    }
    if declaration.get("namespace"):
        detail["input"]["namespace"] = declaration["namespace"]
    result = {}
    for key, value in (
        ("externalExecutionId", action.external_id),
        ("externalExecutionSummary", action.summary),
        ("errorDetails", action.error),
    ):
        if value:
            result[key] = value
    if result:
        detail["output"]["executionResult"] = result
    return detail


def list_action_executions(response) -> str:
    pipeline = _pipeline(response, response._get_param("pipelineName"))
    wanted = (response._get_param("filter") or {}).get("pipelineExecutionId")
    runs = executions.runs(pipeline)
    if wanted and wanted not in runs:
        backend = response.codepipeline_backend
        raise PipelineExecutionNotFoundException(
            f"Account '{backend.account_id}' does not have an execution with id '{wanted}' "
            f"for pipeline '{pipeline.pipeline['name']}'"
        )
    details = [
        _action_execution_detail(run, action)
        for run in runs.values()
        if not wanted or run.execution.pipeline_execution_id == wanted
        for action in run.actions
    ]
    details.sort(key=lambda d: d["startTime"], reverse=True)  # most recent first, as AWS lists them
    limit = response._get_param("maxResults") or 100
    return json.dumps({"actionExecutionDetails": details[:limit]})


def put_approval_result(response) -> str:
    pipeline = _pipeline(response, response._get_param("pipelineName"))
    stage_name, action_name = response._get_param("stageName"), response._get_param("actionName")
    stage = next((s for s in pipeline.pipeline["stages"] if s["name"] == stage_name), None)
    if stage is None:
        raise StageNotFoundException(f"Stage {stage_name} not found in pipeline {pipeline.pipeline['name']}")
    if not any(a["name"] == action_name for a in stage["actions"]):
        raise ActionNotFoundException(f"Action {action_name} not found in stage {stage_name}")
    result, token = response._get_param("result") or {}, response._get_param("token")
    if not approval.decide(token, result.get("status", ""), result.get("summary", "")):
        raise InvalidApprovalTokenException(
            f"The approval token {token} is not valid for action {action_name} in stage {stage_name}"
        )
    return json.dumps({"approvedAt": now().timestamp()})


def with_run(to_dict, add):
    """PipelineExecution.to_dict or to_summary_dict, with what the run knows added by add(run, answer)."""

    def answer(execution):
        found = to_dict(execution)
        run = state.get(execution, "run")
        if run is not None:
            add(run, found)
        return found

    return answer


def _revisions(run) -> list:
    return [a for a in run.actions if a.revision]


def add_to_execution(run, found: dict) -> None:
    found["trigger"] = run.trigger
    found["executionMode"] = run.pipeline.get("executionMode", "SUPERSEDED")
    found["artifactRevisions"] = [
        {"name": a.outputs[0]["name"] if a.outputs else a.action_name, **a.revision} for a in _revisions(run)
    ]


def add_to_summary(run, found: dict) -> None:
    found["trigger"] = run.trigger
    found["executionMode"] = run.pipeline.get("executionMode", "SUPERSEDED")
    found["lastUpdateTime"] = run.execution.last_update_time.timestamp()
    found["sourceRevisions"] = [{"actionName": a.action_name, **a.revision} for a in _revisions(run)]

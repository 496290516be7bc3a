"""Deploy action, provider CloudFormation: ActionMode CREATE_UPDATE (create the stack, or update it;
"No updates are to be performed" succeeds), CHANGE_SET_REPLACE (a change set, replaced if it exists),
CHANGE_SET_EXECUTE, DELETE_ONLY and REPLACE_ON_FAILURE; the template is TemplatePath
("ARTIFACT::path/in/zip"), parameters ParameterOverrides over those of TemplateConfiguration, a file whose
Tags go to the stack and whose StackPolicy protects it (a change set takes no policy: only its Tags and
Parameters). The stack's outputs become the action's output variables (and OutputFileName in the output
artifact)."""

import io
import json
import time
import zipfile

from botocore.exceptions import ClientError

from labkit.dataplane.codepipeline.actions import ActionContext, ActionFailed, Outcome

POLL_S = 0.1
DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE")


def run(context: ActionContext) -> Outcome:
    config = context.configuration
    cloudformation = context.client("cloudformation")
    mode, stack = config.get("ActionMode"), config.get("StackName")
    try:
        if mode in ("CREATE_UPDATE", "REPLACE_ON_FAILURE"):
            _create_or_update(context, cloudformation, stack, replace_failed=mode == "REPLACE_ON_FAILURE")
        elif mode == "CHANGE_SET_REPLACE":
            _replace_change_set(context, cloudformation, stack, config.get("ChangeSetName"))
            return Outcome(summary=f"Change set {config.get('ChangeSetName')} created for stack {stack}")
        elif mode == "CHANGE_SET_EXECUTE":
            cloudformation.execute_change_set(ChangeSetName=config.get("ChangeSetName"), StackName=stack)
        elif mode == "DELETE_ONLY":
            if _status(cloudformation, stack) is not None:
                cloudformation.delete_stack(StackName=stack, **_role(config))
            return Outcome(summary=f"Stack {stack} deleted")
        else:
            raise ActionFailed(f"ActionMode {mode} is not valid.", code="ConfigurationError")
    except ClientError as error:
        raise ActionFailed(error.response["Error"]["Message"]) from error
    status = _settled(cloudformation, stack)
    if status not in DONE:
        raise ActionFailed(f"Stack {stack} is in {status} state: {_failure(cloudformation, stack)}")
    outputs = _outputs(cloudformation, stack)
    _write_output_file(context, outputs)
    return Outcome(summary=f"Stack {stack} is {status}", output_variables=outputs)


def _role(config: dict) -> dict:
    return {"RoleARN": config["RoleArn"]} if config.get("RoleArn") else {}


def _template_configuration(context: ActionContext) -> dict:
    """The TemplateConfiguration file: {"Parameters": {...}, "Tags": {...}, "StackPolicy": {...}}."""
    path = context.configuration.get("TemplateConfiguration")
    return json.loads(_artifact_file(context, path)) if path else {}


def _template_and_parameters(context: ActionContext, template_configuration: dict) -> dict:
    config = context.configuration
    template = _artifact_file(context, config.get("TemplatePath", ""))
    parameters = {
        **template_configuration.get("Parameters", {}),
        **json.loads(config.get("ParameterOverrides") or "{}"),
    }
    capabilities = [c.strip() for c in (config.get("Capabilities") or "").split(",") if c.strip()]
    request = {
        "TemplateBody": template,
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        **_role(config),
    }
    if capabilities:
        request["Capabilities"] = capabilities
    if template_configuration.get("Tags"):
        request["Tags"] = [{"Key": k, "Value": str(v)} for k, v in template_configuration["Tags"].items()]
    return request


def _artifact_file(context: ActionContext, path: str) -> str:
    artifact, separator, name = path.partition("::")
    if not separator or artifact not in context.input_names:
        raise ActionFailed(
            f"The artifact named {artifact} is not an input artifact of this action.", "ConfigurationError"
        )
    with zipfile.ZipFile(io.BytesIO(context.store.read(artifact))) as archive:
        try:
            return archive.read(name).decode()
        except KeyError as missing:
            raise ActionFailed(f"The file named {name} was not found in the artifact {artifact}.") from missing


def _status(cloudformation, stack: str) -> str | None:
    try:
        return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as error:
        if "does not exist" in error.response["Error"]["Message"]:
            return None
        raise


def _create_or_update(context, cloudformation, stack: str, replace_failed: bool) -> None:
    template_configuration = _template_configuration(context)
    request = _template_and_parameters(context, template_configuration)
    if template_configuration.get("StackPolicy"):
        request["StackPolicyBody"] = json.dumps(template_configuration["StackPolicy"])
    status = _status(cloudformation, stack)
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED") and replace_failed:
        cloudformation.delete_stack(StackName=stack)
        status = None
    if status is None or status == "REVIEW_IN_PROGRESS":
        cloudformation.create_stack(StackName=stack, **request)
        return
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
        raise ActionFailed(f"Stack {stack} is in {status} state and can not be updated.")
    try:
        cloudformation.update_stack(StackName=stack, **request)
    except ClientError as error:
        if error.response["Error"]["Message"] != "No updates are to be performed.":
            raise


def _replace_change_set(context, cloudformation, stack: str, name: str) -> None:
    status = _status(cloudformation, stack)
    if status is not None:
        try:
            cloudformation.delete_change_set(ChangeSetName=name, StackName=stack)
        except ClientError:
            pass  # no change set of that name yet
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        **_template_and_parameters(context, _template_configuration(context)),
    )
    change_set = cloudformation.describe_change_set(ChangeSetName=name, StackName=stack)
    if change_set["Status"] == "FAILED" and "didn't contain changes" not in change_set.get("StatusReason", ""):
        raise ActionFailed(f"Change set {name} failed: {change_set.get('StatusReason', '')}")


def _settled(cloudformation, stack: str) -> str:
    while True:
        status = _status(cloudformation, stack) or "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(POLL_S)


def _failure(cloudformation, stack: str) -> str:
    events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"].endswith("_FAILED") and e["LogicalResourceId"] != stack]
    if not failed:
        return "see the stack's events"
    first = failed[-1]  # events are listed newest first
    return f"{first['LogicalResourceId']} ({first['ResourceType']}): {first.get('ResourceStatusReason', '')}"


def _outputs(cloudformation, stack: str) -> dict[str, str]:
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in (found[0].get("Outputs") or [])} if found else {}


def _write_output_file(context: ActionContext, outputs: dict) -> None:
    file_name = context.configuration.get("OutputFileName")
    if not file_name or not context.output_names:
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(file_name, json.dumps(outputs))
    context.store.write(context.output_names[0], buffer.getvalue())

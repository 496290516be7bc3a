"""A stack whose resource fails, as CloudFormation reports it: the resource's CREATE_FAILED with its
reason, then the stack rolled back (what was made is deleted) to ROLLBACK_COMPLETE, or, for an update,
back to the previous template (UPDATE_ROLLBACK_COMPLETE). Imported only once moto.cloudformation is."""

from moto.cloudformation.models import Event, cloudformation_backends

from labkit.dataplane.core import state

ROLLING_BACK = "rolling back"


class ResourceFailed(Exception):
    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(reason)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason


def cannot_make(resource_type: str) -> str:
    return (
        f"The local cloud cannot create resources of type {resource_type} (moto has no model for it); "
        "it fails the stack rather than report the resource created. Create it with boto3 instead."
    )


def cannot_update(resource_type: str) -> str:
    return (
        f"The local cloud cannot update resources of type {resource_type} (moto has no update for it); "
        "it fails the update rather than report the resource updated. Delete and create the stack again."
    )


def roll_back_creation(stack, failed: ResourceFailed) -> None:
    _resource_event(stack, failed, "CREATE_FAILED")
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=f"The following resource(s) failed to create: [{failed.logical_id}]. "
        "Rollback requested by user.",
    )
    resource_map = stack.resource_map
    made = {
        logical_id: resource
        for logical_id, resource in resource_map._parsed_resources.items()
        if logical_id in resource_map._resource_json_map and resource is not None
    }
    try:
        resource_map.delete()
    except Exception as error:  # what could not be deleted stays, as ROLLBACK_FAILED says on AWS
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=str(error))
        stack.status = "ROLLBACK_FAILED"
        return
    for logical_id, resource in made.items():
        resource_type = resource_map._resource_json_map[logical_id]["Type"]
        physical_id = getattr(resource, "physical_resource_id", "")
        stack.events.append(_event(stack, logical_id, physical_id, resource_type, "DELETE_COMPLETE", None))
    # moto makes a template's resources (and reads outputs from them) when they are first listed: a
    # rolled back stack has none to list, and no outputs.
    stack.resource_map._resource_json_map = {}
    stack.output_map._output_json_map = {}
    stack._add_stack_event("ROLLBACK_COMPLETE")
    stack.status = "ROLLBACK_COMPLETE"


def roll_back_update(stack, failed: ResourceFailed, previous_template, previous_parameters) -> None:
    _resource_event(stack, failed, "CREATE_FAILED" if failed.logical_id not in _made(stack) else "UPDATE_FAILED")
    stack._add_stack_event(
        "UPDATE_ROLLBACK_IN_PROGRESS",
        resource_status_reason=f"The following resource(s) failed to update: [{failed.logical_id}]. ",
    )
    stack.template = previous_template
    stack._parse_template()
    state.put(stack.resource_map, ROLLING_BACK, True)
    try:
        stack.resource_map.update(stack.template_dict, previous_parameters)
    finally:
        state.pop(stack.resource_map, ROLLING_BACK)
    stack.output_map = stack._create_output_map()
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def record_created(resources_map, account_id: str, region: str, logical_id: str, resource_type: str, made) -> None:
    """The resource's CREATE_IN_PROGRESS and CREATE_COMPLETE in its stack's events, as CloudFormation
    lists them (moto lists the stack's own events only)."""
    stack = cloudformation_backends[account_id][region].stacks.get(resources_map.stack_id)
    if stack is None:
        return
    physical_id = getattr(made, "physical_resource_id", "") or ""
    for status in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE"):
        stack.events.append(_event(stack, logical_id, physical_id, resource_type, status, None))


def _made(stack) -> set[str]:
    return set(stack.resource_map._parsed_resources)


def _resource_event(stack, failed: ResourceFailed, status: str) -> None:
    stack.events.append(_event(stack, failed.logical_id, "", failed.resource_type, status, failed.reason))


def _event(stack, logical_id: str, physical_id: str, resource_type: str, status: str, reason: str | None) -> Event:
    return Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id if isinstance(physical_id, str) else "",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )

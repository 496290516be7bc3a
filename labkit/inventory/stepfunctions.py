"""Step Functions state machines."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _state_machines(clients, wanted):
    client = clients("stepfunctions")
    for machine in pages(client, "list_state_machines", "stateMachines"):
        arn = machine["stateMachineArn"]
        # A deletion runs on for a while; a machine in DELETING is already going.
        described = unless_gone(client.describe_state_machine, stateMachineArn=arn)
        if described is None or described["status"] == "DELETING":
            continue
        answer = unless_gone(client.list_tags_for_resource, resourceArn=arn)
        tags = tag_dict(answer.get("tags") if answer else None, "key", "value")
        if answer is not None and wanted(tags):
            yield Resource(id=arn, name=machine["name"], arn=arn, tags=tags, details=machine)


STATE_MACHINE = Kind("Step Functions state machine", "stepfunctions", _state_machines)
KINDS = (STATE_MACHINE,)

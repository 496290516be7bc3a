"""Step Functions state machines (running executions are stopped by the deletion)."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource, unless_gone


def find_state_machines(client, wanted):
    for machine in pages(client, "list_state_machines", "stateMachines"):
        arn = machine["stateMachineArn"]
        # A deletion runs on for a while; a machine in DELETING is already going.
        status = unless_gone(client.describe_state_machine, "status", stateMachineArn=arn)
        if status is None or status == "DELETING":
            continue
        tags = tag_dict(client.list_tags_for_resource(resourceArn=arn)["tags"], "key", "value")
        if wanted(tags):
            yield Resource(id=arn, name=machine["name"], tags=tags)


KINDS = (
    Kind(
        "Step Functions state machine",
        "stepfunctions",
        find_state_machines,
        lambda client, machine: client.delete_state_machine(stateMachineArn=machine.id),
    ),
)

"""Step Functions state machines (running executions are stopped by the deletion)."""

from labkit.inventory import stepfunctions
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(
        stepfunctions.STATE_MACHINE,
        lambda client, machine: client.delete_state_machine(stateMachineArn=machine.id),
    ),
)

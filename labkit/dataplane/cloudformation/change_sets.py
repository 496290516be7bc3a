"""Change sets as CloudFormation keeps them: an UPDATE that changes nothing FAILED and not executable, and a
stack executed from one shows the change set's template (its Outputs) and parameters.

moto compares a change set with the stack's template before SAM's transform and so finds changes in every
SAM template; it executes a change set whatever its status; and a stack executed from a CREATE change set
keeps the empty template it was reviewed with, so DescribeStacks shows no Outputs. Imported only once
moto.cloudformation.models is."""

from moto.cloudformation.exceptions import CloudFormationError

NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"


def marked_failed_without_changes(moto_create_change_set):
    def create_change_set(
        self,
        stack_name,
        change_set_name,
        template,
        parameters,
        description,
        change_set_type,
        notification_arns=None,
        tags=None,
        role_arn=None,
    ):
        change_set_id, stack_id = moto_create_change_set(
            self,
            stack_name,
            change_set_name,
            template,
            parameters,
            description,
            change_set_type,
            notification_arns,
            tags,
            role_arn,
        )
        change_set = self.change_sets[change_set_id]
        stack = self.stacks[stack_id]
        unchanged = (
            change_set.template_dict == stack.template_dict
            and (change_set.parameters or {}) == (stack.parameters or {})
            and (change_set.tags or {}) == (stack.tags or {})
        )
        if change_set_type == "UPDATE" and unchanged:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = NO_CHANGES
            change_set.changes = []
        return change_set_id, stack_id

    return create_change_set


def refused_unless_available(change_set) -> None:
    if change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatus(
            f"ChangeSet [{change_set.stack_id}] cannot be executed in its current execution status of "
            f"[{change_set.execution_status}]"
        )


def stack_takes_the_change_set(stack, change_set) -> None:
    """After execution: the stack's template, parameters and outputs are the change set's."""
    stack.template_dict = change_set.template_dict
    stack.description = change_set.template_dict.get("Description")
    if change_set.parameters:
        stack.parameters = change_set.parameters
    stack.output_map = stack._create_output_map()

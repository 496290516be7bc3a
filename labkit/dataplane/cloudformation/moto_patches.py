"""Where the cloudformation package changes moto 5.2.5. Imported only once moto.cloudformation.models is."""

import time

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Stack

from labkit.dataplane.cloudformation import capabilities, change_sets, failures, resources, sam, updates
from labkit.dataplane.cloudformation.failures import ResourceFailed
from labkit.dataplane.core import state
from labkit.dataplane.core.seams import Seam

# CloudFormation waits for a role it just made to be usable before it makes the function that uses it,
# as code calling Lambda itself must retry (Lambda's refusal while IAM propagates, lambda_/roles.py).
ROLE_NOT_YET_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
IAM_PROPAGATION_PATIENCE_S = 10.0


def forget_cached_models() -> None:
    """moto caches its map of types to models: read it again with the models resources.py adds."""
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def can_make(resource_type: str) -> bool:
    return (
        resource_type in parsing.NULL_MODELS
        or resource_type.startswith("Custom::")
        or resource_type in parsing.get_model_map()
    )


def _failing_what_it_cannot_make(moto_create):
    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None  # not made, as the condition says: nothing failed
        resource_type = resource_json["Type"]
        if not can_make(resource_type):
            raise ResourceFailed(logical_id, resource_type, failures.cannot_make(resource_type))

        def update_resource(name, new_json):
            return parsing.parse_and_update_resource(name, new_json, resources_map, account_id, region_name)

        updates.update_what_it_refers_to(resources_map, resource_json, update_resource)
        deadline = time.monotonic() + IAM_PROPAGATION_PATIENCE_S
        while True:
            try:
                made = moto_create(logical_id, resource_json, resources_map, account_id, region_name)
                failures.record_created(resources_map, account_id, region_name, logical_id, resource_type, made)
                return made
            except ResourceFailed:
                raise  # a resource this one refers to failed: it is the one to report
            except Exception as error:
                reason = getattr(error, "message", None) or str(error) or type(error).__name__
                if reason != ROLE_NOT_YET_ASSUMABLE or time.monotonic() > deadline:
                    raise ResourceFailed(logical_id, resource_type, reason) from error
            time.sleep(0.2)

    return parse_and_create_resource


def _failing_what_it_cannot_update(moto_update_resource):
    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
        resource_type = resource_json["Type"]
        model = parsing.get_model_map().get(resource_type)
        if model is not None and hasattr(model.update_from_cloudformation_json, "__isabstractmethod__"):
            if state.get(resources_map, failures.ROLLING_BACK):
                return resources_map._parsed_resources.get(logical_id)  # the failed update never changed it
            raise ResourceFailed(logical_id, resource_type, failures.cannot_update(resource_type))
        try:
            return moto_update_resource(logical_id, resource_json, resources_map, account_id, region_name)
        except ResourceFailed:
            raise
        except Exception as error:
            reason = getattr(error, "message", None) or str(error) or type(error).__name__
            raise ResourceFailed(logical_id, resource_type, reason) from error

    return parse_and_update_resource


def _outputs_of_types_it_cannot_make_left_to_fail(moto_validate_outputs):
    def validate_outputs(self):
        try:
            moto_validate_outputs(self)
        except AttributeError:
            pass  # an output of a type with no model: the stack fails when it comes to that resource

    return validate_outputs


def _creation_rolled_back(moto_create_resources):
    def create_resources(self):
        try:
            moto_create_resources(self)
        except ResourceFailed as failed:
            failures.roll_back_creation(self, failed)

    return create_resources


def _update_rolled_back(moto_update):
    def update(self, template, role_arn=None, parameters=None, tags=None):
        previous_template, previous_parameters = self.template, self.parameters
        try:
            moto_update(self, template, role_arn, parameters, tags)
        except ResourceFailed as failed:
            failures.roll_back_update(self, failed, previous_template, previous_parameters)

    return update


def _change_set_rolled_back(moto_execute):
    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.describe_change_set(change_set_name)
        change_sets.refused_unless_available(change_set)
        stack = self.stacks[change_set.stack_id]
        try:
            moto_execute(self, change_set_name, stack_name)
            change_sets.stack_takes_the_change_set(stack, change_set)
        except ResourceFailed as failed:
            if change_set.change_set_type == "CREATE":
                failures.roll_back_creation(stack, failed)
            else:
                failures.roll_back_update(stack, failed, stack.template, stack.parameters)
            change_set.execution_status = "EXECUTE_FAILED"

    return execute_change_set


def _sam_transformed(moto_parse, region_of):
    def _parse_template(self):
        moto_parse(self)
        if sam.declares_sam(self.template_dict):
            try:
                self.template_dict = sam.transformed(self.template_dict, region_of(self))
            except sam.InvalidSamTemplate as invalid:
                raise ValidationError(message=str(invalid)) from invalid

    return _parse_template


def _capabilities_required(moto_answer, expanding: bool):
    def answer(self):
        body = self._get_param("TemplateBody")
        if not body and self._get_param("TemplateURL"):
            body = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
        if body:
            template = Stack.parse_template(body)
            capabilities.refuse_unless_acknowledged(
                template, self._get_param("Capabilities", []), expanding, self.region
            )
        return moto_answer(self)

    return answer


# A stack in these states can only be deleted (CloudFormation User Guide, "Stack status codes").
NOT_UPDATABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED")


def _refused_when_not_updatable(moto_update_stack):
    def update_stack(self, name, template, role_arn, parameters, tags):
        stack = self.get_stack(name)
        if stack.status in NOT_UPDATABLE:
            raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        return moto_update_stack(self, name, template, role_arn, parameters, tags)

    return update_stack


def _stack_region(stack) -> str:
    return stack.stack_id.split(":")[3]  # set before the stack's region_name is, in Stack.__init__


SEAMS = (
    Seam(
        "moto.cloudformation.responses.CloudFormationResponse.create_stack",
        ("self",),
        replace=lambda moto: _capabilities_required(moto, expanding=True),
    ),
    Seam(
        "moto.cloudformation.responses.CloudFormationResponse.update_stack",
        ("self",),
        replace=lambda moto: _capabilities_required(moto, expanding=True),
    ),
    Seam(
        "moto.cloudformation.responses.CloudFormationResponse.create_change_set",
        ("self",),
        replace=lambda moto: _capabilities_required(moto, expanding=False),
    ),
    Seam(
        "moto.cloudformation.parsing.parse_and_create_resource",
        ("logical_id", "resource_json", "resources_map", "account_id", "region_name"),
        replace=_failing_what_it_cannot_make,
    ),
    Seam("moto.cloudformation.parsing.ResourceMap.__getitem__", contains="parse_and_create_resource("),
    Seam(
        "moto.cloudformation.parsing.parse_and_update_resource",
        ("logical_id", "resource_json", "resources_map", "account_id", "region_name"),
        replace=_failing_what_it_cannot_update,
    ),
    # moto's RestAPI inherits the abstract update: none to check the parameters of.
    Seam("moto.apigateway.models.RestAPI.update_from_cloudformation_json", replace=resources.rest_api_body_updated),
    Seam(
        "moto.cloudformation.parsing.ResourceMap.update",
        ("self", "template", "parameters"),
        contains='resource_names_by_action["Add"]',
        replace=updates.tracking_modifications,
    ),
    Seam(
        "moto.cloudformation.parsing.ResourceMap.validate_outputs",
        ("self",),
        replace=_outputs_of_types_it_cannot_make_left_to_fail,
    ),
    Seam("moto.cloudformation.models.Stack.create_resources", ("self",), replace=_creation_rolled_back),
    Seam(
        "moto.cloudformation.models.Stack.update",
        ("self", "template", "role_arn", "parameters", "tags"),
        replace=_update_rolled_back,
    ),
    Seam(
        "moto.cloudformation.models.CloudFormationBackend.update_stack",
        ("self", "name", "template", "role_arn", "parameters", "tags"),
        replace=_refused_when_not_updatable,
    ),
    Seam(
        "moto.cloudformation.models.CloudFormationBackend.create_change_set",
        (
            "self",
            "stack_name",
            "change_set_name",
            "template",
            "parameters",
            "description",
            "change_set_type",
            "notification_arns",
            "tags",
            "role_arn",
        ),
        replace=change_sets.marked_failed_without_changes,
    ),
    Seam(
        "moto.cloudformation.models.CloudFormationBackend.execute_change_set",
        ("self", "change_set_name", "stack_name"),
        replace=_change_set_rolled_back,
    ),
    Seam(
        "moto.cloudformation.models.Stack._parse_template",
        ("self",),
        replace=lambda moto: _sam_transformed(moto, _stack_region),
    ),
    Seam(
        "moto.cloudformation.models.ChangeSet._parse_template",
        ("self",),
        replace=lambda moto: _sam_transformed(moto, lambda change_set: change_set.stack.region_name),
    ),
    Seam(
        "moto.awslambda.models.LambdaVersion.create_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
        replace=resources.version_created,
    ),
    Seam("moto.awslambda.models.LambdaVersion.physical_resource_id", replace=resources.version_arn),
    Seam("moto.awslambda.models.LambdaVersion.get_cfn_attribute", replace=resources.version_attribute),
    Seam("moto.awslambda.models.LambdaVersion.has_cfn_attr", replace=resources.version_attributes),
    Seam(
        "moto.apigateway.models.RestAPI.create_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
        replace=resources.rest_api_from_body,
    ),
    Seam("moto.apigateway.models.RestAPI.delete", replace=resources.rest_api_deleted),
    Seam("moto.apigateway.models.Deployment.physical_resource_id", replace=resources.deployment_id),
    Seam(
        "moto.awslambda.models.LambdaFunction.update_from_cloudformation_json",
        ("cls", "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"),
        replace=resources.function_code_zipped_on_update,
    ),
    Seam(
        "moto.awslambda.models.Permission.create_from_cloudformation_json",
        ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
        replace=resources.permission_added,
    ),
)

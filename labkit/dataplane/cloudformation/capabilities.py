"""The capabilities a template needs acknowledged (CloudFormation API Reference, CreateStack's
Capabilities): CAPABILITY_IAM for IAM resources, CAPABILITY_NAMED_IAM when one has a custom name, and
CAPABILITY_AUTO_EXPAND (CreateStack, UpdateStack) for a template with a transform such as SAM's. A
request without them is refused with InsufficientCapabilitiesException, as AWS refuses it; moto
ignores Capabilities."""

from moto.cloudformation.exceptions import CloudFormationError

from labkit.dataplane.cloudformation import sam

# Each IAM type, and the property that gives it a custom name (None: it has none).
IAM_TYPES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::Policy": None,
    "AWS::IAM::AccessKey": None,
    "AWS::IAM::UserToGroupAddition": None,
}


class InsufficientCapabilitiesException(CloudFormationError):
    code = "InsufficientCapabilitiesException"


def refuse_unless_acknowledged(template: dict, acknowledged: list[str], expanding: bool, region: str) -> None:
    if not isinstance(template, dict):
        return
    if sam.declares_sam(template):
        if expanding and "CAPABILITY_AUTO_EXPAND" not in acknowledged:
            raise InsufficientCapabilitiesException("Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
        try:
            template = sam.transformed(template, region)
        except sam.InvalidSamTemplate:
            return  # refused with the transform's reason when the stack is made
    needed = _iam_capability(template.get("Resources") or {})
    if (
        needed is None
        or needed in acknowledged
        or (needed == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in acknowledged)
    ):
        return
    raise InsufficientCapabilitiesException(f"Requires capabilities : [{needed}]")


def _iam_capability(resources: dict) -> str | None:
    needed = None
    for resource in resources.values():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind not in IAM_TYPES:
            continue
        name_property = IAM_TYPES[kind]
        if name_property and (resource.get("Properties") or {}).get(name_property):
            return "CAPABILITY_NAMED_IAM"
        needed = "CAPABILITY_IAM"
    return needed

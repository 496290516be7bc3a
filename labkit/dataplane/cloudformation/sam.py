"""The AWS::Serverless-2016-10-31 transform, as CloudFormation runs it on a template that declares it:
aws-sam-translator turns AWS::Serverless::* resources into the CloudFormation resources they stand for."""

import functools
import os

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class InvalidSamTemplate(Exception):
    """The transform refused the template; the message is the one CloudFormation gives."""


def declares_sam(template: dict) -> bool:
    transform = template.get("Transform") if isinstance(template, dict) else None
    transforms = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in transforms


def transformed(template: dict, region: str) -> dict:
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    # The translator reads the region for ARNs and pseudo parameters from boto's environment.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    try:
        return transform(template, {}, _ManagedPolicies())
    except InvalidDocumentException as invalid:
        causes = " ".join(cause.message for cause in invalid.causes)
        raise InvalidSamTemplate(f"Transform {SAM_TRANSFORM} failed with: {invalid.message} {causes}") from invalid


class _ManagedPolicies:
    """The AWS managed policies a SAM function may name in Policies, as the translator asks for them."""

    def load(self) -> dict[str, str]:
        return _aws_managed_policy_arns()


@functools.cache
def _aws_managed_policy_arns() -> dict[str, str]:
    import json

    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policies = json.loads(aws_managed_policies_data)
    return {name: f"arn:aws:iam::aws:policy{policy['Path']}{name}" for name, policy in policies.items()}

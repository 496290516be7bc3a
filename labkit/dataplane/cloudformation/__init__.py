"""CloudFormation on the local cloud: never reports a resource created that was not.

moto 5.2.5 skips every resource type it has no model for (AWS::SNS::Subscription, AWS::Lambda::Alias,
AWS::ApiGateway::Stage, AWS::CloudWatch::Alarm...) and still reports the stack CREATE_COMPLETE. Here a
type the local cloud cannot make fails the stack as AWS fails one: the resource CREATE_FAILED with its
reason, the stack ROLLBACK_IN_PROGRESS, what was made deleted, ROLLBACK_COMPLETE (failures.py). A few
types the labs deploy through SAM are made for real (resources.py). SAM templates (Transform:
AWS::Serverless-2016-10-31) are transformed with aws-sam-translator before moto reads them (sam.py).
The capabilities a template needs (IAM resources, a transform) must be acknowledged (capabilities.py).
An UPDATE change set that changes nothing fails and cannot be executed (change_sets.py).
"""

from labkit.dataplane.core import seams


def install() -> None:
    seams.declare(
        "cloudformation: a resource it cannot make fails the stack",
        "moto.cloudformation.responses",
        "labkit.dataplane.cloudformation.moto_patches:SEAMS",
        then=_models_added,
    )


def _models_added() -> None:
    from labkit.dataplane.cloudformation import moto_patches

    moto_patches.forget_cached_models()

"""Whether Lambda can assume a function's execution role, as CreateFunction and
UpdateFunctionConfiguration check it on AWS: the role must exist, its trust policy must let
lambda.amazonaws.com call sts:AssumeRole, and IAM is eventually consistent, so a role created a
moment ago cannot be assumed yet (AWS: typically a few seconds). Every refusal is AWS's
InvalidParameterValueException "The role defined for the function cannot be assumed by Lambda.";
code that creates a role and then a function retries, on AWS and here.

LABKIT_ROLE_PROPAGATION_S (seconds, default 4) sets the window locally; the test suite sets 0
except where it tests the window itself."""

import datetime
import os

from labkit.dataplane.core import policies
from labkit.dataplane.core.arns import Arn

CANNOT_BE_ASSUMED = "The role defined for the function cannot be assumed by Lambda."
DEFAULT_PROPAGATION_S = 4.0


def refuse_unless_assumable(role_arn: str) -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[Arn.parse(role_arn).account]["aws"].get_role(role_arn.rsplit("/", 1)[-1])
    except Exception:  # no such role, or not an ARN
        raise InvalidParameterValueException(CANNOT_BE_ASSUMED) from None
    trust = policies.parse(role.assume_role_policy_document or "{}")
    lambda_service = policies.Request("sts:AssumeRole", role.arn, {}, {"Service": "lambda.amazonaws.com"})
    if policies.evaluate([trust], lambda_service) != policies.ALLOWED or not _propagated(role.create_date):
        raise InvalidParameterValueException(CANNOT_BE_ASSUMED)


def _propagated(created: datetime.datetime) -> bool:
    window = float(os.environ.get("LABKIT_ROLE_PROPAGATION_S", DEFAULT_PROPAGATION_S))
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.UTC)
    return (datetime.datetime.now(datetime.UTC) - created).total_seconds() >= window

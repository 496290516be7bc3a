"""Guard rails for the aws target: explicit opt-in for one account, and a region allow-list.

A real account costs money and holds other things: nothing is created until the learner has seen the
account id and region and confirmed that exact account.
"""

import os

from labkit.errors import LabkitError

DEFAULT_ALLOWED_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")


def allowed_regions() -> tuple[str, ...]:
    raw = os.environ.get("LABKIT_AWS_REGIONS", "")
    listed = tuple(region.strip() for region in raw.split(",") if region.strip())
    return listed or DEFAULT_ALLOWED_REGIONS


def connect(confirm: str | None) -> dict:
    """Check credentials, region and confirmation; return the account id, caller ARN and region."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    session = boto3.Session()
    region = session.region_name
    if not region:
        raise LabkitError(
            "no AWS region is set for the aws target. Set one, e.g. "
            "`export AWS_DEFAULT_REGION=us-east-1`, then start again."
        )
    if region not in allowed_regions():
        raise LabkitError(
            f"region {region} is not one the course runs in "
            f"({', '.join(allowed_regions())}). Pick one of those, or list yours in "
            f"LABKIT_AWS_REGIONS if you know its services and prices."
        )
    try:
        identity = session.client("sts").get_caller_identity()
    except NoCredentialsError:
        raise LabkitError(
            "no AWS credentials were found for the aws target. Configure a profile "
            "(`aws configure --profile course`, then `export AWS_PROFILE=course`) "
            "or stay on the local target."
        ) from None
    except (ClientError, BotoCoreError) as error:
        raise LabkitError(f"AWS did not accept the credentials: {error}") from None
    account_id = identity["Account"]
    confirm = confirm or os.environ.get("LABKIT_AWS_CONFIRM")
    if confirm != account_id:
        raise LabkitError(
            f"the aws target creates real resources, billed to AWS account {account_id} "
            f"(you are {identity['Arn']}) in region {region}. If that is the account you mean, "
            f"confirm it: course.start(target='aws', confirm='{account_id}') or "
            f"`export LABKIT_AWS_CONFIRM={account_id}`."
        )
    return {"account_id": account_id, "arn": identity["Arn"], "region": region}

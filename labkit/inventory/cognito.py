"""Cognito user pools."""

from labkit.awsapi import pages
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _user_pools(clients, wanted):
    client = clients("cognito-idp")
    for listed in pages(client, "list_user_pools", "UserPools", MaxResults=60):
        # DescribeUserPool returns the tags and the domains in one call (moto 5.2.5 has no
        # ListTagsForResource for Cognito).
        described = unless_gone(client.describe_user_pool, UserPoolId=listed["Id"])
        if described is None:
            continue
        pool = described["UserPool"]
        tags = pool.get("UserPoolTags") or {}
        if wanted(tags):
            yield Resource(
                id=pool["Id"],
                name=pool["Name"],
                full_name=f"{pool['Name']} ({pool['Id']})",
                arn=pool["Arn"],
                tags=tags,
                details=pool,
            )


USER_POOL = Kind("Cognito user pool", "cognito-idp", _user_pools)
KINDS = (USER_POOL,)

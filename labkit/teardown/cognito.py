"""Cognito user pools, each with its hosted-UI domain removed first (AWS requires it)."""

from labkit.awsapi import pages
from labkit.teardown.base import Kind, Resource, ignoring_gone, unless_gone


def find_user_pools(client, wanted):
    for listed in pages(client, "list_user_pools", "UserPools", MaxResults=60):
        # DescribeUserPool returns the tags and the domains in one call (moto 5.2.5 has no
        # ListTagsForResource for Cognito).
        pool = unless_gone(client.describe_user_pool, "UserPool", UserPoolId=listed["Id"])
        if pool is None:
            continue
        tags = pool.get("UserPoolTags") or {}
        if wanted(tags):
            domains = [pool[key] for key in ("CustomDomain", "Domain") if pool.get(key)]
            yield Resource(
                id=pool["Id"], name=f"{pool['Name']} ({pool['Id']})", tags=tags, context={"domains": domains}
            )


def delete_user_pool(client, pool):
    for domain in pool.context["domains"]:
        ignoring_gone(client.delete_user_pool_domain, Domain=domain, UserPoolId=pool.id)
    client.delete_user_pool(UserPoolId=pool.id)


KINDS = (Kind("Cognito user pool", "cognito-idp", find_user_pools, delete_user_pool),)

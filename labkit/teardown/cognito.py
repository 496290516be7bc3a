"""Cognito user pools, each with its hosted-UI domains removed first (AWS requires it)."""

from labkit.inventory import cognito
from labkit.teardown.base import Deletion, ignoring_gone


def delete_user_pool(client, pool):
    for domain in (pool.details.get(key) for key in ("CustomDomain", "Domain")):
        if domain:
            ignoring_gone(client.delete_user_pool_domain, Domain=domain, UserPoolId=pool.id)
    client.delete_user_pool(UserPoolId=pool.id)


DELETIONS = (Deletion(cognito.USER_POOL, delete_user_pool),)

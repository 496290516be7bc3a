"""IAM roles (except those AWS manages for its services) and customer-managed policies. IAM is
global: every region lists the account's."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import pages_unless_gone, unless_gone

# Roles AWS creates and manages for its services; they are not the course's.
AWS_ROLE_PATHS = ("/aws-service-role/", "/aws-reserved/")


def _role(client, role) -> Resource | None:
    # ListRoles and GetRole do not return every tag on AWS: ListRoleTags does.
    pairs = pages_unless_gone(client, "list_role_tags", "Tags", RoleName=role["RoleName"])
    if pairs is None:
        return None
    return Resource(id=role["RoleName"], name=role["RoleName"], arn=role["Arn"], tags=tag_dict(pairs), details=role)


def _roles(clients, wanted):
    client = clients("iam")
    for listed in pages(client, "list_roles", "Roles"):
        if listed["Path"].startswith(AWS_ROLE_PATHS):
            continue
        role = _role(client, listed)
        if role is not None and wanted(role.tags):
            yield role


def role_named(clients, name: str) -> Resource | None:
    """One role, read by name (the role a function runs as), or None when there is none."""
    client = clients("iam")
    described = unless_gone(client.get_role, RoleName=name)
    return None if described is None else _role(client, described["Role"])


def _policies(clients, wanted):
    client = clients("iam")
    for policy in pages(client, "list_policies", "Policies", Scope="Local"):
        pairs = pages_unless_gone(client, "list_policy_tags", "Tags", PolicyArn=policy["Arn"])
        tags = tag_dict(pairs)
        if pairs is not None and wanted(tags):
            yield Resource(id=policy["Arn"], name=policy["PolicyName"], arn=policy["Arn"], tags=tags, details=policy)


ROLE = Kind("IAM role", "iam", _roles)
POLICY = Kind("IAM policy", "iam", _policies)
KINDS = (ROLE, POLICY)

"""IAM: roles (their policies detached or deleted and their instance profiles left first), then the
customer-managed policies. IAM is global: a teardown in any region removes the account's."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource, ignoring_gone, unless_gone

# Roles AWS creates and manages for its services; they are not the course's to delete.
AWS_ROLE_PATHS = ("/aws-service-role/", "/aws-reserved/")


def find_roles(client, wanted):
    # ListRoles does not return tags on AWS: each role's are read with ListRoleTags.
    for role in pages(client, "list_roles", "Roles"):
        if role["Path"].startswith(AWS_ROLE_PATHS):
            continue
        pairs = unless_gone(client.list_role_tags, "Tags", RoleName=role["RoleName"])
        tags = tag_dict(pairs)
        if pairs is not None and wanted(tags):
            yield Resource(id=role["RoleName"], name=role["RoleName"], tags=tags)


def delete_role(client, role):
    for policy in pages(client, "list_attached_role_policies", "AttachedPolicies", RoleName=role.id):
        ignoring_gone(client.detach_role_policy, RoleName=role.id, PolicyArn=policy["PolicyArn"])
    for policy_name in pages(client, "list_role_policies", "PolicyNames", RoleName=role.id):
        ignoring_gone(client.delete_role_policy, RoleName=role.id, PolicyName=policy_name)
    for profile in pages(client, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=role.id):
        ignoring_gone(
            client.remove_role_from_instance_profile,
            InstanceProfileName=profile["InstanceProfileName"],
            RoleName=role.id,
        )
    client.delete_role(RoleName=role.id)


def find_policies(client, wanted):
    for policy in pages(client, "list_policies", "Policies", Scope="Local"):
        pairs = unless_gone(client.list_policy_tags, "Tags", PolicyArn=policy["Arn"])
        tags = tag_dict(pairs)
        if pairs is not None and wanted(tags):
            yield Resource(id=policy["Arn"], name=policy["PolicyName"], tags=tags)


def delete_policy(client, policy):
    # Detaching it from users, groups or roles the course did not tag would change them, so a
    # policy still attached elsewhere fails here (DeleteConflict) and is reported as left.
    for version in pages(client, "list_policy_versions", "Versions", PolicyArn=policy.id):
        if not version["IsDefaultVersion"]:
            ignoring_gone(client.delete_policy_version, PolicyArn=policy.id, VersionId=version["VersionId"])
    client.delete_policy(PolicyArn=policy.id)


KINDS = (
    Kind("IAM role", "iam", find_roles, delete_role),
    Kind("IAM policy", "iam", find_policies, delete_policy),
)

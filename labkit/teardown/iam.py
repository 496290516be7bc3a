"""IAM: roles (their policies detached or deleted and their instance profiles left first), then the
customer-managed policies. IAM is global: a teardown in any region removes the account's."""

from labkit.awsapi import pages
from labkit.inventory import iam
from labkit.teardown.base import Deletion, ignoring_gone


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


def delete_policy(client, policy):
    # Detaching it from users, groups or roles the course did not tag would change them, so a
    # policy still attached elsewhere fails here (DeleteConflict) and is reported as left.
    for version in pages(client, "list_policy_versions", "Versions", PolicyArn=policy.id):
        if not version["IsDefaultVersion"]:
            ignoring_gone(client.delete_policy_version, PolicyArn=policy.id, VersionId=version["VersionId"])
    client.delete_policy(PolicyArn=policy.id)


DELETIONS = (Deletion(iam.ROLE, delete_role), Deletion(iam.POLICY, delete_policy))

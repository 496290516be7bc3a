"""KMS keys. AWS never deletes a key at once: it is scheduled for deletion after a waiting period
(7 days at least), which the report counts as deleted. Its aliases go at once, so that a lab run
again can give its new key the same alias."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource, ignoring_gone, unless_gone

PENDING_WINDOW_DAYS = 7  # the shortest AWS allows
# States of a key already on its way out.
GOING = ("PendingDeletion", "PendingReplicaDeletion")


def find_keys(client, wanted):
    for listed in pages(client, "list_keys", "Keys"):
        key = unless_gone(client.describe_key, "KeyMetadata", KeyId=listed["KeyId"])
        # AWS-managed keys (aws/s3, ...) belong to the services that made them.
        if key is None or key.get("KeyManager") == "AWS" or key["KeyState"] in GOING:
            continue
        tags = tag_dict(client.list_resource_tags(KeyId=key["KeyId"]).get("Tags"), "TagKey", "TagValue")
        if wanted(tags):
            aliases = [alias["AliasName"] for alias in pages(client, "list_aliases", "Aliases", KeyId=key["KeyId"])]
            # A key id says little; its aliases say what it was for.
            name = key["KeyId"] + (f" ({', '.join(aliases)})" if aliases else "")
            yield Resource(id=key["KeyId"], name=name, tags=tags, context={"aliases": aliases})


def schedule_key_deletion(client, key):
    for alias in key.context["aliases"]:
        ignoring_gone(client.delete_alias, AliasName=alias)
    client.schedule_key_deletion(KeyId=key.id, PendingWindowInDays=PENDING_WINDOW_DAYS)
    return f"scheduled for deletion in {PENDING_WINDOW_DAYS} days"


KINDS = (Kind("KMS key", "kms", find_keys, schedule_key_deletion),)

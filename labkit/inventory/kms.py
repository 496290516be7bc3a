"""KMS customer-managed keys, named by their aliases (a key id says little)."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import pages_unless_gone, unless_gone

# States of a key already on its way out (AWS keeps a deleted key for 7 days at least).
GOING = ("PendingDeletion", "PendingReplicaDeletion")


def _keys(clients, wanted):
    client = clients("kms")
    for listed in pages(client, "list_keys", "Keys"):
        described = unless_gone(client.describe_key, KeyId=listed["KeyId"])
        # AWS-managed keys (aws/s3, ...) belong to the services that made them.
        if described is None or described["KeyMetadata"]["KeyManager"] == "AWS":
            continue
        key = described["KeyMetadata"]
        if key["KeyState"] in GOING:
            continue
        pairs = pages_unless_gone(client, "list_resource_tags", "Tags", KeyId=key["KeyId"])
        tags = tag_dict(pairs, "TagKey", "TagValue")
        if pairs is None or not wanted(tags):
            continue
        aliases = [alias["AliasName"] for alias in pages(client, "list_aliases", "Aliases", KeyId=key["KeyId"])]
        yield Resource(
            id=key["KeyId"],
            name=min(aliases).removeprefix("alias/") if aliases else key["KeyId"],
            full_name=key["KeyId"] + (f" ({', '.join(aliases)})" if aliases else ""),
            arn=key["Arn"],
            tags=tags,
            details=key,
        )


KEY = Kind("KMS key", "kms", _keys)
KINDS = (KEY,)

"""KMS keys. AWS never deletes a key at once: it is scheduled for deletion after a waiting period
(7 days at least), which the report counts as deleted. Its aliases go at once, so that a lab run
again can give its new key the same alias."""

from labkit.awsapi import pages
from labkit.inventory import kms
from labkit.teardown.base import Deletion, ignoring_gone

PENDING_WINDOW_DAYS = 7  # the shortest AWS allows


def schedule_key_deletion(client, key):
    # Listed in full first: deleting while paging would shift the pages.
    for alias in list(pages(client, "list_aliases", "Aliases", KeyId=key.id)):
        ignoring_gone(client.delete_alias, AliasName=alias["AliasName"])
    client.schedule_key_deletion(KeyId=key.id, PendingWindowInDays=PENDING_WINDOW_DAYS)
    return f"scheduled for deletion in {PENDING_WINDOW_DAYS} days"


DELETIONS = (Deletion(kms.KEY, schedule_key_deletion),)

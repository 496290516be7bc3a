"""EventBridge rules on every event bus, their targets removed first."""

from labkit.awsapi import chunks, pages
from labkit.inventory import events
from labkit.teardown.base import Deletion


def delete_rule(client, rule):
    bus = rule.details["EventBusName"]
    target_ids = [
        target["Id"] for target in pages(client, "list_targets_by_rule", "Targets", Rule=rule.id, EventBusName=bus)
    ]
    for batch in chunks(target_ids, 100):  # RemoveTargets takes at most 100 ids
        removal = client.remove_targets(Rule=rule.id, EventBusName=bus, Ids=batch)
        if removal.get("FailedEntryCount"):
            entry = removal["FailedEntries"][0]
            raise RuntimeError(f"could not remove target {entry['TargetId']}: {entry.get('ErrorMessage')}")
    client.delete_rule(Name=rule.id, EventBusName=bus)


DELETIONS = (Deletion(events.RULE, delete_rule),)

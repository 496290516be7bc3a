"""EventBridge rules on every event bus, their targets removed first."""

from labkit.awsapi import chunks, pages, tag_dict
from labkit.teardown.base import Kind, Resource, unless_gone


def find_rules(client, wanted):
    for bus in pages(client, "list_event_buses", "EventBuses"):
        for rule in pages(client, "list_rules", "Rules", EventBusName=bus["Name"]):
            # A rule another service manages (ManagedBy) is that service's to delete.
            if rule.get("ManagedBy"):
                continue
            pairs = unless_gone(client.list_tags_for_resource, "Tags", ResourceARN=rule["Arn"])
            tags = tag_dict(pairs)
            if pairs is not None and wanted(tags):
                name = rule["Name"] if bus["Name"] == "default" else f"{bus['Name']}/{rule['Name']}"
                yield Resource(id=rule["Name"], name=name, tags=tags, context={"bus": bus["Name"]})


def delete_rule(client, rule):
    bus = rule.context["bus"]
    target_ids = [
        target["Id"] for target in pages(client, "list_targets_by_rule", "Targets", Rule=rule.id, EventBusName=bus)
    ]
    for batch in chunks(target_ids, 100):  # RemoveTargets takes at most 100 ids
        removal = client.remove_targets(Rule=rule.id, EventBusName=bus, Ids=batch)
        if removal.get("FailedEntryCount"):
            entry = removal["FailedEntries"][0]
            raise RuntimeError(f"could not remove target {entry['TargetId']}: {entry.get('ErrorMessage')}")
    client.delete_rule(Name=rule.id, EventBusName=bus)


KINDS = (Kind("EventBridge rule", "events", find_rules, delete_rule),)

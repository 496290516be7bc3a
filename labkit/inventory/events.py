"""EventBridge rules, on every event bus."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _rules(clients, wanted):
    client = clients("events")
    for bus in pages(client, "list_event_buses", "EventBuses"):
        for rule in pages(client, "list_rules", "Rules", EventBusName=bus["Name"]):
            # A rule another service manages (ManagedBy) is that service's.
            if rule.get("ManagedBy"):
                continue
            answer = unless_gone(client.list_tags_for_resource, ResourceARN=rule["Arn"])
            tags = tag_dict(answer.get("Tags") if answer else None)
            if answer is not None and wanted(tags):
                yield Resource(
                    id=rule["Name"],
                    name=rule["Name"],
                    full_name=rule["Name"] if bus["Name"] == "default" else f"{bus['Name']}/{rule['Name']}",
                    arn=rule["Arn"],
                    tags=tags,
                    details=rule,
                )


RULE = Kind("EventBridge rule", "events", _rules)
KINDS = (RULE,)

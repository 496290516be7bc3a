"""Lambda functions and their event source mappings."""

from labkit.awsapi import pages
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _wanted_functions(client, wanted):
    for function in pages(client, "list_functions", "Functions"):
        answer = unless_gone(client.list_tags, Resource=function["FunctionArn"])
        tags = (answer.get("Tags") if answer else None) or {}
        if answer is not None and wanted(tags):
            yield function, tags


def _functions(clients, wanted):
    for function, tags in _wanted_functions(clients("lambda"), wanted):
        name = function["FunctionName"]
        yield Resource(id=name, name=name, arn=function["FunctionArn"], tags=tags, details=function)


def _event_source_mappings(clients, wanted):
    # A mapping belongs to its function, and carries its tags.
    client = clients("lambda")
    for function, tags in _wanted_functions(client, wanted):
        # By name: moto 5.2.5 lists no mappings for a function given by ARN (AWS takes either).
        for mapping in pages(
            client, "list_event_source_mappings", "EventSourceMappings", FunctionName=function["FunctionName"]
        ):
            if mapping.get("State") == "Deleting":
                continue
            name = f"{mapping.get('EventSourceArn', '?').rsplit(':', 1)[-1]} -> {function['FunctionName']}"
            yield Resource(
                id=mapping["UUID"],
                name=name,
                full_name=f"{name} ({mapping['UUID']})",
                arn=mapping.get("EventSourceMappingArn", ""),
                tags=tags,
                details=mapping,
            )


EVENT_SOURCE_MAPPING = Kind("Lambda event source mapping", "lambda", _event_source_mappings)
FUNCTION = Kind("Lambda function", "lambda", _functions)
KINDS = (EVENT_SOURCE_MAPPING, FUNCTION)

"""Lambda: the event source mappings of tagged functions, then the functions (deleting a function
without a qualifier removes all its versions and aliases)."""

from labkit.awsapi import pages
from labkit.teardown.base import Kind, Resource, unless_gone


def _tagged_functions(client, wanted):
    for function in pages(client, "list_functions", "Functions"):
        tags = unless_gone(client.list_tags, "Tags", Resource=function["FunctionArn"])
        if tags is not None and wanted(tags):
            yield function, tags


def find_event_source_mappings(client, wanted):
    # A mapping belongs to its function: it goes when the function's tags say so.
    for function, tags in _tagged_functions(client, wanted):
        # By name: moto 5.2.5 lists no mappings for a function given by ARN (AWS takes either).
        for mapping in pages(
            client, "list_event_source_mappings", "EventSourceMappings", FunctionName=function["FunctionName"]
        ):
            if mapping.get("State") == "Deleting":
                continue
            source = mapping.get("EventSourceArn", "?").rsplit(":", 1)[-1]
            yield Resource(
                id=mapping["UUID"], tags=tags, name=f"{source} -> {function['FunctionName']} ({mapping['UUID']})"
            )


def find_functions(client, wanted):
    for function, tags in _tagged_functions(client, wanted):
        yield Resource(id=function["FunctionName"], name=function["FunctionName"], tags=tags)


KINDS = (
    # ResourceInUseException: the mapping is still being created or updated.
    Kind(
        "Lambda event source mapping",
        "lambda",
        find_event_source_mappings,
        lambda client, mapping: client.delete_event_source_mapping(UUID=mapping.id),
        busy_codes=("ResourceInUseException",),
    ),
    Kind(
        "Lambda function",
        "lambda",
        find_functions,
        lambda client, function: client.delete_function(FunctionName=function.id),
    ),
)

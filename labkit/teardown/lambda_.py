"""Lambda: the event source mappings of tagged functions, then the functions (deleting a function
without a qualifier removes all its versions and aliases)."""

from labkit.inventory import lambda_
from labkit.teardown.base import Deletion

DELETIONS = (
    # ResourceInUseException: the mapping is still being created or updated.
    Deletion(
        lambda_.EVENT_SOURCE_MAPPING,
        lambda client, mapping: client.delete_event_source_mapping(UUID=mapping.id),
        busy_codes=("ResourceInUseException",),
    ),
    Deletion(lambda_.FUNCTION, lambda client, function: client.delete_function(FunctionName=function.id)),
)

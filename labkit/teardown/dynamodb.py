"""DynamoDB tables (their streams, indexes and items go with them)."""

from labkit.inventory import dynamodb
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(
        dynamodb.TABLE,
        lambda client, table: client.delete_table(TableName=table.id),
        busy_codes=("ResourceInUseException",),
    ),
)

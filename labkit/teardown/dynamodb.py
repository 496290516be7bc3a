"""DynamoDB tables (their streams, indexes and items go with them)."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource, unless_gone


def find_tables(client, wanted):
    for name in pages(client, "list_tables", "TableNames"):
        table = unless_gone(client.describe_table, "Table", TableName=name)
        if table is None or table["TableStatus"] == "DELETING":
            continue
        tags = tag_dict(client.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags"))
        if wanted(tags):
            yield Resource(id=name, name=name, tags=tags)


KINDS = (
    Kind(
        "DynamoDB table",
        "dynamodb",
        find_tables,
        lambda client, table: client.delete_table(TableName=table.id),
        busy_codes=("ResourceInUseException",),
    ),
)

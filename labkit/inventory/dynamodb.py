"""DynamoDB tables."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import pages_unless_gone, unless_gone


def _tables(clients, wanted):
    client = clients("dynamodb")
    for name in pages(client, "list_tables", "TableNames"):
        described = unless_gone(client.describe_table, TableName=name)
        if described is None or described["Table"]["TableStatus"] == "DELETING":
            continue
        table = described["Table"]
        pairs = pages_unless_gone(client, "list_tags_of_resource", "Tags", ResourceArn=table["TableArn"])
        tags = tag_dict(pairs)
        if pairs is not None and wanted(tags):
            yield Resource(id=name, name=name, arn=table["TableArn"], tags=tags, details=table)


TABLE = Kind("DynamoDB table", "dynamodb", _tables)
KINDS = (TABLE,)

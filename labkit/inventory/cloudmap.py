"""Cloud Map (servicediscovery): services and namespaces."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone


def _with_tags(client, wanted, operation, key):
    for item in pages(client, operation, key):
        answer = unless_gone(client.list_tags_for_resource, ResourceARN=item["Arn"])
        tags = tag_dict(answer.get("Tags") if answer else None)
        if answer is not None and wanted(tags):
            yield item, tags


def _services(clients, wanted):
    client = clients("servicediscovery")
    for summary, tags in _with_tags(client, wanted, "list_services", "Services"):
        # The list leaves out the namespace a service is in; GetService says.
        service = unless_gone(client.get_service, Id=summary["Id"])
        if service is not None:
            yield Resource(
                id=summary["Id"],
                name=summary["Name"],
                full_name=f"{summary['Name']} ({summary['Id']})",
                arn=summary["Arn"],
                tags=tags,
                details=service["Service"],
            )


def _namespaces(clients, wanted):
    for namespace, tags in _with_tags(clients("servicediscovery"), wanted, "list_namespaces", "Namespaces"):
        yield Resource(
            id=namespace["Id"],
            name=namespace["Name"],
            full_name=f"{namespace['Name']} ({namespace['Id']})",
            arn=namespace["Arn"],
            tags=tags,
            details=namespace,
        )


SERVICE = Kind("Cloud Map service", "servicediscovery", _services)
NAMESPACE = Kind("Cloud Map namespace", "servicediscovery", _namespaces)
KINDS = (SERVICE, NAMESPACE)

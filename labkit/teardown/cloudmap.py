"""Cloud Map (servicediscovery): services (their instances deregistered first), then namespaces."""

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource, ignoring_gone, unless_gone, wait_until


def _tagged(client, wanted, operation, key):
    for item in pages(client, operation, key):
        pairs = unless_gone(client.list_tags_for_resource, "Tags", ResourceARN=item["Arn"])
        tags = tag_dict(pairs)
        if pairs is not None and wanted(tags):
            yield Resource(id=item["Id"], name=f"{item['Name']} ({item['Id']})", tags=tags)


def find_services(client, wanted):
    yield from _tagged(client, wanted, "list_services", "Services")


def delete_service(client, service):
    # Instances belong to their service; AWS refuses to delete a service that still has some.
    for instance in pages(client, "list_instances", "Instances", ServiceId=service.id):
        ignoring_gone(client.deregister_instance, ServiceId=service.id, InstanceId=instance["Id"])
    client.delete_service(Id=service.id)


def find_namespaces(client, wanted):
    yield from _tagged(client, wanted, "list_namespaces", "Namespaces")


def delete_namespace(client, namespace):
    # Deleting a namespace is an operation that runs on (a DNS namespace takes its hosted zone).
    operation_id = client.delete_namespace(Id=namespace.id)["OperationId"]

    def finished():
        operation = client.get_operation(OperationId=operation_id)["Operation"]
        if operation["Status"] == "FAIL":
            raise RuntimeError(operation.get("ErrorMessage") or "the deletion failed")
        return operation["Status"] == "SUCCESS"

    wait_until(finished, f"deleting namespace {namespace.name}")


KINDS = (
    # ResourceInUse: deregistering the instances is itself still running.
    Kind("Cloud Map service", "servicediscovery", find_services, delete_service, busy_codes=("ResourceInUse",)),
    Kind("Cloud Map namespace", "servicediscovery", find_namespaces, delete_namespace, busy_codes=("ResourceInUse",)),
)

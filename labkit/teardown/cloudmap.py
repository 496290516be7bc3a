"""Cloud Map (servicediscovery): services (their instances deregistered first), then namespaces."""

from labkit.awsapi import pages
from labkit.inventory import cloudmap
from labkit.teardown.base import Deletion, ignoring_gone, wait_until


def delete_service(client, service):
    # Instances belong to their service; AWS refuses to delete a service that still has some.
    for instance in pages(client, "list_instances", "Instances", ServiceId=service.id):
        ignoring_gone(client.deregister_instance, ServiceId=service.id, InstanceId=instance["Id"])
    client.delete_service(Id=service.id)


def delete_namespace(client, namespace):
    # Deleting a namespace is an operation that runs on (a DNS namespace takes its hosted zone).
    operation_id = client.delete_namespace(Id=namespace.id)["OperationId"]

    def finished():
        operation = client.get_operation(OperationId=operation_id)["Operation"]
        if operation["Status"] == "FAIL":
            raise RuntimeError(operation.get("ErrorMessage") or "the deletion failed")
        return operation["Status"] == "SUCCESS"

    wait_until(finished, f"deleting namespace {namespace.full_name}")


DELETIONS = (
    # ResourceInUse: deregistering the instances is itself still running.
    Deletion(cloudmap.SERVICE, delete_service, busy_codes=("ResourceInUse",)),
    Deletion(cloudmap.NAMESPACE, delete_namespace, busy_codes=("ResourceInUse",)),
)

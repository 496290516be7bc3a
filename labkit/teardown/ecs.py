"""ECS: services (scaled to 0, deleted with force), clusters, task definitions (deregistered, then
deleted: a deregistered revision stays, INACTIVE, until DeleteTaskDefinitions)."""

from labkit.inventory import ecs
from labkit.teardown.base import Deletion


def delete_service(client, service):
    # Scaling to 0 first lets the tasks stop as they would in a normal scale-in.
    cluster = service.details["clusterArn"]
    client.update_service(cluster=cluster, service=service.id, desiredCount=0)
    client.delete_service(cluster=cluster, service=service.id, force=True)


def delete_task_definition(client, definition):
    # AWS deletes only an INACTIVE revision.
    if definition.details["status"] == "ACTIVE":
        client.deregister_task_definition(taskDefinition=definition.id)
    # It says what it could not delete in `failures`, without an error.
    failures = client.delete_task_definitions(taskDefinitions=[definition.id])["failures"]
    if failures:
        raise RuntimeError(failures[0].get("reason") or failures[0].get("detail") or "not deleted")


DELETIONS = (
    Deletion(ecs.SERVICE, delete_service),
    # A deleted service's tasks take a while to stop; until then the cluster refuses to go.
    Deletion(
        ecs.CLUSTER,
        lambda client, cluster: client.delete_cluster(cluster=cluster.id),
        busy_codes=("ClusterContainsServicesException", "ClusterContainsTasksException", "UpdateInProgressException"),
    ),
    Deletion(ecs.TASK_DEFINITION, delete_task_definition),
)

"""ECS: services (scaled to 0, deleted with force), clusters, task definitions (deregistered, then
deleted: a deregistered revision stays, INACTIVE, until DeleteTaskDefinitions)."""

import boto3

from labkit.inventory import ecs
from labkit.teardown.base import Deletion, ignoring_gone


def delete_service(client, service):
    # No request in flight needs to finish when everything goes: without the target groups' drain
    # (AWS's default deregistration delay is 300 s) the tasks stop, and the cluster may go, at once.
    elbv2 = boto3.client("elbv2", region_name=client.meta.region_name)
    for load_balancer in service.details.get("loadBalancers") or []:
        ignoring_gone(
            elbv2.modify_target_group_attributes,
            TargetGroupArn=load_balancer["targetGroupArn"],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}],
        )
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

"""ECS: services (scaled to 0, deleted with force), clusters, task definitions (deregistered)."""

from labkit.awsapi import chunks, pages, tag_dict
from labkit.teardown.base import Kind, Resource

# Statuses of something already on its way out: deleting it again is neither needed nor possible.
GOING = ("DRAINING", "INACTIVE", "DEPROVISIONING")


def _clusters(client):
    arns = list(pages(client, "list_clusters", "clusterArns"))
    for batch in chunks(arns, 100):
        yield from client.describe_clusters(clusters=batch, include=["TAGS"])["clusters"]


def find_services(client, wanted):
    # A tagged service may run in an untagged cluster: every cluster is searched.
    for cluster in _clusters(client):
        if cluster["status"] in GOING:
            continue
        arns = list(pages(client, "list_services", "serviceArns", cluster=cluster["clusterArn"]))
        for batch in chunks(arns, 10):
            for service in client.describe_services(cluster=cluster["clusterArn"], services=batch, include=["TAGS"])[
                "services"
            ]:
                tags = tag_dict(service.get("tags"), "key", "value")
                if service["status"] not in GOING and wanted(tags):
                    yield Resource(
                        id=service["serviceArn"],
                        tags=tags,
                        name=f"{cluster['clusterName']}/{service['serviceName']}",
                        context={"cluster": cluster["clusterArn"]},
                    )


def delete_service(client, service):
    # Scaling to 0 first lets the tasks stop as they would in a normal scale-in.
    client.update_service(cluster=service.context["cluster"], service=service.id, desiredCount=0)
    client.delete_service(cluster=service.context["cluster"], service=service.id, force=True)


def find_clusters(client, wanted):
    for cluster in _clusters(client):
        tags = tag_dict(cluster.get("tags"), "key", "value")
        if cluster["status"] not in GOING and wanted(tags):
            yield Resource(id=cluster["clusterArn"], name=cluster["clusterName"], tags=tags)


def find_task_definitions(client, wanted):
    for arn in pages(client, "list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        described = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        tags = tag_dict(described.get("tags"), "key", "value")
        if wanted(tags):
            yield Resource(id=arn, name=arn.rsplit("/", 1)[-1], tags=tags)


KINDS = (
    Kind("ECS service", "ecs", find_services, delete_service),
    # A deleted service's tasks take a while to stop; until then the cluster refuses to go.
    Kind(
        "ECS cluster",
        "ecs",
        find_clusters,
        lambda client, cluster: client.delete_cluster(cluster=cluster.id),
        busy_codes=("ClusterContainsServicesException", "ClusterContainsTasksException", "UpdateInProgressException"),
    ),
    Kind(
        "ECS task definition",
        "ecs",
        find_task_definitions,
        lambda client, definition: client.deregister_task_definition(taskDefinition=definition.id),
    ),
)

"""ECS: services, clusters and task definitions. What is already on its way out (a draining
service, an inactive cluster, a task definition being deleted) is not listed: deleting it again is
neither needed nor possible, and it is no longer deployed. A deregistered (INACTIVE) task definition
is listed: AWS keeps it until it is deleted."""

from labkit.awsapi import chunks, pages, tag_dict
from labkit.inventory.base import Kind, Resource

GOING = ("DRAINING", "INACTIVE", "DEPROVISIONING")


def _clusters(client):
    arns = list(pages(client, "list_clusters", "clusterArns"))
    for batch in chunks(arns, 100):  # DescribeClusters takes at most 100
        for cluster in client.describe_clusters(clusters=batch, include=["TAGS"])["clusters"]:
            if cluster["status"] not in GOING:
                yield cluster


def _services(clients, wanted):
    client = clients("ecs")
    # A tagged service may run in an untagged cluster: every cluster is searched.
    for cluster in _clusters(client):
        arns = list(pages(client, "list_services", "serviceArns", cluster=cluster["clusterArn"]))
        for batch in chunks(arns, 10):  # DescribeServices takes at most 10
            described = client.describe_services(cluster=cluster["clusterArn"], services=batch, include=["TAGS"])
            for service in described["services"]:
                tags = tag_dict(service.get("tags"), "key", "value")
                if service["status"] not in GOING and wanted(tags):
                    yield Resource(
                        id=service["serviceArn"],
                        name=service["serviceName"],
                        full_name=f"{cluster['clusterName']}/{service['serviceName']}",
                        arn=service["serviceArn"],
                        tags=tags,
                        details=service,
                    )


def _clusters_with_tags(clients, wanted):
    for cluster in _clusters(clients("ecs")):
        tags = tag_dict(cluster.get("tags"), "key", "value")
        if wanted(tags):
            arn = cluster["clusterArn"]
            yield Resource(id=arn, name=cluster["clusterName"], arn=arn, tags=tags, details=cluster)


def _task_definitions(clients, wanted):
    client = clients("ecs")
    arns = [
        arn
        for status in ("ACTIVE", "INACTIVE")
        for arn in pages(client, "list_task_definitions", "taskDefinitionArns", status=status)
    ]
    for arn in arns:
        described = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        tags = tag_dict(described.get("tags"), "key", "value")
        if wanted(tags):
            yield Resource(id=arn, name=arn.rsplit("/", 1)[-1], arn=arn, tags=tags, details=described["taskDefinition"])


SERVICE = Kind("ECS service", "ecs", _services)
CLUSTER = Kind("ECS cluster", "ecs", _clusters_with_tags)
TASK_DEFINITION = Kind("ECS task definition", "ecs", _task_definitions)
KINDS = (SERVICE, CLUSTER, TASK_DEFINITION)

"""Application Auto Scaling: the scalable targets of ECS services.

A scalable target has no tags of its own here (moto keeps none), and AWS leaves it registered when
its service is deleted: it carries its service's tags."""

from botocore.exceptions import ClientError

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource


def _ecs_targets(clients, wanted):
    ecs = clients("ecs")
    for target in pages(
        clients("application-autoscaling"), "describe_scalable_targets", "ScalableTargets", ServiceNamespace="ecs"
    ):
        _, cluster, service = target["ResourceId"].split("/", 2)
        try:
            found = ecs.describe_services(cluster=cluster, services=[service], include=["TAGS"])["services"]
        except ClientError:  # its cluster is gone: not the course's to judge
            continue
        tags = tag_dict(found[0].get("tags"), "key", "value") if found else {}
        if found and wanted(tags):
            yield Resource(
                id=target["ResourceId"],
                name=target["ResourceId"],
                arn=target.get("ScalableTargetARN", ""),
                tags=tags,
                details=target,
            )


SCALABLE_TARGET = Kind("Auto Scaling target", "application-autoscaling", _ecs_targets)
KINDS = (SCALABLE_TARGET,)

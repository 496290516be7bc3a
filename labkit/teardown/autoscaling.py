"""Application Auto Scaling: the scalable targets of ECS services the course tagged.

A scalable target has no tags of its own here (moto keeps none), and AWS leaves it registered when
its service is deleted; it is found through its service's tags and deregistered first, which also
deletes its scaling policies and their alarms."""

import boto3
from botocore.exceptions import ClientError

from labkit.awsapi import pages, tag_dict
from labkit.teardown.base import Kind, Resource


def find_ecs_targets(client, wanted):
    ecs = boto3.client("ecs", region_name=client.meta.region_name)
    for target in pages(client, "describe_scalable_targets", "ScalableTargets", ServiceNamespace="ecs"):
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
                tags=tags,
                context={"dimension": target["ScalableDimension"]},
            )


def deregister(client, target):
    client.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=target.id, ScalableDimension=target.context["dimension"]
    )


KINDS = (Kind("Auto Scaling target", "application-autoscaling", find_ecs_targets, deregister),)
